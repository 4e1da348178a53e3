// SPDX-License-Identifier: GPL-2.0-or-later
// fw.keep() against the kernel, legacy and nft, in throwaway namespaces: drift repaired after
// `iptables -F INPUT`, after `iptables -D` of the jump, after an owned rule is edited and after an
// owned chain is deleted, each within a bounded wait for the condition; the keeper's own
// commits cause no re-apply (counted `applied` events) nor, on nf_tables (both forms), a read
// (counted `checks`); foreign rules stay byte for byte; close() stops it (no event after, fds
// and threads back after 100 keep/close loops); a deleted namespace ends it, also while another
// program commits in it without pause. Oracle: the backend's save (`nft list` for the native form).
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, type ApplyPlan, type Backend, type DesiredState, type Drift, type Keeper } from '../src/index';
import { iptablesOracle } from './helpers/iptables-oracle';
import { execResult, withNetns, type Netns } from './helpers/netns';
import { fdCount, threadCount } from './helpers/leak-cycles';
import { until } from './helpers/until';

const DESIRED: DesiredState = {
  chains: {
    LIMITS: ['-p tcp --syn --dport 7056 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset', '-p tcp --dport 22 -m connlimit --connlimit-above 4 -j DROP'],
  },
  jumps: [{ from: 'INPUT', to: 'LIMITS', position: 'first' }],
};
const OURS = /^(-A LIMITS |:LIMITS )|-j LIMITS$/;
// Legacy is read every 100 ms here; nf_tables answers a notification after 50 ms. Waits are
// for the condition, bounded well above either.
const INTERVAL_MS = 100;


const strip = (save: string) => save.replace(/\[\d+:\d+\]/g, '[-]');
const ours = (save: string) => strip(save).split('\n').filter((l) => OURS.test(l));
const foreign = (save: string) => strip(save).split('\n').filter((l) => !OURS.test(l));

/** The keeper's events, as they came. */
function record(keeper: Keeper): { drifts: Drift[]; applied: ApplyPlan[]; errors: Error[] } {
  const r = { drifts: [] as Drift[], applied: [] as ApplyPlan[], errors: [] as Error[] };
  keeper.on('drift', (d) => r.drifts.push(d));
  keeper.on('applied', (p) => r.applied.push(p));
  keeper.on('error', (e) => r.errors.push(e));
  return r;
}

