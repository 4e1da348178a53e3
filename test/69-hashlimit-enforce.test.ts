// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: `-m hashlimit` on the native nftables form (iptables-translate 1.8.9's meter, in the
// subset where it means what hashlimit means: docs/modules.md) limits as xt_hashlimit does on
// legacy, side by side, with real TCP connections on loopback inside a throwaway namespace each.
// What is compared, per backend: within the window the burst's connections get in and the
// next one is refused; another source (or another port, in a port mode) has a bucket of its
// own; once the source's entry has expired (the kernel's own table is the oracle:
// /proc/net/ipt_hashlimit/NAME on legacy, `nft list meter` on the native form) its state is
// fresh, the burst again. The rate is 1/min, so no token comes back while the test runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, Sets } from '../src/index';
import { rejects } from './helpers/assert';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer, type ConnectOutcome } from './helpers/tcp';
import { until } from './helpers/until';

const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);

/** The kernel's hashlimit table `name`, as text: xt_hashlimit's /proc file, or our meter. */
async function table(ns: Netns, backend: 'legacy' | 'nftables', name: string): Promise<string> {
  if (backend === 'legacy') return (await ns.run('cat', [`/proc/net/ipt_hashlimit/${name}`])).stdout;
  return (await ns.run('nft', ['list', 'meter', 'ip', 'connlimit', name])).stdout;
}

for (const backend of ['legacy', 'nftables'] as const) {
  test(`${backend}: --hashlimit-above 1/min --hashlimit-burst 2 per source: the 3rd connection is refused, another source counts apart, after the expiry the source starts fresh`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        await peer.listen(7230, '127.0.0.1');
        const line =
          '-p tcp --syn --dport 7230 -m hashlimit --hashlimit-above 1/min --hashlimit-burst 2 --hashlimit-mode srcip --hashlimit-name h7230 --hashlimit-htable-expire 2000 -j REJECT --reject-with tcp-reset';
        await fw.append('INPUT', line);
        const [listed] = await fw.list('INPUT');
        assert.is(listed!.text, `-A INPUT ${line.replace('-p tcp --syn --dport 7230', '-p tcp -m tcp --dport 7230 --tcp-flags FIN,SYN,RST,ACK SYN')}`);
        const a = { host: '127.0.0.1', port: 7230, localAddress: '127.0.8.1' };
        assert.equal(results(await peer.connectMany(3, a)), ['ok', 'ok', 'refused']);
        assert.equal(results(await peer.connectMany(3, { ...a, localAddress: '127.0.8.2' })), ['ok', 'ok', 'refused']);
        assert.match(await table(ns, backend, 'h7230'), '127.0.8.1');
        // Idle for the expiry (2 s; xt_hashlimit's collector runs every second after it): the entry goes.
        await until("127.0.8.1's entry to expire", async () => !(await table(ns, backend, 'h7230')).includes('127.0.8.1'), 15_000);
        assert.equal(results(await peer.connectMany(3, a)), ['ok', 'ok', 'refused']);
        assert.ok(await fw.check('INPUT', line));
        assert.is(await fw.delete('INPUT', line), 1);
        assert.equal(await fw.list('INPUT'), []);
      } finally {
        await fw.close();
        await peer.exit();
      }
    }));

  test(`${backend}: --hashlimit-mode srcip,dstport with -p tcp keeps a bucket per source and port`, () =>
    withNetns(async (ns) => {
      const peer = await startPeer(ns);
      const fw = await Firewall.open({ backend, netns: ns.name });
      try {
        for (const port of [7231, 7232]) await peer.listen(port, '127.0.0.1');
        await fw.append(
          'INPUT',
          '-p tcp --syn -m hashlimit --hashlimit-upto 1/hour --hashlimit-burst 1 --hashlimit-mode srcip,dstport --hashlimit-srcmask 24 --hashlimit-name hp --hashlimit-htable-expire 60000 -j DROP',
        );
        // upto: the first SYN of each bucket (source /24 and port) matches, and is dropped; the
        // client's retry a second later exceeds the rate, no longer matches, and gets in. The
        // rule's packet counter tells how many SYNs it matched: one per bucket.
        const matched = async () => (await fw.list('INPUT'))[0]!.packets;
        const at = (port: number, localAddress: string) => ({ host: '127.0.0.1', port, localAddress, timeoutMs: 10_000 });
        assert.equal(results(await peer.connectMany(1, at(7231, '127.0.9.1'))), ['ok']);
        assert.is(await matched(), 1n);
        assert.equal(results(await peer.connectMany(1, at(7232, '127.0.9.1'))), ['ok']);
        assert.is(await matched(), 2n, 'another port: a bucket of its own');
        assert.equal(results(await peer.connectMany(1, at(7231, '127.0.9.77'))), ['ok']);
        assert.is(await matched(), 2n, 'the same /24 and port: the spent bucket');
        assert.equal(results(await peer.connectMany(1, at(7231, '127.0.10.1'))), ['ok']);
        assert.is(await matched(), 3n, 'another /24: a bucket of its own');
      } finally {
        await fw.close();
        await peer.exit();
      }
    }));
}

