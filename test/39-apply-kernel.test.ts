// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: fw.apply()/removeOwned() against the kernel, legacy and nft, in throwaway namespaces.
// Oracles: the backend's iptables-save (foreign rules byte for byte, the table after removal),
// real TCP connections held through a re-apply (a reset connlimit count lets the 3rd in),
// and on nf_tables `nft monitor` (no line: nothing committed) and rule handles (an unchanged
// rule keeps its handle: it was not sent again).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, formatPlan, type Backend, type DesiredState } from '../src/index';
import { iptablesOracle } from './helpers/iptables-oracle';
import { withNetns, type Netns } from './helpers/netns';
import { startNftMonitor } from './helpers/nft-monitor';
import { startPeer } from './helpers/tcp';

const PORT = 7039;
const LIMIT = `-p tcp --syn --dport ${PORT} -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset`;

function desired(third = '-p udp --dport 53 -j ACCEPT'): DesiredState {
  return {
    chains: {
      LIMITS: [LIMIT, '-p tcp --dport 22 -m connlimit --connlimit-above 4 --connlimit-mask 24 -j DROP', third, '-j LOGS'],
      LOGS: ['-m comment --comment "owned by the test" -j RETURN'],
    },
    jumps: [
      { from: 'INPUT', to: 'LIMITS', position: 'first' },
      { from: 'OUTPUT', to: 'LOGS', position: 'last' },
    ],
  };
}

const OURS = /^(-A (LIMITS|LOGS) |:(LIMITS|LOGS) )|-j (LIMITS|LOGS)$/;

/** The save output without counters; and the lines of it that are not ours, in order. */
function strip(save: string): string {
  return save.replace(/\[\d+:\d+\]/g, '[-]');
}
const foreign = (save: string) => strip(save).split('\n').filter((l) => !OURS.test(l));

async function foreignRules(ns: Netns, cli: string): Promise<void> {
  for (const args of [
    ['-A', 'INPUT', '-s', '10.9.9.9/32', '-m', 'comment', '--comment', 'foreign before', '-j', 'DROP'],
    ['-A', 'INPUT', '-p', 'tcp', '--dport', '1', '-j', 'ACCEPT'],
    ['-A', 'OUTPUT', '-d', '10.8.8.8/32', '-j', 'DROP'],
    ['-N', 'FOREIGN'],
    ['-A', 'FOREIGN', '-p', 'udp', '--dport', '9', '-j', 'RETURN'],
    ['-A', 'INPUT', '-j', 'FOREIGN'],
  ]) {
    await ns.run(cli, args);
  }
}