for (const backend of ['legacy', 'nft'] as Backend[]) {
  const { cli, save } = iptablesOracle(backend);
  const applied = async (ns: Netns, want: string[]) => (await until(`our rules back (${backend})`, async () => ours(await save(ns)).join('\n') === want.join('\n')));

  test(`${backend}: keep() repairs a flushed INPUT, a deleted jump, an edited rule and a deleted chain; foreign rules untouched; own commits re-apply nothing`, () =>
    withNetns(async (ns) => {
      await ns.run(cli(), ['-A', 'INPUT', '-s', '10.9.9.9/32', '-j', 'DROP']);
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        const keeper = await fw.keep(DESIRED, { intervalMs: INTERVAL_MS });
        const events = record(keeper);
        assert.ok(keeper.initial.committed, 'the first apply commits');
        const want = ours(await save(ns));
        assert.is(want.length, 4, want.join('\n')); // :LIMITS, the jump, two rules
        const theirs = () => ns.run(cli(), ['-A', 'INPUT', '-p', 'udp', '--dport', '9', '-j', 'ACCEPT']);

        // Someone flushes INPUT: the jump goes, and with it the foreign rule (theirs to redo).
        await ns.run(cli(), ['-F', 'INPUT']);
        await applied(ns, want);
        if (backend === 'nft') {
          // One read for the flush, none for our own two commits (the first apply, the repair):
          // their notifications carry the handle's port id and are skipped unread.
          await until('the repair reported', () => events.applied.length === 1);
          await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
          assert.is(keeper.checks, 1);
        }
        await theirs();
        const foreignAfter = foreign(await save(ns));

        await ns.run(cli(), ['-D', 'INPUT', '-j', 'LIMITS']);
        await applied(ns, want);
        await ns.run(cli(), ['-R', 'LIMITS', '2', '-p', 'tcp', '--dport', '23', '-j', 'DROP']);
        await applied(ns, want);
        // The chain out in one commit: a repair between separate -D, -F and -X would make -X fail.
        await ns.run(`${cli()}-restore`, ['--noflush'], { input: '*filter\n-D INPUT -j LIMITS\n-F LIMITS\n-X LIMITS\nCOMMIT\n' });
        await applied(ns, want);
        await until('four repairs reported', () => events.applied.length >= 4);
        assert.equal(events.errors, []);
        assert.equal(foreign(await save(ns)), foreignAfter, 'foreign rules moved');
        // Our jump is first again, before the foreign rule added after the flush.
        assert.match(strip(await save(ns)), /-A INPUT -j LIMITS\n-A INPUT -p udp/);

        // Every repair is one drift and one apply: the repair's own commit was not taken for
        // drift. Wait twice the longest delay, then count again.
        const drifts = events.drifts.length;
        const repairs = events.applied.length;
        assert.is(repairs, drifts);
        await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
        assert.is(events.applied.length, repairs, 'an apply without drift');
        assert.is(keeper.repairs, repairs);
        for (const d of events.drifts) assert.ok(d.plan.commit && !d.plan.committed);
        if (backend === 'nft') {
          for (const d of events.drifts) assert.ok(d.trigger === 'notification' && d.generations.length > 0, JSON.stringify(d));
        } else for (const d of events.drifts) assert.is(d.trigger, 'interval');

        // A foreign change outside what we own is no drift.
        await ns.run(cli(), ['-A', 'OUTPUT', '-j', 'ACCEPT']);
        await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
        assert.is(events.drifts.length, drifts);

        // close(): no event after it, however the table changes.
        await keeper.close();
        await ns.run(cli(), ['-F', 'INPUT']);
        await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
        assert.is(events.drifts.length, drifts);
        assert.ok(!ours(await save(ns)).some((l) => l.startsWith('-A INPUT')), 'repaired after close');
      } finally {
        await fw.close();
      }
    }));

  test(`${backend}: onDrift returning false reports without repairing; the Firewall's close() stops the keeper`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ backend, netns: ns.name });
      const seen: Drift[] = [];
      const keeper = await fw.keep(DESIRED, { intervalMs: INTERVAL_MS, onDrift: (d) => (seen.push(d), false) });
      const events = record(keeper);
      let closed = false;
      keeper.on('close', () => (closed = true));
      await ns.run(cli(), ['-F', 'INPUT']);
      await until('the drift reported', () => seen.length > 0);
      assert.is(events.drifts.length, seen.length);
      assert.is(seen[0]?.plan.chains.INPUT?.insert.length, 1);
      assert.is(events.applied.length, 0);
      assert.ok(!ours(await save(ns)).some((l) => l.startsWith('-A INPUT')), 'repaired anyway');
      await fw.close();
      assert.ok(closed, 'keeper not closed with its Firewall');
    }));
}

test('native form: keep() repairs a flushed chain, a deleted rule and a deleted table; other tables untouched', () =>
  withNetns(async (ns) => {
    const rule = (port: number) => `-p tcp --syn --dport ${port} -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset`;
    const state: DesiredState = { chains: { INPUT: [rule(22), rule(80)] } };
    await ns.run('nft', ['add', 'table', 'ip', 'theirs']);
    await ns.run('nft', ['add', 'chain', 'ip', 'theirs', 'c', '{ type filter hook input priority 10; }']);
    await ns.run('nft', ['add', 'rule', 'ip', 'theirs', 'c', 'tcp', 'dport', '9', 'drop']);
    const theirs = async () => (await ns.run('nft', ['list', 'table', 'ip', 'theirs'])).stdout;
    const before = await theirs();
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      const keeper = await fw.keep(state);
      const events = record(keeper);
      const count = async () => (await fw.list('INPUT')).length;
      const handles = async () => (await ns.run('nft', ['-a', 'list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout.match(/dport .*# handle \d+$/gm) ?? [];
      await ns.run('nft', ['flush', 'chain', 'ip', 'connlimit', 'INPUT']);
      await until('the flushed chain refilled', async () => (await count()) === 2);
      // One read for the flush, none for our own two commits (the first apply, the repair):
      // the native handle commits through its session socket, so their notifications carry
      // its port id and are skipped unread, as on 'nft'.
      await until('the repair reported', () => events.applied.length === 1);
      await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
      assert.is(keeper.checks, 1);
      const [first] = await handles();
      await ns.run('nft', ['delete', 'rule', 'ip', 'connlimit', 'INPUT', 'handle', /\d+$/.exec(first ?? '')?.[0] ?? '']);
      await until('the deleted rule back', async () => (await count()) === 2 && (await fw.list('INPUT'))[0]?.text.includes('--dport 22') === true);
      await ns.run('nft', ['delete', 'table', 'ip', 'connlimit']);
      await until('the deleted table back', async () => (await count()) === 2);
      await until('three repairs reported', () => events.applied.length === 3);
      assert.equal(events.errors, []);
      assert.is(events.drifts.length, 3);
      // Three foreign commits, three reads: none for the repairs. (The lists above are reads of
      // the handle, not commits, and send no notification.)
      await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
      assert.is(keeper.checks, 3);
      assert.is(await theirs(), before, 'their table moved');
      await keeper.close();
    } finally {
      await fw.close();
    }
  }));

for (const backend of ['legacy', 'nft'] as Backend[]) {
  test(`${backend}: a keeper whose namespace is deleted ends with ERR_CONNLIMIT_NETNS_GONE and 'close'`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        const keeper = await fw.keep(DESIRED, { intervalMs: INTERVAL_MS });
        const errors: Array<{ code?: string }> = [];
        let closed = false;
        keeper.on('error', (e) => errors.push(e as { code?: string }));
        keeper.on('close', () => (closed = true));
        await ns.destroy();
        await until('the keeper closed', () => closed);
        assert.is(errors[0]?.code, 'ERR_CONNLIMIT_NETNS_GONE');
      } finally {
        await fw.close();
      }
    }));
}

