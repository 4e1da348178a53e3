// SPDX-License-Identifier: GPL-2.0-or-later
// Reliability: a namespace deleted (`ip netns del`) or deleted and created again (`ip netns add`
// with the same name) under open handles. A handle stays bound to the namespace it opened (the
// nsfs inode); once its name or path names something else, every call rejects with
// ERR_CONNLIMIT_NETNS_GONE before touching the kernel, netnsChanged() says true, and watches
// end with that 'error'. Before, writes went on into the orphaned namespace and, after the
// name was reused, reported success while the new namespace got nothing. A process left inside
// the old namespace lets the oracle read it after its name is gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Conntrack, ConntrackWatch, Firewall, NetnsGoneError, type Backend } from '../src/index';
import { rejects } from './helpers/assert';
import { execResult, withNetns, type Netns } from './helpers/netns';
import { until } from './helpers/until';

const BACKENDS: Backend[] = ['legacy', 'nft', 'nftables'];
const BOUND_MS = 15_000;
const lockPath = `/tmp/connlimit-test-79-${process.pid}.lock`;
const cliMain = join(__dirname, '..', 'src', 'cli', 'main.ts');
const FIRST = '-p tcp --syn --dport 2201 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset';
const SECOND = '-p tcp --syn --dport 2202 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset';



async function ip(...args: string[]): Promise<void> {
  const r = await execResult('ip', args);
  assert.is(r.code, 0, `ip ${args.join(' ')}: ${r.stderr}`);
}

/** A process inside the namespace, which keeps it alive and reachable after its name goes. */
async function holderOf(ns: Netns): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns.name, 'sleep', '600'], { stdio: 'ignore' });
  const want = `net:[${statSync(ns.path).ino}]`;
  await until('holder inside the namespace', () => {
    try {
      return readlinkSync(`/proc/${child.pid}/ns/net`) === want;
    } catch {
      return false;
    }
  }, BOUND_MS);
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** The ruleset as the CLI of the backend prints it, in the namespace `args` enter. */
async function rulesetVia(enter: string[], backend: Backend): Promise<string> {
  const [cmd, ...args] = backend === 'legacy' ? ['iptables-legacy-save'] : backend === 'nft' ? ['iptables-nft-save'] : ['nft', 'list', 'ruleset'];
  const r = await execResult(enter[0]!, [...enter.slice(1), cmd!, ...args]);
  assert.is(r.code, 0, `${enter.join(' ')} ${cmd}: ${r.stderr}`);
  return r.stdout;
}

const DPORT = /dport 22(0[12])/g;
const dports = (text: string) => [...text.matchAll(DPORT)].map((m) => m[1]).sort();

