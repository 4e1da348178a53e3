// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the rules do what they say. Real TCP connections on loopback inside a throwaway
// namespace, from several 127.x source addresses; the kernel refuses the one over the limit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { withNetns } from './helpers/netns';
import { startPeer, type ConnectOutcome } from './helpers/tcp';

const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('--connlimit-above 2: the third parallel connection from one host is refused, other hosts are not affected', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7022, '127.0.0.1');
      const fw = await Firewall.open({ family: 'ipv4', backend: 'legacy', netns: ns.name });
      await fw.append('INPUT', '-p tcp --syn --dport 7022 -m connlimit --connlimit-above 2 -j REJECT');
      const a = await peer.connectMany(3, { host: '127.0.0.1', port: 7022, localAddress: '127.0.1.10' });
      assert.equal(results(a), ['ok', 'ok', 'refused']);
      const b = await peer.connectMany(3, { host: '127.0.0.1', port: 7022, localAddress: '127.0.1.11' });
      assert.equal(results(b), ['ok', 'ok', 'refused']);
      // With plain REJECT (an ICMP error) the refused attempt's conntrack entry stays in
      // SYN_SENT, and nf_conncount counts it until it expires (120 s): closing an open
      // connection does not free a slot yet. Documented in the README.
      await peer.closeClient(a[0]?.id as number, { reset: true });
      await sleep(100);
      assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port: 7022, localAddress: '127.0.1.10' })), ['refused']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test('with --reject-with tcp-reset, closing a connection frees its slot', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7025, '127.0.0.1');
      const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
      await fw.append('INPUT', '-p tcp --syn --dport 7025 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      const opts = { host: '127.0.0.1', port: 7025, localAddress: '127.0.1.12' };
      const a = await peer.connectMany(3, opts);
      assert.equal(results(a), ['ok', 'ok', 'refused']);
      // The RST moves the refused attempt and the closed connection to CLOSE, which
      // nf_conncount ignores at its next collection; it skips collecting again within the
      // jiffy of the last one (NETFILTER-NOTES.md §6.1), hence the pause.
      await peer.closeClient(a[0]?.id as number, { reset: true });
      await sleep(100);
      assert.equal(results(await peer.connectMany(2, opts)), ['ok', 'refused']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test('--connlimit-mask 24: sources in one /24 share the limit', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7080, '127.0.0.1');
      const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
      await fw.append('INPUT', {
        protocol: 'tcp',
        syn: true,
        dport: 7080,
        connlimit: { kind: 'above', count: 3, maskBits: 24 },
        target: { kind: 'reject', with: 'tcp-reset' },
      });
      const got: string[] = [];
      for (const src of ['127.0.5.10', '127.0.5.11', '127.0.5.12', '127.0.5.13', '127.0.6.10', '127.0.5.99']) {
        got.push((await peer.connect({ host: '127.0.0.1', port: 7080, localAddress: src })).result);
      }
      // Three from 127.0.5.0/24, then that block is full; 127.0.6.0/24 has its own count.
      assert.equal(got, ['ok', 'ok', 'ok', 'refused', 'ok', 'refused']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test('! --connlimit-above 2 -j ACCEPT followed by REJECT: the inverse form', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7023, '127.0.0.1');
      const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
      await fw.transaction((tx) => {
        tx.append('INPUT', '-p tcp --syn --dport 7023 -m connlimit ! --connlimit-above 2 -j ACCEPT');
        tx.append('INPUT', '-p tcp --syn --dport 7023 -j REJECT --reject-with tcp-reset');
      });
      assert.equal(results(await peer.connectMany(3, { host: '127.0.0.1', port: 7023, localAddress: '127.0.2.1' })), ['ok', 'ok', 'refused']);
      assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port: 7023, localAddress: '127.0.2.2' })), ['ok']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test('IPv6: the third connection from ::1 is refused', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7122, '::1');
      const fw = await Firewall.open({ backend: 'legacy', family: 'ipv6', netns: ns.name });
      await fw.append('INPUT', '-p tcp --syn --dport 7122 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      assert.equal(results(await peer.connectMany(3, { host: '::1', port: 7122, localAddress: '::1' })), ['ok', 'ok', 'refused']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test('legacy caveat, as documented: any later commit to the table resets connlimit counts', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7024, '127.0.0.1');
      const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
      await fw.append('INPUT', '-p tcp --syn --dport 7024 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      const opts = { host: '127.0.0.1', port: 7024, localAddress: '127.0.3.1' };
      assert.equal(results(await peer.connectMany(3, opts)), ['ok', 'ok', 'refused']);
      // ensure() that finds its rule commits nothing: the count survives.
      assert.is(await fw.ensure('INPUT', '-p tcp --syn --dport 7024 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset'), false);
      assert.equal(results(await peer.connectMany(1, opts)), ['refused']);
      // An unrelated append rebuilds the table: two more get in although two are open.
      await fw.append('INPUT', '-p udp --dport 9 -j DROP');
      assert.equal(results(await peer.connectMany(3, opts)), ['ok', 'ok', 'refused']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test.run();
