// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: `-m recent` does what the classic SSH brute-force pair says, on legacy and on nft.
// Real TCP connections on loopback inside a throwaway namespace; the kernel's own list
// (/proc/net/xt_recent/NAME in the namespace) is the oracle for what was recorded.
//
// The semantics checked (xt_recent, recent_mt): the first rule `--set` records a timestamp for
// every new connection's source and does not decide anything; the second `--update --seconds 60
// --hitcount 4` matches once the source has 4 timestamps within 60 s, and (as a matching
// --update) records one more. With --set first, the new connection that brings the count to 4
// is already refused: connections 1-3 get in, the 4th and every later one within the minute are
// refused, and another source keeps its own count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer, type ConnectOutcome } from './helpers/tcp';

const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);

/** The entry of `src` in the namespace's recent list `name`: how many timestamps it holds. */
async function recorded(ns: Netns, name: string, src: string): Promise<number | undefined> {
  const r = await ns.run('cat', [`/proc/net/xt_recent/${name}`]);
  const line = r.stdout.split('\n').find((l) => l.startsWith(`src=${src} `));
  // "src=127.0.7.1 ttl: 64 last_seen: 4295 oldest_pkt: 4 4294, 4295, ..." : the stamps follow oldest_pkt.
  const stamps = line?.split('oldest_pkt:')[1]?.trim().split(' ').slice(1);
  return stamps?.length;
}

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: --set then --update --seconds 60 --hitcount 4 refuses the 4th and 5th new connection in a minute, per source`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      try {
        await peer.listen(7222, '127.0.0.1');
        const fw = await Firewall.open({ backend, netns: ns.name });
        await fw.append('INPUT', '-p tcp --dport 7222 -m conntrack --ctstate NEW -m recent --set --name SSH');
        await fw.append('INPUT', {
          protocol: 'tcp',
          dport: 7222,
          matches: [
            { kind: 'conntrack', state: ['NEW'] },
            { kind: 'recent', command: 'update', seconds: 60, hitCount: 4, name: 'SSH' },
          ],
          target: { kind: 'reject', with: 'tcp-reset' },
        });
        const saved = (await ns.run(backend === 'legacy' ? 'iptables-legacy-save' : 'iptables-nft-save', ['-t', 'filter'])).stdout;
        assert.match(saved, '-A INPUT -p tcp -m tcp --dport 7222 -m conntrack --ctstate NEW -m recent --set --name SSH --mask 255.255.255.255 --rsource\n');
        assert.match(saved, '-m recent --update --seconds 60 --hitcount 4 --name SSH --mask 255.255.255.255 --rsource -j REJECT --reject-with tcp-reset\n');

        const a = { host: '127.0.0.1', port: 7222, localAddress: '127.0.7.1' };
        assert.equal(results(await peer.connectMany(3, a)), ['ok', 'ok', 'ok']);
        assert.is(await recorded(ns, 'SSH', '127.0.7.1'), 3);
        assert.equal(results(await peer.connectMany(2, a)), ['refused', 'refused']);
        // Each refused SYN was recorded twice: by --set, and by the --update that matched it.
        assert.is(await recorded(ns, 'SSH', '127.0.7.1'), 7);
        // Open connections are not new ones: the three that got in are unaffected.
        assert.is((await peer.stats()).clients, 3);
        // Another source has its own entry.
        const b = { host: '127.0.0.1', port: 7222, localAddress: '127.0.7.2' };
        assert.equal(results(await peer.connectMany(4, b)), ['ok', 'ok', 'ok', 'refused']);
        await fw.close();
      } finally {
        await peer.exit();
      }
    }));
}

test('legacy: ! --rcheck inverts the test (matches sources not on the list)', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7223, '127.0.0.1');
      const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
      // Only sources already on ALLOW get in; 127.0.8.1 is put there by a rule on another port.
      await fw.append('INPUT', '-p tcp --dport 7224 -m recent --set --name ALLOW -j REJECT --reject-with tcp-reset');
      await fw.append('INPUT', '-p tcp --dport 7223 -m recent ! --rcheck --name ALLOW -j REJECT --reject-with tcp-reset');
      assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port: 7223, localAddress: '127.0.8.1' })), ['refused']);
      assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port: 7224, localAddress: '127.0.8.1' })), ['refused']);
      assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port: 7223, localAddress: '127.0.8.1' })), ['ok']);
      assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port: 7223, localAddress: '127.0.8.2' })), ['refused']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test.run();