test('nft: a namespace deleted while other commits keep coming is noticed all the same', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    // Commits to a table of theirs, back to back, from a process inside the namespace: each
    // wakes the keeper's thread (none is about its table), so there is never a quiet second.
    // It outlives the namespace's name, which is all that is deleted.
    const stream = spawn('ip', ['netns', 'exec', ns.name, 'sh', '-c', "while :; do nft 'add table ip busy; delete table ip busy' && echo .; done"], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const keeper = await fw.keep(DESIRED);
      const errors: Array<{ code?: string }> = [];
      let closed = false;
      keeper.on('error', (e) => errors.push(e as { code?: string }));
      keeper.on('close', () => (closed = true));
      let commits = 0;
      stream.stdout?.on('data', (d: Buffer) => (commits += d.length / 2));
      await until('their commits under way', () => commits >= 3);
      const del = await execResult('ip', ['netns', 'del', ns.name]);
      assert.is(del.code, 0, del.stderr);
      const deletedAt = commits;
      await until('the keeper closed', () => closed);
      assert.is(errors[0]?.code, 'ERR_CONNLIMIT_NETNS_GONE');
      assert.ok(commits > deletedAt, 'their commits stopped: the test proved nothing');
      assert.is(keeper.checks, 0, 'their commits were taken for ours');
    } finally {
      stream.kill('SIGKILL');
      await fw.close();
    }
  }));

test('keep() refuses bad options and a bad state before touching anything', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    try {
      for (const [options, field] of [
        [{ intervalMs: 5 }, /intervalMs/],
        [{ debounceMs: -1 }, /debounceMs/],
        [{ onDrift: 'x' }, /onDrift/],
        [{ every: 1 }, /every/],
      ] as const) {
        const e = (await fw.keep(DESIRED, options as object).then(() => null, (x: unknown) => x)) as { code?: string; message: string } | null;
        assert.is(e?.code, 'ERR_CONNLIMIT_INVALID');
        assert.match(e?.message ?? '', field);
      }
      const e = (await fw.keep({ chains: { LIMITS: ['-p tcp --dport'] } }).then(() => null, (x: unknown) => x)) as { code?: string; message: string } | null;
      assert.is(e?.code, 'ERR_CONNLIMIT_INVALID');
      assert.match(e?.message ?? '', /chains\.LIMITS\[0\]/);
      assert.not.match((await iptablesOracle('legacy').save(ns)), /LIMITS/);
    } finally {
      await fw.close();
    }
  }));

test('nft: 100 keep/close loops leave fds and threads where they were', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    try {
      // One round first: the pool's threads and the handle's socket exist from then on.
      await (await fw.keep(DESIRED)).close();
      const fds = fdCount();
      const threads = threadCount();
      for (let i = 0; i < 100; i++) await (await fw.keep(DESIRED)).close();
      assert.is(fdCount(), fds, 'fds');
      assert.is(threadCount(), threads, 'threads');
    } finally {
      await fw.close();
    }
  }));

test.run();