test('nftables: where the meter would mean another rule, a typed error names the option, and the kernel is untouched', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      const base = '--hashlimit-mode srcip --hashlimit-name r';
      for (const [opts, why] of [
        [`--hashlimit-upto 50/sec ${base}`, /an expiry of 1000 ms .*entries never expire/],
        [`--hashlimit-upto 5/min ${base} --hashlimit-htable-expire 1000`, /an expiry of 1000 ms/],
        [`--hashlimit-upto 5/min ${base} --hashlimit-htable-expire 1500`, /--hashlimit-htable-expire 1500: the translation cuts it to whole seconds/],
        [`--hashlimit-upto 5/min ${base} --hashlimit-htable-size 64`, /--hashlimit-htable-size: the translation drops it/],
        [`--hashlimit-upto 5/min ${base} --hashlimit-htable-max 64`, /--hashlimit-htable-max: the translation drops it/],
        [`--hashlimit-upto 5/min ${base} --hashlimit-htable-gcinterval 500`, /--hashlimit-htable-gcinterval: the translation drops it/],
        [`--hashlimit-upto 5/min ${base} --hashlimit-rate-match`, /--hashlimit-rate-match/],
        [`--hashlimit-upto 4kb/s ${base}`, /a byte rate/],
        ['--hashlimit-upto 5/min --hashlimit-name r', /no --hashlimit-mode/],
        [`--hashlimit-upto 5/min ${base} --hashlimit-dstmask 24`, /--hashlimit-dstmask without its address in --hashlimit-mode/],
        [`--hashlimit-upto 5/min ${base} --hashlimit-srcmask 0`, /--hashlimit-srcmask 0/],
        // print_rate renders this avg as 250/min, which nft would keep as another avg.
        [`--hashlimit-upto 360001/day ${base}`, /prints it as 250\/min, another rate/],
        ['--hashlimit-upto 5/min --hashlimit-mode srcip,dstport --hashlimit-name r', /srcport\/dstport without -p tcp/],
        ['-p udp --hashlimit-upto 5/min --hashlimit-mode dstport --hashlimit-name r', /srcport\/dstport without -p tcp/],
      ] as const) {
        const line = opts.startsWith('-p ') ? `${opts.slice(0, 7)}-m hashlimit ${opts.slice(7)} -j DROP` : `-m hashlimit ${opts} -j DROP`;
        const e = await rejects(fw.append('INPUT', line), (x) => x.code === 'ERR_CONNLIMIT_INVALID', line);
        assert.match(e.message, /match hashlimit is not available in the native nftables form/, line);
        assert.match(e.message, why, line);
      }
      assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '');
    } finally {
      await fw.close();
    }
  }));

test('nftables: one meter per --hashlimit-name per table: a second is ERR_CONNLIMIT_INVALID naming it, before the kernel, in one transaction or beside a rule there', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const metered = (name: string, port: number, rate = '5/min') =>
      `-p tcp --syn --dport ${port} -m hashlimit --hashlimit-above ${rate} --hashlimit-mode srcip --hashlimit-name ${name} --hashlimit-htable-expire 60000 -j DROP`;
    const ruleset = async () => (await ns.run('nft', ['list', 'ruleset'])).stdout;
    const refused = async (work: Promise<unknown>, name: string, what: string) => {
      const e = await rejects(work, (x) => x.code === 'ERR_CONNLIMIT_INVALID', what);
      assert.match(e.message, new RegExp(`--hashlimit-name '${name}' is the name of another set in that table`), what);
      assert.match(e.message, /one of a name per table.*backend 'legacy' or 'nft'/, what);
    };
    try {
      await fw.append('INPUT', metered('m1', 1001));
      const before = await ruleset();
      // A rule whose meter name the table holds: in another chain of the table too.
      await refused(fw.append('INPUT', metered('m1', 1002)), 'm1', 'append beside it');
      await refused(fw.insert('OUTPUT', 1, metered('m1', 1003)), 'm1', 'insert in another chain');
      // The kernel would refuse a replace by one of the same name (its meter is still there).
      await refused(fw.replace('INPUT', 1, metered('m1', 1001, '7/min')), 'm1', 'replace');
      // Two rules of one transaction.
      await refused(
        fw.transaction((tx) => {
          tx.append('INPUT', metered('m2', 1004));
          tx.append('FORWARD', metered('m2', 1005));
        }),
        'm2',
        'two in one transaction',
      );
      assert.is(await ruleset(), before, 'nothing written');
      // A client set of the table (Sets on the native form) is a set of that name too.
      const sets = await Sets.open({ backend: 'nftables', netns: ns.name });
      try {
        await sets.create('vip', { type: 'hash:ip' });
      } finally {
        await sets.close();
      }
      const withSet = await ruleset();
      await refused(fw.append('INPUT', metered('vip', 1008)), 'vip', 'a client set of the name');
      assert.is(await ruleset(), withSet, 'nothing written');

      // What the kernel takes: delete and insert of one name in one transaction, a replace of a
      // rule not yet sent, and other names.
      await fw.transaction((tx) => {
        tx.delete('INPUT', metered('m1', 1001));
        tx.append('INPUT', metered('m1', 1001, '7/min'));
        tx.append('INPUT', metered('m3', 1006));
        tx.replace('INPUT', 2, metered('m3', 1006, '9/min'));
        tx.append('OUTPUT', metered('m4', 1007));
      });
      const after = await ruleset();
      assert.match(after, /meter m1 .*limit rate over 7\/minute/);
      assert.match(after, /meter m3 .*limit rate over 9\/minute/);
      assert.match(after, /meter m4 /);
      assert.is((after.match(/meter m1 /g) ?? []).length, 1);
    } finally {
      await fw.close();
    }
  }));

test.run();
