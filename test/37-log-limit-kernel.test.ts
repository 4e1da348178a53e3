// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: LOG and limit do what they say, with real TCP connections on loopback inside a
// throwaway namespace, on legacy and on nft (where limit is iptables-nft's native `limit`
// expression, not the xt match), and LOG on the native nftables form (nft's `log`).
//
// LOG is proven by its rule's packet counter, not by the kernel log: nf_log prints nothing for
// packets of a namespace other than the initial one unless the host-wide sysctl
// net.netfilter.nf_log_all_netns is 1 (net/netfilter/nf_log_syslog.c), and tests never change
// host sysctls. The counter shows the kernel ran the target on each packet, and LOG passes every
// packet on (a non-terminating target), which the connections getting through show.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { withNetns } from './helpers/netns';
import { startPeer } from './helpers/tcp';

// On the native nftables form LOG is nft's `log` statement in our own table (iptables-translate's
// `counter log ...`): it runs and lets the packet go on just the same.
for (const backend of ['legacy', 'nft', 'nftables'] as const) {
  test(`${backend}: -j LOG runs on each new connection (its counter) and lets it through; it lists as its typed part`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      try {
        await peer.listen(7101, '127.0.0.1');
        const fw = await Firewall.open({ backend, netns: ns.name });
        await fw.append('INPUT', '-p tcp --syn --dport 7101 -j LOG --log-prefix "conn 7101: " --log-level 6 --log-uid');
        const got: string[] = [];
        for (let i = 0; i < 3; i++) got.push((await peer.connect({ host: '127.0.0.1', port: 7101, localAddress: '127.0.1.20' })).result);
        assert.equal(got, ['ok', 'ok', 'ok']);
        const [rule] = await fw.list('INPUT');
        assert.is(rule!.packets, 3n);
        assert.equal(rule!.rule.target, { kind: 'log', prefix: 'conn 7101: ', level: 6, uid: true });
        assert.is(rule!.text, '-A INPUT -p tcp -m tcp --dport 7101 --tcp-flags FIN,SYN,RST,ACK SYN -j LOG --log-prefix "conn 7101: " --log-level 6 --log-uid');
        // The typed spelling (level by name) is the same rule.
        assert.ok(await fw.check('INPUT', { protocol: 'tcp', syn: true, dport: 7101, target: { kind: 'log', prefix: 'conn 7101: ', level: 'info', uid: true } }));
        if (backend === 'nftables') assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout, /counter packets 3 bytes \d+ log prefix "conn 7101: " level info flags skuid\n/);
        await fw.close();
      } finally {
        await peer.exit();
      }
    }));
}

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: -m limit --limit 2/minute --limit-burst 2 accepts two new connections, the third falls through to REJECT`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      try {
        await peer.listen(7102, '127.0.0.1');
        const fw = await Firewall.open({ backend, netns: ns.name });
        await fw.append('INPUT', '-p tcp --syn --dport 7102 -m limit --limit 2/minute --limit-burst 2 -j ACCEPT');
        await fw.append('INPUT', '-p tcp --syn --dport 7102 -j REJECT --reject-with tcp-reset');
        const got: string[] = [];
        for (let i = 0; i < 3; i++) got.push((await peer.connect({ host: '127.0.0.1', port: 7102, localAddress: '127.0.1.21' })).result);
        // The burst of 2 is spent and a new token takes 30 s: the third SYN is not limited, so REJECT answers it.
        assert.equal(got, ['ok', 'ok', 'refused']);
        const [limited, reject] = await fw.list('INPUT');
        assert.equal([limited!.packets, reject!.packets], [2n, 1n]);
        assert.equal(limited!.rule.matches, [{ kind: 'limit', rate: 2, per: 'minute', burst: 2 }]);
        assert.is(limited!.text, '-A INPUT -p tcp -m tcp --dport 7102 --tcp-flags FIN,SYN,RST,ACK SYN -m limit --limit 2/min --limit-burst 2 -j ACCEPT');
        const cli = backend === 'legacy' ? 'iptables-legacy-save' : 'iptables-nft-save';
        assert.match((await ns.run(cli, ['-t', 'filter'])).stdout, /-m limit --limit 2\/min --limit-burst 2 -j ACCEPT/);
        // 120/hour is the same kernel rate as 2/minute: the same rule, found and deleted.
        await fw.delete('INPUT', '-p tcp --syn --dport 7102 -m limit --limit 120/hour --limit-burst 2 -j ACCEPT');
        assert.is((await fw.list('INPUT')).length, 1);
        await fw.close();
      } finally {
        await peer.exit();
      }
    }));
}

test("nftables: limit is written as its translation", () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    // `limit rate 1/second burst 5 packets`, which nft lists without the default burst.
    await fw.append('INPUT', '-m limit --limit 1/s -j DROP');
    assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout, /\n\t\tlimit rate 1\/second counter packets \d+ bytes \d+ drop\n/);
    assert.equal((await fw.list('INPUT')).map((r) => r.text), ['-A INPUT -m limit --limit 1/sec -j DROP']);
    await fw.close();
  }));

test.run();
