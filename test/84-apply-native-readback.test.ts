// SPDX-License-Identifier: GPL-2.0-or-later
// apply()/keep() on the native form with rules the form lists back in another, equivalent shape
// (`-m state` as `-m conntrack --ctstate`, a multiport list sorted, a one-port list as
// `--dport`, `--icmp-type any` and a full port range dropped): the planner compares them as the
// form reads them back, so a re-apply (from a fresh handle, or after a foreign commit) and a
// keeper woken by a foreign commit change nothing. Oracles, in a throwaway namespace: `nft
// monitor` (no line: the generation id did not move), and real connections held through it
// all (the 3rd still refused: no rule was replaced, no connlimit set made anew).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, formatPlan, type DesiredState, type Keeper } from '../src/index';
import { withNetns } from './helpers/netns';
import { startNftMonitor } from './helpers/nft-monitor';
import { startPeer } from './helpers/tcp';
import { until } from './helpers/until';

const PORT = 7084;


const DESIRED: DesiredState = {
  chains: {
    INPUT: [
      `-p tcp --syn --dport ${PORT} -m state --state NEW -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset`,
      '-p tcp -m multiport --dports 443,80 -m connlimit --connlimit-above 9 -j DROP',
      '-p tcp -m multiport --dports 8443 -j DROP',
      '-s 10.9.9.9/32 -p icmp --icmp-type any -j DROP',
      '-p tcp --sport 0:65535 --dport 9 -j DROP',
    ],
  },
};

test('native form: rules listed back in an equivalent shape are left alone by apply() and keep(); held connections stay counted', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const peer = await startPeer(ns);
    const monitor = await startNftMonitor(ns);
    let other: Firewall | null = null;
    let keeper: Keeper | null = null;
    try {
      await peer.listen(PORT, '127.0.0.1');
      assert.ok((await fw.apply(DESIRED)).committed);
      const listed = (await fw.list('INPUT')).map((r) => r.text);
      assert.match(listed[0] ?? '', /-m conntrack --ctstate NEW/, 'the state alias no longer reads back as written: pick another case');
      assert.match(listed[1] ?? '', /--dports 80,443 /);
      const opts = { host: '127.0.0.1', port: PORT, localAddress: '127.0.1.84' };
      assert.equal((await peer.connectMany(2, opts)).map((x) => x.result), ['ok', 'ok']);

      // A fresh handle plans from the kernel's listing.
      other = await Firewall.open({ backend: 'nftables', netns: ns.name });
      const fresh = other;
      let plan = await fresh.apply(DESIRED, { dryRun: true });
      const lines = await monitor.during(async () => {
        plan = await fresh.apply(DESIRED);
      });
      assert.is(plan.changes, 0, formatPlan(plan));
      assert.not.ok(plan.commit);
      assert.is(plan.chains.INPUT?.unchanged, 5);
      assert.equal(lines, [], 'the re-apply committed');

      // The first handle after a foreign commit in another table reads the table again.
      await ns.run('nft', ['add', 'table', 'ip', 'theirs']);
      const again = await fw.apply(DESIRED);
      assert.is(again.changes, 0, formatPlan(again));

      // A keeper woken by a foreign commit in our table that changes none of our rules (a set
      // added beside them) finds nothing to do.
      keeper = await fw.keep(DESIRED, { debounceMs: 20 });
      assert.is(keeper.initial.changes, 0, formatPlan(keeper.initial));
      const kept = keeper;
      const keptLines = await monitor.during(async () => {
        await ns.run('nft', ['add', 'set', 'ip', 'connlimit', 'watchers', '{ type ipv4_addr; }']);
        await until('the keeper looked', () => kept.checks >= 1);
        // Queued behind the keeper's check on the handle: done when it is.
        assert.is((await fw.apply(DESIRED, { dryRun: true })).changes, 0);
      });
      assert.is(keeper.drifts, 0);
      assert.is(keeper.repairs, 0);
      assert.equal(keptLines.filter((l) => !/\bwatchers\b|^# new generation \d+ by process \d+ \(nft\)$/.test(l)), [], 'the keeper committed');

      assert.equal((await peer.connectMany(1, opts)).map((x) => x.result), ['refused'], 'the count was reset');
    } finally {
      await keeper?.close();
      monitor.stop();
      await peer.exit();
      await other?.close();
      await fw.close();
    }
  }));

test.run();
