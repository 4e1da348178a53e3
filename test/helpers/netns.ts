// SPDX-License-Identifier: GPL-2.0-or-later
// Throwaway network namespaces for kernel tests (STYLE.md §7).
//
// Every kernel test runs in `cl-<pid>-<n>`, made with `ip netns add` and torn
// down in `finally`; the host namespace is never written to. Namespaces left by
// a crashed run (their <pid> is dead) are removed by cleanupStaleNetns(), which
// scripts/test.sh also does in bash after each file.
//
// Tests may spawn processes (`ip`, `iptables-legacy`, a peer node process);
// the library itself never does.

import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { constants as osConstants } from 'node:os';

/** Result of a process run to completion; never thrown by {@link Netns.exec}. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; 128 + signal number when killed (e.g. 137 after a timeout). */
  code: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

export interface ExecOptions {
  /** Kill with SIGKILL after this long. Default 30 000. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Working directory; default this process's. */
  cwd?: string;
}

export interface Netns {
  /** `cl-<pid>-<n>` */
  readonly name: string;
  /** `/run/netns/<name>`, what the library's `netns` option takes. */
  readonly path: string;
  /** Runs `ip netns exec <name> cmd ...args`; resolves whatever the exit code. */
  exec(cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Like {@link exec} but rejects (with stderr in the message) on a non-zero exit. */
  run(cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Makes `cidr`'s address local on `lo` inside the namespace. No-op when it is
   * already local: the whole 127.0.0.0/8 is (a `local 127.0.0.0/8` route comes
   * with `lo` up), so any 127.x.y.z works as a source without adding; `::1` too.
   * Other IPv6 addresses are added with `nodad`. Returns whether it added one.
   */
  addAddress(cidr: string): Promise<boolean>;
  /** PIDs of processes whose network namespace is this one (`ip netns pids`). */
  pids(): Promise<number[]>;
  /** SIGKILLs processes left inside, then `ip netns del`. Idempotent. */
  destroy(): Promise<void>;
}

const NAME_RE = /^cl-(\d+)-(\d+)$/;
const NETNS_DIR = '/run/netns';
const live = new Set<string>();
let counter = 0;
let exitHookInstalled = false;

/**
 * Runs a program to completion with `execFile` (no shell).
 * @example const r = await execResult('iptables-legacy-save', []); // read-only on the host
 */
export function execResult(file: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      file,
      [...args],
      {
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ?? process.env,
        ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals | null; killed?: boolean }) | null;
        if (e && typeof e.code === 'string') {
          // Not an exit status: spawn failure (ENOENT -> 127, like a shell) or maxBuffer.
          const code = e.code === 'ENOENT' ? 127 : e.code === 'EACCES' ? 126 : 1;
          resolvePromise({ stdout: String(stdout ?? ''), stderr: `${file}: ${e.message}`, code, signal: null, timedOut: false });
          return;
        }
        const signal = e?.signal ?? null;
        const timedOut = Boolean(e?.killed && signal === 'SIGKILL');
        let code = 0;
        if (e) code = typeof e.code === 'number' ? e.code : signal ? 128 + signalNumber(signal) : 1;
        resolvePromise({ stdout, stderr, code, signal, timedOut });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const n = osConstants.signals[signal];
  return typeof n === 'number' ? n : 0;
}

function describe(cmd: string, args: readonly string[], r: ExecResult): string {
  const why = r.timedOut ? 'timed out' : `exited ${r.code}`;
  return `${[cmd, ...args].join(' ')} ${why}: ${(r.stderr || r.stdout).trim()}`;
}

async function mustRun(file: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  const r = await execResult(file, args, opts);
  if (r.code !== 0) throw new Error(describe(file, args, r));
  return r;
}

function parsePids(out: string): number[] {
  return out
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test that threw past its finally or called process.exit:
  // synchronous, because 'exit' handlers cannot await.
  process.on('exit', () => {
    for (const name of live) destroySync(name);
  });
  // Ctrl-C or `timeout`'s SIGTERM: clean up (via the 'exit' hook), then exit
  // with the status a shell reports for that signal.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => process.exit(128 + signalNumber(sig)));
  }
}

function destroySync(name: string): void {
  try {
    const out = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const pid of parsePids(out)) killQuietly(pid);
  } catch {
    // namespace already gone
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already deleted
  }
  live.delete(name);
}