async function handles(ns: Netns, chain: string): Promise<string[]> {
  const out = (await ns.run('nft', ['-a', 'list', 'chain', 'ip', 'filter', chain])).stdout;
  // Rule lines only: the chain's own line carries a handle too.
  return out
    .split('\n')
    .filter((l) => !/\bchain \S+ \{/.test(l))
    .flatMap((l) => /# handle (\d+)$/.exec(l)?.[1] ?? []);
}

for (const backend of ['legacy', 'nft'] as Backend[]) {
  const { cli, save } = iptablesOracle(backend);

  test(`${backend}: apply to a table holding foreign rules, re-apply commits nothing, one changed rule is all that changes, remove restores the table`, () =>
    withNetns(async (ns) => {
      await foreignRules(ns, cli());
      const before = strip(await save(ns));
      const fw = await Firewall.open({ backend, netns: ns.name });
      const monitor = backend === 'nft' ? await startNftMonitor(ns) : null;
      const peer = await startPeer(ns);
      /** What `work` sent to nf_tables, line by line (legacy: nothing to watch, checked otherwise). */
      const sent = async (work: () => Promise<void>): Promise<string[]> => {
        if (monitor) return monitor.during(work);
        await work();
        return [];
      };
      try {
        await peer.listen(PORT, '127.0.0.1');
        const dry = await fw.apply(desired(), { dryRun: true });
        assert.ok(dry.commit);
        assert.not.ok(dry.committed);
        assert.is(strip(await save(ns)), before, 'a dry run changed the table');
        assert.ok(dry.chains.LIMITS?.create);
        assert.is(dry.chains.LIMITS?.insert.length, 4);
        assert.is(dry.resetsConnlimitCounts, backend === 'legacy');
        assert.match(formatPlan(dry), /\+ \[1\] -A INPUT -j LIMITS/);

        const first = await fw.apply(desired());
        assert.ok(first.committed);
        const applied = await save(ns);
        assert.equal(foreign(applied), foreign(before), 'foreign rules moved');
        const input = strip(applied).split('\n').filter((l) => l.startsWith('-A INPUT'));
        assert.is(input[0], '-A INPUT -j LIMITS');
        assert.match(applied, /-A OUTPUT -d 10.8.8.8\/32 -j DROP\n-A OUTPUT -j LOGS\n/);

        // Another program writes around ours: before, between, after.
        await ns.run(cli(), ['-I', 'INPUT', '1', '-s', '10.7.7.7/32', '-j', 'DROP']);
        await ns.run(cli(), ['-A', 'OUTPUT', '-d', '10.6.6.6/32', '-j', 'DROP']);
        const theirs = foreign(await save(ns));

        // Two held connections are counted; a re-apply that changes nothing keeps them counted.
        const opts = { host: '127.0.0.1', port: PORT, localAddress: '127.0.1.39' };
        assert.equal((await peer.connectMany(2, opts)).map((x) => x.result), ['ok', 'ok']);
        const handlesBefore = backend === 'nft' ? await handles(ns, 'LIMITS') : [];
        let again = first;
        const lines = await sent(async () => {
          again = await fw.apply(desired());
        });
        assert.not.ok(again.commit, formatPlan(again));
        assert.not.ok(again.committed);
        assert.is(again.changes, 0);
        assert.is(again.chains.LIMITS?.unchanged, 4);
        assert.equal(lines, [], 'the re-apply sent something');
        assert.match(formatPlan(again), /no changes: nothing is committed/);
        assert.equal((await peer.connectMany(1, opts)).map((x) => x.result), ['refused'], 'the count was reset');

        // One rule changes: only it.
        const changed = desired('-p udp --dport 5353 -j ACCEPT');
        let plan = first;
        const changeLines = await sent(async () => {
          plan = await fw.apply(changed);
        });
        assert.ok(plan.committed);
        assert.is(plan.changes, 1, formatPlan(plan));
        assert.equal(plan.chains.LIMITS?.replace.map((r) => r.position), [3]);
        assert.is(plan.chains.LIMITS?.unchanged, 3);
        assert.equal(foreign(await save(ns)), theirs, 'foreign rules moved');
        if (backend === 'nft') {
          // One transaction (one new generation) replacing one rule: its old copy out, its new one in.
          const [out, into, generation, ...more] = changeLines;
          assert.match(out ?? '', /^delete rule ip filter LIMITS handle \d+$/, changeLines.join('\n'));
          assert.match(into ?? '', /^add rule ip filter LIMITS handle \d+ udp dport 5353 /);
          assert.match(generation ?? '', /^# new generation \d+ by process \d+ \(node\)$/);
          assert.equal(more, []);
          const after = await handles(ns, 'LIMITS');
          assert.is(after.length, 4);
          assert.equal([after[0], after[1], after[3]], [handlesBefore[0], handlesBefore[1], handlesBefore[3]], 'an unchanged rule was sent again');
          // Counts of unchanged rules survive on nf_tables: the held two still count.
          assert.equal((await peer.connectMany(1, opts)).map((x) => x.result), ['refused']);
        } else {
          // Any legacy commit restarts every count, as the plan said: the held two are forgotten.
          assert.ok(plan.resetsConnlimitCounts);
          assert.equal((await peer.connectMany(1, opts)).map((x) => x.result), ['ok']);
        }

        const removed = await fw.removeOwned(changed);
        assert.ok(removed.committed);
        assert.ok(removed.chains.LIMITS?.remove);
        const afterRemove = strip(await save(ns));
        assert.equal(afterRemove.split('\n'), theirs, 'removal left something of ours or moved theirs');
        // Without the two rules the other program added, the table is as before the first apply.
        await ns.run(cli(), ['-D', 'INPUT', '-s', '10.7.7.7/32', '-j', 'DROP']);
        await ns.run(cli(), ['-D', 'OUTPUT', '-d', '10.6.6.6/32', '-j', 'DROP']);
        assert.is(strip(await save(ns)), before);
        const twice = await fw.removeOwned(changed);
        assert.not.ok(twice.commit);
      } finally {
        monitor?.stop();
        await peer.exit();
        await fw.close();
      }
    }));

  test(`${backend}: stale and duplicate jumps into owned chains go; a foreign chain jumping into ours makes removal fail whole`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        await fw.apply({ chains: { MINE: ['-j RETURN'] }, jumps: [{ from: 'INPUT', to: 'MINE', position: 'last' }] });
        await ns.run(cli(), ['-A', 'INPUT', '-j', 'MINE']);
        await ns.run(cli(), ['-A', 'FORWARD', '-j', 'MINE']);
        const plan = await fw.apply({ chains: { MINE: ['-j RETURN'] }, jumps: [{ from: 'INPUT', to: 'MINE', position: 'last' }] });
        assert.is(plan.chains.INPUT?.delete.length, 1);
        assert.is(plan.chains.FORWARD?.delete.length, 1);
        assert.equal((await fw.list('INPUT')).map((r) => r.text), ['-A INPUT -j MINE']);
        assert.equal(await fw.list('FORWARD'), []);

        await ns.run(cli(), ['-N', 'THEIRS']);
        await ns.run(cli(), ['-A', 'THEIRS', '-j', 'MINE']);
        const table = await save(ns);
        try {
          await fw.removeOwned({ chains: { MINE: [] } });
          assert.unreachable('removal went through');
        } catch (e) {
          assert.is((e as { code?: string }).code, 'ERR_CONNLIMIT_IN_USE', String(e));
        }
        assert.is(await save(ns), table, 'a failed removal changed the table');
      } finally {
        await fw.close();
      }
    }));
}

