// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 4: a watch's counts converge to the kernel's for flows the events never report on,
// at the stock nf_conntrack_events=2 (flows older than the watch send no DESTROY,
// NETFILTER-NOTES.md §12) and at nf_conntrack_events=0 (nothing is reported: the watch polls).
// Real loopback TCP in throwaway namespaces; `conntrack -L` is the oracle.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Conntrack, Firewall, type ConntrackWatch } from '../src/index';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';

const lockPath = join(tmpdir(), `connlimit-test-46-${process.pid}.lock`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `ok` every 50 ms for up to `boundMs`; returns whether it held. */
async function waitFor(ok: () => boolean | Promise<boolean>, boundMs: number): Promise<boolean> {
  const end = Date.now() + boundMs;
  for (;;) {
    if (await ok()) return true;
    if (Date.now() > end) return false;
    await sleep(50);
  }
}

async function sysctl(ns: Netns, value?: number): Promise<number> {
  if (value !== undefined) await ns.run('sysctl', ['-q', '-w', `net.netfilter.nf_conntrack_events=${value}`]);
  return Number((await ns.run('sysctl', ['-n', 'net.netfilter.nf_conntrack_events'])).stdout.trim());
}

async function cliCount(ns: Netns, args: string[]): Promise<number> {
  const r = await ns.exec('conntrack', ['-L', ...args]);
  return r.stdout.split('\n').filter((l) => l.includes('src=')).length;
}

async function expectCount(watch: ConntrackWatch, key: string, want: number, boundMs: number, what: string): Promise<void> {
  const ok = await waitFor(() => watch.count(key) === want, boundMs);
  assert.ok(ok, `${what}: count(${key}) is ${watch.count(key)}, expected ${want} within ${boundMs} ms (stats ${JSON.stringify(watch.stats())})`);
}

test('stock sysctl: flows open before the watch are counted down when they close, below fires, and the checks stop once none is left', () =>
  withNetns(async (ns) => {
    assert.is(await sysctl(ns), 2, 'the namespace has the kernel default');
    const rule = '-p tcp --syn --dport 2222 -m connlimit --connlimit-above 3 -j REJECT --reject-with tcp-reset';
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath });
    const peer = await startPeer(ns);
    const ct = await Conntrack.open({ netns: ns.name });
    let watch: ConntrackWatch | undefined;
    try {
      await fw.append('INPUT', rule); // conntrack on in the namespace, as on any host using connlimit
      await peer.listen(2222, '127.0.0.1');
      const opened = await peer.connectMany(3, { host: '127.0.0.1', port: 2222, localAddress: '127.0.0.5' });
      assert.equal(opened.map((o) => o.result), ['ok', 'ok', 'ok']);

      const w = (watch = ct.watchFor(rule, { threshold: 2 }));
      const crossings: string[] = [];
      watch.on('above', (c) => crossings.push(`above ${c.key} ${c.count}`));
      watch.on('below', (c) => crossings.push(`below ${c.key} ${c.count}`));
      await watch.ready;
      assert.is(watch.count('127.0.0.5'), 3);
      assert.is(watch.stats().mode, 'events');

      await peer.closeAll(); // FIN: TIME_WAIT, which connlimit does not count
      await ns.run('conntrack', ['-D', '-s', '127.0.0.5']);
      assert.is(await cliCount(ns, ['-s', '127.0.0.5']), 0, 'the kernel holds none');
      // The default check runs every 1000 ms: two periods and a dump, with room for a loaded machine.
      await expectCount(watch, '127.0.0.5', 0, 10_000, 'old flows closed');
      // One fall below the threshold: in one step from a dump (0), or at the first DESTROY (2)
      // when some other listener on the host had the kernel attach events to those flows.
      assert.is(crossings.length, 2, crossings.join(', '));
      assert.is(crossings[0], 'above 127.0.0.5 3');
      assert.match(crossings[1] as string, /^below 127\.0\.0\.5 [0-2]$/);
      const countFor = await ct.countFor(rule);
      assert.is(countFor.get('127.0.0.5')?.count ?? 0, 0, 'countFor agrees');
      assert.ok(await waitFor(() => w.stats().unconfirmed === 0, 5000), `unconfirmed ${watch.stats().unconfirmed}`);

      // New flows report their own end: the watch follows them without dumping.
      const reconciles = watch.stats().reconciles;
      const fresh = await peer.connectMany(2, { host: '127.0.0.1', port: 2222, localAddress: '127.0.0.6' });
      await expectCount(watch, '127.0.0.6', 2, 10_000, 'new flows');
      for (const f of fresh) await peer.closeClient(f.id as number, { reset: true });
      await expectCount(watch, '127.0.0.6', 0, 10_000, 'new flows closed');
      assert.is(watch.stats().unconfirmed, 0);
      assert.is(watch.stats().reconciles, reconciles, 'no dump while every counted flow reports its own end');
    } finally {
      await watch?.close();
      await ct.close();
      await fw.close();
      await peer.exit();
    }
  }));

test('nf_conntrack_events=0: the watch says it polls, and its counts follow opens and closes at reconcileMs', () =>
  withNetns(async (ns) => {
    assert.is(await sysctl(ns, 0), 0);
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath });
    const peer = await startPeer(ns);
    const ct = await Conntrack.open({ netns: ns.name });
    let watch: ConntrackWatch | undefined;
    try {
      await fw.append('INPUT', '-p tcp --syn --dport 2223 -m connlimit --connlimit-above 100 -j ACCEPT');
      await peer.listen(2223, '127.0.0.1');
      const w = (watch = ct.watch({ protocol: 'tcp', dport: 2223, state: 'ESTABLISHED', reconcileMs: 200 }));
      await watch.ready;
      assert.is(watch.stats().mode, 'poll');
      const conns = await peer.connectMany(4, { host: '127.0.0.1', port: 2223, localAddress: '127.0.0.7' });
      await expectCount(watch, '127.0.0.7', 4, 10_000, 'opened while polling');
      assert.is(watch.stats().events, 0, 'the kernel reported nothing');
      for (const c of conns.slice(0, 3)) await peer.closeClient(c.id as number);
      await expectCount(watch, '127.0.0.7', 1, 10_000, 'closed while polling');
      assert.is(await cliCount(ns, ['-p', 'tcp', '--dport', '2223', '--state', 'ESTABLISHED']), 1);
      assert.ok(watch.stats().reconciles >= 2);
      assert.ok(watch.stats().reconcileBytes > 0);

      // Back to the default: the watch notices at its next check and trusts events again.
      await sysctl(ns, 2);
      assert.ok(await waitFor(() => w.stats().mode === 'events', 10_000), 'mode back to events');
    } finally {
      await watch?.close();
      await ct.close();
      await fw.close();
      await peer.exit();
    }
  }));

test('reconcileMs is validated before anything starts', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      for (const bad of [0, 99, 3_600_001, 1.5, '1000']) {
        let code = '';
        try {
          ct.watch({ reconcileMs: bad as never });
        } catch (e) {
          code = (e as { code?: string }).code ?? '';
        }
        assert.is(code, 'ERR_CONNLIMIT_INVALID', `reconcileMs ${String(bad)}`);
        try {
          ct.watchFor('-p tcp --dport 1 -m connlimit --connlimit-above 1 -j DROP', { reconcileMs: bad as never });
          code = '';
        } catch (e) {
          code = (e as { code?: string }).code ?? '';
        }
        assert.is(code, 'ERR_CONNLIMIT_INVALID', `watchFor reconcileMs ${String(bad)}`);
      }
    } finally {
      await ct.close();
    }
  }));

test.run();
