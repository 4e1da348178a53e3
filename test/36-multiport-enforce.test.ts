// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: multiport + connlimit do what they say on both backends that write xt matches. Real
// TCP connections on loopback inside a throwaway namespace: one client's connections to the
// ports of one multiport list share one count, and a port outside the list is not limited.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { withNetns } from './helpers/netns';
import { startPeer, type ConnectOutcome } from './helpers/tcp';

const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: --dports 7080,7443 with --connlimit-above 2: the third connection across both ports is refused`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      try {
        for (const port of [7080, 7443, 7022]) await peer.listen(port, '127.0.0.1');
        const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
        await fw.append('INPUT', '-p tcp -m multiport --dports 7080,7443 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
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
        await fw.close();
      } finally {
        await peer.exit();
      }
    }));
}

test.run();
