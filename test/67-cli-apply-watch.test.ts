// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6: `connlimit apply FILE --watch` keeps the file's state until SIGTERM/SIGINT (exit 0),
// a line per event (`--json`: one object per line), on legacy and nft: a flushed INPUT is put
// back and said so. --watch with --dry-run, or on another command, is a usage error (exit 2).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execResult, withNetns, type Netns } from './helpers/netns';
import { iptablesOracle } from './helpers/iptables-oracle';

const cliMain = join(__dirname, '..', 'src', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'cl-watch-'));
const FILE = join(dir, 'limits.yaml');
writeFileSync(
  FILE,
  `chains:
  LIMITS:
    - -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
jumps:
  - { from: INPUT, to: LIMITS }
`,
);
const BOUND_MS = 20_000;

/** The command running in the namespace, its stdout lines as they come. */
function start(ns: Netns, args: string[]) {
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', cliMain, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    const parts = (partial + c).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    const end = Date.now() + BOUND_MS;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`not within ${BOUND_MS} ms: ${what}\n${lines.join('\n')}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, lines, exited, until, stderr: () => stderr };
}

for (const backend of ['legacy', 'nft'] as const) {
  const { cli, save } = iptablesOracle(backend);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${backend}: apply --watch puts a flushed INPUT back, says so, and exits 0 on ${signal}`, () =>
      withNetns(async (ns) => {
        const run = start(ns, ['apply', FILE, '--watch', '--backend', backend]);
        try {
          await run.until('the first apply', () => run.lines.some((l) => / keeping table filter/.test(l)));
          assert.match(await save(ns), /-A INPUT -j LIMITS/);
          await ns.run(cli(), ['-F', 'INPUT']);
          await run.until('the repair', () => run.lines.some((l) => / applied: 1 change committed/.test(l)));
          assert.ok(run.lines.some((l) => / drift \((notification generation \d+|interval)\): 1 change to repair/.test(l)), run.lines.join('\n'));
          assert.match(await save(ns), /-A INPUT -j LIMITS/);
          run.child.kill(signal);
          assert.is(await run.exited, 0, run.stderr());
          assert.match(run.lines.filter(Boolean).pop() ?? '', /stopped after 1 drift, 1 repaired/);
        } finally {
          run.child.kill('SIGKILL');
        }
      }));
  }
}

test('nft: apply --watch --json: one object per line', () =>
  withNetns(async (ns) => {
    const run = start(ns, ['apply', FILE, '--watch', '--json', '--backend', 'nft']);
    try {
      await run.until('the first apply', () => run.lines.length > 0);
      await ns.run('iptables-nft', ['-D', 'INPUT', '-j', 'LIMITS']);
      await run.until('the repair', () => run.lines.length >= 3);
      run.child.kill('SIGTERM');
      assert.is(await run.exited, 0, run.stderr());
      const events = run.lines.filter(Boolean).map((l) => JSON.parse(l) as { ok: boolean; event: string; initial?: boolean; trigger?: string });
      assert.equal(events.map((e) => e.event), ['applied', 'drift', 'applied', 'stopped']);
      assert.ok(events.every((e) => e.ok));
      assert.is(events[0]?.initial, true);
      assert.is(events[1]?.trigger, 'notification');
    } finally {
      run.child.kill('SIGKILL');
    }
  }));

test('--watch belongs to apply without --dry-run: exit 2', () =>
  withNetns(async (ns) => {
    for (const args of [['apply', FILE, '--watch', '--dry-run'], ['remove', FILE, '--watch'], ['list', '--watch']]) {
      const r = await execResult('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', cliMain, ...args, '--backend', 'legacy']);
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--watch/);
    }
  }));

test.run();
