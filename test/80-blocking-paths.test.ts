// SPDX-License-Identifier: GPL-2.0-or-later
// Reliability: a `netns` or lock path whose open(2) would block (a FIFO waits for a writer
// forever) or that is not what it should be (a regular file, a directory, a device, another
// kind of namespace) is refused with ERR_CONNLIMIT_INVALID, promptly, on every backend, for
// conntrack, watches and the CLI; eight such calls at once leave the libuv pool free for the
// process's file I/O. Before the fix each FIFO call parked a pool thread in open() for good:
// four froze every fs call and the CLI never exited.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConntrackWatch } from '../src/conntrack/watch';
import { normalizeWatchOptions } from '../src/conntrack/watch-options';
import { Conntrack, Firewall, type Backend } from '../src/index';
import { rejects } from './helpers/assert';
import { execResult, withNetns, type ExecResult, type Netns } from './helpers/netns';

const BACKENDS: Backend[] = ['legacy', 'nft', 'nftables'];
// Generous: a refusal takes microseconds; a hang never ends. The bound only turns a hang into
// a failure that names the call instead of a file timeout.
const BOUND_MS = 15_000;
const cliMain = join(__dirname, '..', 'src', 'cli', 'main.ts');

let dir = '';
let fifo = '';

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'connlimit-78-'));
  fifo = join(dir, 'fifo');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  writeFileSync(join(dir, 'regular'), 'not a namespace\n');
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Settles with what `p` settles with, or fails the test once BOUND_MS pass. */
function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${BOUND_MS} ms (hung)`)), BOUND_MS);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

async function invalidWithin(p: Promise<unknown>, field: string, message: RegExp, what: string): Promise<void> {
  const e = (await rejects(bounded(p, what), 'ERR_CONNLIMIT_INVALID', what)) as { path?: string; message: string };
  assert.is(e.path, field, what);
  assert.match(e.message, message, what);
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  return execResult(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    timeoutMs: BOUND_MS,
  });
}

async function rulesOf(ns: Netns): Promise<string> {
  return (await ns.run('iptables-legacy-save', ['-t', 'filter'])).stdout.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '');
}

test('a FIFO as netns: Firewall.open on every backend, Conntrack.open and a watch refuse it', async () => {
  for (const backend of BACKENDS) {
    await invalidWithin(Firewall.open({ backend, netns: fifo }), 'netns', /is a FIFO, not a network namespace/, `${backend} open`);
  }
  await invalidWithin(Firewall.open({ netns: fifo }), 'netns', /is a FIFO/, 'auto open');
  await invalidWithin(Conntrack.open({ netns: fifo }), 'netns', /is a FIFO/, 'Conntrack.open');
  // A watch opens its namespace on its own thread: the refusal arrives through ready and 'error'.
  const watch = new ConntrackWatch(fifo, normalizeWatchOptions(fifo, {}));
  const errored = new Promise((resolve) => watch.once('error', resolve));
  await invalidWithin(watch.ready, 'netns', /is a FIFO/, 'watch');
  await bounded(errored, 'watch error event');
  await watch.close();
});

test('what else is not a network namespace: a regular file, a directory, a device, another kind of namespace', async () => {
  const cases: Array<[string, RegExp]> = [
    [join(dir, 'regular'), /is a regular file, not a network namespace/],
    [dir, /is a directory, not a network namespace/],
    ['/dev/null', /is a character device, not a network namespace/],
    ['/proc/self/ns/mnt', /is a namespace of another kind, not a network namespace/],
  ];
  for (const [path, message] of cases) {
    for (const backend of BACKENDS) await invalidWithin(Firewall.open({ backend, netns: path }), 'netns', message, `${backend} ${path}`);
    await invalidWithin(Conntrack.open({ netns: path }), 'netns', message, `Conntrack ${path}`);
  }
  // The real thing still opens, by path as by name.
  await withNetns(async (ns) => {
    for (const netns of [ns.name, ns.path]) await (await Firewall.open({ backend: 'legacy', netns })).close();
  });
});

test('a FIFO or a directory as lockPath: refused at open on every backend, and at the write when one is swapped in later', () =>
  withNetns(async (ns) => {
    for (const backend of BACKENDS) {
      await invalidWithin(Firewall.open({ backend, netns: ns.name, lockPath: fifo }), 'lockPath', /is a FIFO: the xtables lock/, `${backend} open`);
      await invalidWithin(Firewall.open({ backend, netns: ns.name, lockPath: dir }), 'lockPath', /is a directory/, `${backend} open`);
    }
    // Open with a good lock file, then put a FIFO in its place: the native lock looks again.
    const lockPath = join(dir, 'swapped.lock');
    writeFileSync(lockPath, '');
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath, lockTimeoutMs: 200 });
    try {
      await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
      const swapped = join(dir, 'swapped.fifo');
      assert.is(spawnSync('mkfifo', [swapped]).status, 0);
      renameSync(swapped, lockPath);
      await invalidWithin(fw.append('INPUT', '-p tcp --dport 2 -j DROP'), 'lockPath', /is not a regular file: the xtables lock/, 'swapped lock');
      const rules = await rulesOf(ns);
      assert.match(rules, /--dport 1 -j DROP/);
      assert.not.match(rules, /--dport 2 /);
    } finally {
      await fw.close();
      rmSync(lockPath, { force: true });
    }
  }));

test('eight blocking paths at once: each refused, and file I/O goes on meanwhile', () =>
  withNetns(async (ns) => {
    const lockPath = join(dir, 'eight.lock');
    writeFileSync(lockPath, '');
    const handles = await Promise.all(BACKENDS.map(() => Firewall.open({ backend: 'legacy', netns: ns.name, lockPath })));
    renameSync(fifo, lockPath); // every handle's next write meets a FIFO as its lock
    try {
      const calls = [
        ...BACKENDS.map((backend) => Firewall.open({ backend, netns: lockPath })),
        Conntrack.open({ netns: lockPath }),
        Firewall.open({ netns: lockPath }),
        ...handles.map((fw, i) => fw.append('INPUT', `-p tcp --dport ${10 + i} -j DROP`)),
      ];
      assert.is(calls.length, 8);
      const io = readFile(__filename, 'utf8');
      const settled = await bounded(Promise.allSettled(calls), 'eight calls');
      assert.match(await bounded(io, 'readFile'), /eight blocking paths/);
      for (const [i, s] of settled.entries()) {
        assert.is(s.status, 'rejected', `call ${i}`);
        assert.is((s as PromiseRejectedResult).reason.code, 'ERR_CONNLIMIT_INVALID', `call ${i}: ${(s as PromiseRejectedResult).reason.message}`);
      }
      assert.not.match(await rulesOf(ns), /dport 1[0-2]/);
    } finally {
      renameSync(lockPath, fifo);
      for (const fw of handles) await fw.close();
    }
  }));

test('the CLI: --netns FIFO and a FIFO as $XTABLES_LOCKFILE exit 2 with one line, promptly', async () => {
  for (const args of [['ls', '--netns', fifo], ['ls', '--backend', 'nft', '--netns', fifo], ['count', '--netns', fifo], ['watch', '--netns', fifo], ['top', '--netns', fifo]]) {
    const r = await cli(args);
    assert.is(r.timedOut, false, `connlimit ${args.join(' ')} hung`);
    assert.is(r.code, 2, `connlimit ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /is a FIFO, not a network namespace/);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  await withNetns(async (ns) => {
    const r = await cli(['add', '--backend', 'legacy', '--netns', ns.name, 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP'], { XTABLES_LOCKFILE: fifo });
    assert.is(r.timedOut, false, 'connlimit add hung');
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /lockPath: .* is a FIFO/);
    assert.not.match(await rulesOf(ns), /dport 22/);
  });
});

test.run();
