// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: multiport + connlimit do what they say on every backend (on 'nftables' the list is an
// anonymous set the rule looks up). Real TCP connections on loopback inside a throwaway
// namespace: one client's connections to the ports of one multiport list share one count, and a port outside the list is not limited; and
// conntrack's countFor counts what the rule counts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Conntrack, Firewall } from '../src/index';
import { ruleCountQuery } from '../src/conntrack/rule-filter';
import { withNetns } from './helpers/netns';
import { startPeer, type ConnectOutcome } from './helpers/tcp';

const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);
const RULE = '-p tcp -m multiport --dports 7080,7443 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset';

test('countFor/watchFor filters of a multiport rule: one per disjoint port range, a negated single range kept as one', () => {
  const dports = (rule: string) => ruleCountQuery(rule, {}).filters.map((f) => f.dport);
  assert.equal(dports('-p tcp -m multiport --dports 443,80,81,82:90 -m connlimit --connlimit-above 2'), [[80, 90, false], [443, 443, false]]);
  assert.equal(dports('-p tcp -m multiport ! --dports 22 -m connlimit --connlimit-above 2'), [[22, 22, true]]);
  assert.equal(dports('-p tcp --dport 1000:2000 -m multiport --dports 80,1500:3000 -m connlimit --connlimit-above 2'), [[1500, 2000, false]]);
  assert.equal(dports('-p tcp --dport 22 -m multiport --dports 80 -m connlimit --connlimit-above 2'), []);
  assert.equal(ruleCountQuery('-p udp -m multiport --sports 53,1024:65535 -m connlimit --connlimit-above 2', {}).filters.map((f) => f.sport), [[53, 53, false], [1024, 65535, false]]);
  assert.throws(() => ruleCountQuery('-p tcp -m multiport --ports 80,443 -m connlimit --connlimit-above 2', {}), (e: Error & { code?: string }) => e.code === 'ERR_CONNLIMIT_INVALID');
});

for (const backend of ['legacy', 'nft', 'nftables'] as const) {
  test(`${backend}: --dports 7080,7443 with --connlimit-above 2: the third connection across both ports is refused`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      try {
        for (const port of [7080, 7443, 7022]) await peer.listen(port, '127.0.0.1');
        const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
        await fw.append('INPUT', RULE);
        const from = (port: number, localAddress: string) => ({ host: '127.0.0.1', port, localAddress });
        const client = '127.0.4.10';
        assert.equal(results(await peer.connectMany(1, from(7080, client))), ['ok']);
        assert.equal(results(await peer.connectMany(1, from(7443, client))), ['ok']);
        // The list is one match: two open connections, one on each port, fill the count.
        assert.equal(results(await peer.connectMany(1, from(7080, client))), ['refused']);
        assert.equal(results(await peer.connectMany(1, from(7443, client))), ['refused']);
        // A port outside the list, and another client, are not limited by it.
        assert.equal(results(await peer.connectMany(1, from(7022, client))), ['ok']);
        assert.equal(results(await peer.connectMany(2, from(7443, '127.0.4.11'))), ['ok', 'ok']);
        // countFor counts what the rule counts: both ports of the list, not 7022.
        const ct = await Conntrack.open({ netns: ns.name });
        const counts = await ct.countFor(RULE);
        assert.equal(counts.get(client), { count: 2, limit: 2, headroom: 0 });
        assert.equal(counts.get('127.0.4.11'), { count: 2, limit: 2, headroom: 0 });
        const outside = await ct.countFor('-p tcp -m multiport ! --dports 7080,7443 -m connlimit --connlimit-above 5 -j DROP');
        assert.equal([...outside].map(([k, v]) => [k, v.count]), [[client, 1]]);
        // A watch has one filter: two separate ports are refused by name, before the kernel.
        assert.throws(() => ct.watchFor(RULE), (e: Error & { code?: string }) => e.code === 'ERR_CONNLIMIT_INVALID');
        await ct.close();
        await fw.close();
      } finally {
        await peer.exit();
      }
    }));
}

test.run();