for (const backend of ['legacy', 'nft'] as Backend[]) {
  const { cli, save } = iptablesOracle(backend);
  test(`${backend}: applies planned from what the handle knows (no dump at its own generation) still see a foreign change in between`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        const a = desired();
        const b = desired('-p udp --dport 54 -j ACCEPT');
        const rules = async () => strip(await save(ns)).split('\n').filter((l) => l.startsWith('-A LIMITS'));
        await fw.apply(a);
        for (let i = 0; i < 6; i++) {
          const plan = await fw.apply(i % 2 ? a : b);
          assert.is(plan.changes, 1, formatPlan(plan));
        }
        const wantA = await rules();
        assert.is(wantA.length, 4);
        assert.not.ok((await fw.apply(a)).commit);
        // Someone else edits our chain: the next apply sees it, whatever the handle knew.
        await ns.run(cli(), ['-I', 'LIMITS', '2', '-j', 'RETURN']);
        const repair = await fw.apply(a);
        assert.is(repair.changes, 1, formatPlan(repair));
        assert.is(repair.chains.LIMITS?.delete.length, 1);
        assert.equal(await rules(), wantA);
        await ns.run(cli(), ['-R', 'LIMITS', '3', '-p', 'udp', '--dport', '55', '-j', 'ACCEPT']);
        assert.is((await fw.apply(a)).chains.LIMITS?.replace.length, 1);
        assert.equal(await rules(), wantA);
        const b2 = await fw.apply(b);
        assert.is(b2.changes, 1);
        assert.match((await rules()).join('\n'), /--dport 54/);
      } finally {
        await fw.close();
      }
    }));
}