/** Rejects with the watch's 'error', or with a note that none came within BOUND_MS. */
function endOf(watch: ConntrackWatch, what: string): Promise<never> {
  return new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no 'error' within ${BOUND_MS} ms`)), BOUND_MS);
    watch.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function gone(p: Promise<unknown>, errno: 'ENOENT' | 'ESTALE', what: string): Promise<void> {
  const e = (await rejects(p, 'ERR_CONNLIMIT_NETNS_GONE', what)) as NetnsGoneError;
  assert.ok(e instanceof NetnsGoneError, what);
  assert.is(e.errno, errno, what);
  assert.match(e.message, errno === 'ENOENT' ? /was deleted/ : /names another network namespace now/, what);
  assert.match(e.hint ?? '', /open a new handle/, what);
}

for (const backend of BACKENDS) {
  test(`${backend}: after 'ip netns del' and 'ip netns add' again, writes and reads reject and neither namespace changes`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ backend, netns: ns.name, lockPath });
      const holder = await holderOf(ns);
      const old = ['nsenter', `--net=/proc/${holder.pid}/ns/net`];
      try {
        await fw.append('INPUT', FIRST);
        assert.is(await fw.netnsChanged(), false);

        await ip('netns', 'del', ns.name);
        assert.is(await fw.netnsChanged(), true);
        await gone(fw.append('INPUT', SECOND), 'ENOENT', 'append after del');
        await gone(fw.list(), 'ENOENT', 'list after del');
        await gone(fw.check('INPUT', FIRST), 'ENOENT', 'check after del');
        await gone(fw.delete('INPUT', FIRST), 'ENOENT', 'delete after del');

        await ip('netns', 'add', ns.name);
        assert.is(await fw.netnsChanged(), true);
        await gone(fw.append('INPUT', SECOND), 'ESTALE', 'append after add');
        await gone(fw.transaction((tx) => {
          tx.append('INPUT', SECOND);
        }), 'ESTALE', 'transaction after add');

        assert.equal(dports(await rulesetVia(['ip', 'netns', 'exec', ns.name], backend)), [], 'the new namespace');
        assert.equal(dports(await rulesetVia(old, backend)), ['01'], 'the old namespace: the first rule only');
      } finally {
        await stop(holder);
        await fw.close();
      }
    }));
}

test('conntrack: calls reject, netnsChanged() says so, a watch and a watchFor end with the error', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    const watch = ct.watch({});
    const ruleWatch = ct.watchFor(FIRST);
    const ends = [endOf(watch, 'watch'), endOf(ruleWatch, 'watchFor')];
    for (const end of ends) end.catch(() => undefined); // awaited below
    try {
      await Promise.all([watch.ready, ruleWatch.ready]);
      assert.is(await ct.netnsChanged(), false);
      await ct.count();

      await ip('netns', 'del', ns.name);
      assert.is(await ct.netnsChanged(), true);
      await gone(ct.count(), 'ENOENT', 'count');
      await gone(ct.countBy({ key: 'source' }), 'ENOENT', 'countBy');
      await gone(ct.delete({ protocol: 'tcp' }), 'ENOENT', 'delete');
      await gone(ct.toArray(), 'ENOENT', 'list');
      for (const [i, end] of ends.entries()) await gone(end, 'ENOENT', `watch ${i}`);
    } finally {
      await Promise.all([watch.close(), ruleWatch.close()]);
      await ct.close();
    }
  }));

test('a watch whose name is given to a new namespace before it looks ends with the error too', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    const watch = ct.watch({});
    const end = endOf(watch, 'watch');
    end.catch(() => undefined); // awaited below
    try {
      await watch.ready;
      await ip('netns', 'del', ns.name);
      await ip('netns', 'add', ns.name);
      await gone(end, 'ESTALE', 'watch');
      await gone(ct.count(), 'ESTALE', 'count');
    } finally {
      await watch.close();
      await ct.close();
    }
  }));

test('a /proc/PID/ns/net path: gone when the process exits', () =>
  withNetns(async (ns) => {
    const holder = await holderOf(ns);
    const fw = await Firewall.open({ backend: 'legacy', netns: `/proc/${holder.pid}/ns/net`, lockPath });
    try {
      await fw.append('INPUT', FIRST);
      await stop(holder);
      assert.is(await fw.netnsChanged(), true);
      await gone(fw.append('INPUT', SECOND), 'ENOENT', 'append');
      assert.equal(dports(await rulesetVia(['ip', 'netns', 'exec', ns.name], 'legacy')), ['01']);
    } finally {
      await stop(holder);
      await fw.close();
    }
  }));

test('connlimit watch --netns NAME exits 5 with one line once the namespace is deleted', () =>
  withNetns(async (ns) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'watch', '--json', '--netns', ns.name], {
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until('the ready line', () => /"type":"ready"/.test(stdout) || child.exitCode !== null, BOUND_MS);
      await ip('netns', 'del', ns.name);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), BOUND_MS)))]);
      clearTimeout(timer);
      assert.is(code, 5, stderr);
      assert.match(stderr, /was deleted/);
      assert.is(stderr.trim().split('\n').length, 1, stderr);
    } finally {
      await stop(child);
    }
  }));

test.run();
