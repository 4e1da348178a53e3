// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the CT/NOTRACK and NFQUEUE targets do what they say on both backends that write xt
// targets. Real TCP connections on loopback inside a throwaway namespace: a connection whose
// packets the raw table leaves untracked (CT --notrack on the way in, NOTRACK on the way out)
// never reaches conntrack, so it is not counted (countFor, and `conntrack -L` as the oracle)
// while one on another port is; and NFQUEUE with no reader drops the handshake unless
// --queue-bypass lets it through.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Conntrack, Firewall } from '../src/index';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer, type ConnectOutcome } from './helpers/tcp';

const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);

/** Flows conntrack holds for a destination port, as the conntrack CLI lists them. */
async function trackedFlows(ns: Netns, port: number): Promise<number> {
  const r = await ns.run('conntrack', ['-L', '-p', 'tcp', '--orig-port-dst', String(port)]);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: CT --notrack and NOTRACK in raw: the connection is made but never tracked, nor counted; another port is`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      try {
        for (const port of [7101, 7102]) await peer.listen(port, '127.0.0.1');
        const raw = await Firewall.open({ family: 'ipv4', backend, table: 'raw', netns: ns.name });
        // Loopback packets leave through OUTPUT and come back through PREROUTING: both directions, both hooks.
        await raw.transaction((tx) => {
          tx.append('PREROUTING', '-p tcp --dport 7101 -j CT --notrack');
          tx.append('PREROUTING', '-p tcp --sport 7101 -j CT --notrack');
          tx.append('OUTPUT', '-p tcp --dport 7101 -j NOTRACK');
          tx.append('OUTPUT', { protocol: 'tcp', sport: 7101, target: { kind: 'notrack' } });
        });
        assert.equal(
          (await raw.list()).map((r) => r.rule.target),
          [{ kind: 'ct', notrack: true }, { kind: 'ct', notrack: true }, { kind: 'notrack' }, { kind: 'notrack' }],
        );
        // Conntrack runs in a namespace once a rule needs it (CT --notrack does not): a connlimit rule does.
        const filter = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
        await filter.append('INPUT', '-p tcp --syn -m connlimit --connlimit-above 1000 -j ACCEPT');
        await filter.close();
        const client = '127.0.6.10';
        assert.equal(results(await peer.connectMany(2, { host: '127.0.0.1', port: 7101, localAddress: client })), ['ok', 'ok']);
        assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port: 7102, localAddress: client })), ['ok']);
        assert.is(await trackedFlows(ns, 7101), 0, 'untracked flows are in conntrack');
        assert.is(await trackedFlows(ns, 7102), 1);
        const ct = await Conntrack.open({ netns: ns.name });
        assert.is((await ct.countFor('-p tcp --dport 7101 -m connlimit --connlimit-above 1 -j DROP')).get(client), undefined);
        assert.equal((await ct.countFor('-p tcp --dport 7102 -m connlimit --connlimit-above 1 -j DROP')).get(client), { count: 1, limit: 1, headroom: 0 });
        await ct.close();
        await raw.close();
      } finally {
        await peer.exit();
      }
    }));

  test(`${backend}: NFQUEUE with no reader drops the handshake; --queue-bypass lets it through`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      try {
        for (const port of [7201, 7202]) await peer.listen(port, '127.0.0.1');
        const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.name });
        await fw.append('INPUT', '-p tcp --dport 7201 -j NFQUEUE --queue-num 7 --queue-bypass');
        await fw.append('INPUT', { protocol: 'tcp', dport: 7202, target: { kind: 'nfqueue', queue: 8 } });
        const from = { localAddress: '127.0.6.20', host: '127.0.0.1' };
        assert.equal(results(await peer.connectMany(1, { ...from, port: 7201 })), ['ok']);
        assert.equal(results(await peer.connectMany(1, { ...from, port: 7202, timeoutMs: 500 })), ['timeout']);
        const counters = (await fw.list('INPUT')).map((r) => r.packets > 0n);
        assert.equal(counters, [true, true], 'both rules saw the SYN');
        await fw.close();
      } finally {
        await peer.exit();
      }
    }));
}

test.run();