function killQuietly(pid: number): void {
  if (pid === process.pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already exited
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killAllInside(name: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await execResult('ip', ['netns', 'pids', name], { timeoutMs: 5_000 });
    if (r.code !== 0) return; // namespace gone
    const pids = parsePids(r.stdout).filter((p) => p !== process.pid);
    if (pids.length === 0) return;
    for (const pid of pids) killQuietly(pid);
    await sleep(20);
  }
  throw new Error(`netns ${name}: processes still inside after SIGKILL`);
}

async function deleteNetns(name: string): Promise<void> {
  await killAllInside(name);
  const r = await execResult('ip', ['netns', 'del', name], { timeoutMs: 10_000 });
  if (r.code !== 0 && !/No such file|not found|Invalid/.test(r.stderr)) {
    throw new Error(describe('ip', ['netns', 'del', name], r));
  }
}

/**
 * Creates `cl-<pid>-<n>` with `lo` up.
 * @throws Error with a hint when not root or `ip` (iproute2) is missing: kernel
 *   tests do not skip, they fail (STYLE.md §7 "Preflight fails the run").
 * @example const ns = await createNetns(); try { await ns.run('iptables-legacy', ['-S']); } finally { await ns.destroy(); }
 */
export async function createNetns(): Promise<Netns> {
  installExitHook();
  let name = '';
  for (let tries = 0; ; tries++) {
    name = `cl-${process.pid}-${++counter}`;
    const r = await execResult('ip', ['netns', 'add', name], { timeoutMs: 10_000 });
    if (r.code === 0) break;
    if (/File exists/.test(r.stderr) && tries < 100) continue;
    const hint =
      r.code === 127
        ? 'iproute2 `ip` is not installed: run scripts/setup.sh'
        : /Permission|Operation not permitted/.test(r.stderr)
          ? 'kernel tests must run as root (CAP_SYS_ADMIN and CAP_NET_ADMIN)'
          : 'cannot create a network namespace';
    throw new Error(`${hint}: ${describe('ip', ['netns', 'add', name], r)}`);
  }
  live.add(name);
  const nsName = name;
  try {
    await mustRun('ip', ['-n', nsName, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await deleteNetns(nsName).catch(() => undefined);
    live.delete(nsName);
    throw err;
  }

  let destroyed: Promise<void> | null = null;
  const exec = (cmd: string, args: readonly string[] = [], opts?: ExecOptions) =>
    execResult('ip', ['netns', 'exec', nsName, cmd, ...args], opts);

  const ns: Netns = {
    name: nsName,
    path: `${NETNS_DIR}/${nsName}`,
    exec,
    async run(cmd, args = [], opts) {
      const r = await exec(cmd, args, opts);
      if (r.code !== 0) throw new Error(`[netns ${nsName}] ${describe(cmd, args, r)}`);
      return r;
    },
    async addAddress(cidr) {
      const addr = cidr.split('/')[0]!;
      const family = isIP(addr);
      if (family === 0) throw new Error(`addAddress: '${cidr}' is not an IP address/prefix`);
      const route = await execResult('ip', ['-n', nsName, `-${family}`, 'route', 'get', addr]);
      if (route.code === 0 && /^local\s/.test(route.stdout.trim())) return false;
      const prefix = cidr.includes('/') ? cidr : `${addr}/${family === 4 ? 32 : 128}`;
      const args = ['-n', nsName, `-${family}`, 'addr', 'add', prefix, 'dev', 'lo'];
      if (family === 6) args.push('nodad');
      const added = await execResult('ip', args);
      // An IPv6 address's local route appears a moment after the address (addrconf work), so
      // the route check above can miss one already on lo: the kernel then says so (EEXIST).
      if (added.code !== 0 && /File exists|already assigned/.test(added.stderr)) return false;
      if (added.code !== 0) throw new Error(describe('ip', args, added));
      return true;
    },
    async pids() {
      const r = await execResult('ip', ['netns', 'pids', nsName]);
      return r.code === 0 ? parsePids(r.stdout) : [];
    },
    destroy() {
      destroyed ??= deleteNetns(nsName).finally(() => live.delete(nsName));
      return destroyed;
    },
  };
  return ns;
}

/**
 * Runs `fn` with a fresh namespace and always destroys it afterwards.
 * @example await withNetns(async (ns) => { await ns.run('iptables-legacy', ['-A', 'INPUT', '-j', 'DROP']); });
 */
export async function withNetns<T>(fn: (ns: Netns) => Promise<T> | T): Promise<T> {
  const ns = await createNetns();
  try {
    return await fn(ns);
  } finally {
    await ns.destroy();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes `cl-<pid>-<n>` namespaces whose `<pid>` is no longer running (after
 * killing anything still inside). Returns the names removed.
 */
export async function cleanupStaleNetns(): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = NAME_RE.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    await deleteNetns(name);
    removed.push(name);
  }
  return removed;
}