for (const backend of ['legacy', 'nft'] as Backend[]) {
  test(`${backend}: a handle planning from what it knows (rules by position and text, no dump) plans each of a run of edits exactly as a fresh handle does from a dump`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        const r = (port: number) => `-p tcp --syn --dport ${port} -m connlimit --connlimit-above 2 -j REJECT`;
        const base = [1, 2, 3, 4, 5, 6].map(r);
        const state = (rules: string[]): DesiredState => ({ chains: { LIMITS: rules }, jumps: [{ from: 'INPUT', to: 'LIMITS' }] });
        const [r1, r2, r3, r4, r5, r6] = base as [string, string, string, string, string, string];
        const edits = [
          base,
          [r1, r2, r(60), r4, r5, r6], // one changed in place
          [r(70), r1, r2, r(60), r4, r5, r6], // one in at the front: every other rule a place down
          [r(70), r1, r2, r4, r5, r6], // one out
          [r(70), r2, r1, r4, r6, r5], // two pairs swapped
          [r6, r5, r4], // most out, the rest reversed
          base,
        ];
        await fw.apply(state(base));
        for (const rules of edits) {
          const fresh = await Firewall.open({ backend, netns: ns.name });
          let cold;
          try {
            cold = await fresh.apply(state(rules), { dryRun: true });
          } finally {
            await fresh.close();
          }
          const warm = await fw.apply(state(rules));
          assert.equal({ ...warm, committed: false }, cold, formatPlan(warm));
          assert.is(formatPlan({ ...warm, committed: false }), formatPlan(cold));
          assert.is(warm.committed, cold.commit);
        }
        assert.not.ok((await fw.apply(state(base))).commit);
      } finally {
        await fw.close();
      }
    }));
}

test('native form: apply to no table, re-apply sends nothing, one changed rule is one delete and one add, removeOwned deletes every table of ours; user chains and jumps refused by place', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const monitor = await startNftMonitor(ns);
    const rule = (port: number) => `-p tcp --syn --dport ${port} -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset`;
    const state = (port: number): DesiredState => ({ chains: { INPUT: [rule(22), rule(port), rule(443)], OUTPUT: ['-p udp --dport 53 -m connlimit --connlimit-above 9 -j DROP'] } });
    // Ours only: the monitor adds marker tables of its own.
    const tables = async () => (await ns.run('nft', ['list', 'tables'])).stdout.split('\n').filter((l) => /connlimit/.test(l)).join('\n');
    try {
      assert.is(await tables(), '');
      const first = await fw.apply(state(80));
      assert.ok(first.committed);
      assert.is(first.chains.INPUT?.insert.length, 3);
      assert.is(first.chains.INPUT?.create, false, 'base chains come with the table, never created as user chains');
      assert.is((await fw.list('INPUT')).length, 3);
      const again = await monitor.during(async () => assert.not.ok((await fw.apply(state(80))).commit));
      assert.equal(again, [], 'a re-apply sent something');
      const sent = await monitor.during(async () => {
        const p = await fw.apply(state(81));
        assert.is(p.changes, 1);
        assert.is(p.chains.INPUT?.replace.length, 1);
        assert.is(p.chains.INPUT?.unchanged, 2);
      });
      assert.is(sent.filter((l) => /^add rule/.test(l)).length, 1, sent.join('\n'));
      assert.is(sent.filter((l) => /^delete rule/.test(l)).length, 1, sent.join('\n'));
      assert.match((await fw.list('INPUT'))[1]?.text ?? '', /--dport 81 /);

      for (const [bad, place] of [
        [{ chains: { LIMITS: [] } }, /chains\.LIMITS/],
        [{ chains: { INPUT: ['-p tcp --dport 22 -j ACCEPT'] } }, /chains\.INPUT\[0\]/],
        [{ chains: { INPUT: [] }, jumps: [{ from: 'INPUT', to: 'INPUT' }] }, /^jumps|jumps:/],
      ] as const) {
        const e = (await fw.apply(bad as unknown as DesiredState).then(() => null, (x: unknown) => x)) as { code?: string; message: string } | null;
        assert.is(e?.code, 'ERR_CONNLIMIT_INVALID');
        assert.match(e?.message ?? '', place);
      }

      const removed = await fw.removeOwned(state(81));
      assert.ok(removed.committed);
      assert.is(removed.chains.INPUT?.delete.length, 3);
      assert.is(removed.chains.OUTPUT?.delete.length, 1);
      assert.is(await tables(), '', 'a table of ours is left');
      assert.not.ok((await fw.removeOwned(state(81))).commit);
    } finally {
      monitor.stop();
      await fw.close();
    }
  }));

test.run();
