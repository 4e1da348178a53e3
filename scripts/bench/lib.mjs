// SPDX-License-Identifier: GPL-2.0-or-later
// Shared pieces of `npm run bench`: statistics, interleaved rounds, timed child processes,
// throwaway namespaces (the test harness's, so a crashed run is cleaned like a crashed test),
// the floor programs, event-loop delay, per-thread CPU time, and table formatting.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createNetns } from '../../test/helpers/netns.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---- statistics ------------------------------------------------------------------------------

export function quantile(samples, q) {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
export const median = (s) => quantile(s, 0.5);
export const p90 = (s) => quantile(s, 0.9);

/** { median, p90, n } of a list of milliseconds. */
export function summary(samples) {
  return { median: median(samples), p90: p90(samples), n: samples.length, samples };
}

// ---- running ---------------------------------------------------------------------------------

/**
 * Runs every variant once per round, in rotating order (A,B,C then B,C,A ...), so load from
 * other processes lands on all of them alike and the ratios stay meaningful on a busy machine.
 * A variant that times itself resolves `{ elapsedMs }`; anything else it resolves is ignored
 * and the call is timed here;
 * `between` runs untimed after each call (to put the table back as it was).
 */
export async function interleave(variants, rounds, { warmup = 1, between } = {}) {
  const names = Object.keys(variants);
  const out = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = -warmup; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + Math.max(r, 0)) % names.length]);
    for (const name of order) {
      const t0 = performance.now();
      const measured = await variants[name]();
      const elapsed = performance.now() - t0;
      const ms = typeof measured?.elapsedMs === 'number' ? measured.elapsedMs : elapsed;
      if (r >= 0) out[name].push(ms);
      if (between) await between(name);
    }
  }
  return Object.fromEntries(names.map((n) => [n, summary(out[n])]));
}

/** Runs a program to completion; rejects with its stderr on a non-zero exit. */
export function run(file, args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: 'utf8', maxBuffer: 256 << 20, env: env ?? process.env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${[file, ...args].join(' ').slice(0, 200)}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    // A child that fails early closes its stdin: let its exit status and stderr tell why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

// ---- namespaces ------------------------------------------------------------------------------

/**
 * A fresh namespace for one row, with a private xtables lock file used by both the library and
 * the CLI (so other programs on the machine taking /run/xtables.lock don't stall either side).
 * Deleted by `done()`, and by the harness's exit hook on Ctrl-C or a crash.
 */
export async function benchNetns(tmp) {
  const ns = await createNetns();
  const lockPath = path.join(tmp, `${ns.name}.lock`);
  const env = { ...process.env, XTABLES_LOCKFILE: lockPath };
  return {
    name: ns.name,
    path: ns.path,
    lockPath,
    /** `ip netns exec NAME file args...` with the private lock; resolves stdout. */
    exec: (file, args, input) => run('ip', ['netns', 'exec', ns.name, file, ...args], { input, env }),
    done: () => ns.destroy(),
  };
}

/** Cleans up whatever the bench made, on any exit. */
export function makeTmp() {
  const dir = mkdtempSync(path.join(tmpdir(), 'connlimit-bench-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- the floor programs ----------------------------------------------------------------------

/**
 * Compiles scripts/bench/NAME.c against pkg-config package PKG into `dir`; returns the binary's
 * path. The libiptc floor by default; the conntrack group builds ct-dump-floor (libmnl).
 */
export function buildFloor(dir, name = 'iptc-floor', pkg = 'libip4tc') {
  const src = path.join(ROOT, 'scripts', 'bench', `${name}.c`);
  const bin = path.join(dir, name);
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', pkg], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  execFileSync('cc', ['-O2', '-Wall', '-o', bin, src, ...flags], { stdio: ['ignore', 'inherit', 'inherit'] });
  return bin;
}

/** Writes rules as the library encodes them, back to back, for the floor program. */
export function writeEntries(file, binding, packRule, rules, family = 'ipv4') {
  const blobs = rules.map((r) => binding._encodeLegacyRule(family, packRule(r, family)));
  writeFileSync(file, Buffer.concat(blobs));
  return file;
}

/** Runs the floor in a namespace; resolves `{ elapsedMs }`, the time it measured in-process. */
export async function floor(ns, bin, mode, table, chain, entriesFile) {
  const out = await ns.exec(bin, [mode, table, chain, entriesFile]);
  return { elapsedMs: Number(out.trim()) / 1e6 };
}

// ---- the cost to the Node process ------------------------------------------------------------

// A full collection before each RSS reading, without asking the caller for --expose-gc.
setFlagsFromString('--expose-gc');
export const gc = runInNewContext('gc');

export const sleep = (t) => new Promise((r) => setTimeout(r, t));

/** Runs `n` calls of `one(i)`, each awaited, and resolves the mean time of one, as `{ elapsedMs }`. */
export async function perCall(n, one) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await one(i);
  return { elapsedMs: (performance.now() - t0) / n };
}

/**
 * p99 and max event-loop delay (ms) while `work` runs; resolution 1 ms. The monitor runs for
 * 20 ms before the work starts: its timer must be ticking, or a synchronous stretch at the
 * start of `work` is never sampled.
 */
export async function loopDelay(work) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(20);
  const t0 = performance.now();
  await work();
  const elapsed = performance.now() - t0;
  await sleep(5);
  h.disable();
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6, elapsed };
}

/**
 * CPU time (ms) a thread or process has run, from /proc/.../schedstat (nanoseconds, unlike
 * the 10 ms ticks of /proc/.../stat). `tid` of this process, or `{ pid }` of another one.
 */
export function cpuMs(id) {
  const file = typeof id === 'object' ? `/proc/${id.pid}/schedstat` : `/proc/self/task/${id}/schedstat`;
  try {
    return Number(readFileSync(file, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN; // gone already
  }
}

/** Thread ids of this process whose name (comm) is `name`. */
export function threadsNamed(name) {
  return readdirSync('/proc/self/task').filter((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  });
}

// ---- formatting ------------------------------------------------------------------------------

export function ms(x) {
  if (!Number.isFinite(x)) return '–';
  if (x >= 100) return `${x.toFixed(0)} ms`;
  if (x >= 10) return `${x.toFixed(1)} ms`;
  if (x >= 1) return `${x.toFixed(2)} ms`;
  if (x >= 0.01) return `${x.toFixed(3)} ms`;
  return `${(x * 1000).toFixed(2)} µs`;
}

export const cell = (s) => `${ms(s.median)} (${ms(s.p90)})`;

/** A rule or entry count as the tables label it: 10000 -> '10k'. */
export const k = (n) => (n >= 1000 ? `${n / 1000}k` : String(n));

export function ratio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  const r = a / b;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

/** A markdown table (also readable as plain text). */
export function table(head, rows) {
  const all = [head, ...rows].map((r) => r.map(String));
  const width = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(width[i])).join(' | ')} |`;
  return [line(all[0]), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...all.slice(1).map(line)].join('\n');
}
