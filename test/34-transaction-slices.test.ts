// SPDX-License-Identifier: GPL-2.0-or-later
// Transactions are prepared in slices (src/op-slices.ts) on both backends: the event loop runs
// while thousands of rules are parsed and converted, a bad rule still rejects before anything
// reaches the kernel, calls still commit in the order they were made, and a one-op call reads
// its rule at once; fw.restore() keeps its place in the queue while it parses, and its batch
// copies the rules packed while parsing. Every kernel test in a throwaway namespace; the
// backend is always named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, type Backend } from '../src/index';
import type { NativeOp } from '../src/native-types';
import { OpWriter, packOps } from '../src/op-pack';
import { SLICE_MS, prepareOps } from '../src/op-slices';
import { restoreBatch } from '../src/restore/rule-lines';
import { toNativeRule } from '../src/rule/index';
import { rejects } from './helpers/assert';
import { withNetns } from './helpers/netns';

const rule = (i: number) => `-s 10.${(i >> 8) & 255}.${i & 255}.0/24 -p tcp --dport 22 -m connlimit --connlimit-above 4 -j REJECT`;

for (const backend of ['legacy', 'nft'] as Backend[]) {
  test(`${backend}: a transaction yields to the event loop while it prepares, and a bad last rule rejects it with nothing applied`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.path });
      await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
      const n = 20000;
      let turned = false;
      setImmediate(() => (turned = true));
      const e = await rejects(
        fw.transaction((tx) => {
          for (let i = 0; i < n - 1; i++) tx.append('INPUT', rule(i));
          tx.append('INPUT', '-p tcp --dport 70000 -j DROP');
        }),
        'ERR_CONNLIMIT_INVALID',
      );
      // Rejected only after the loop had turned: preparing 20k rules was not one stretch.
      assert.ok(turned, 'a setImmediate queued before the call ran before the rejection');
      assert.match(e.message, `[transaction step ${n} of ${n}: append INPUT]`);
      assert.equal(
        (await fw.list('INPUT')).map((r) => r.text),
        ['-A INPUT -p tcp -m tcp --dport 1 -j DROP'],
      );
      await fw.close();
    }));

  test(`${backend}: calls commit in call order, a sliced transaction included`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.path });
      const n = 3000;
      // Not awaited in between: the two calls after the transaction finish preparing first.
      const big = fw.transaction((tx) => {
        for (let i = 0; i < n; i++) tx.append('INPUT', rule(i));
      });
      const after = fw.append('INPUT', '-p tcp --dport 2 -j DROP');
      const first = fw.insert('INPUT', 1, '-p tcp --dport 3 -j DROP');
      await Promise.all([big, after, first]);
      const texts = (await fw.list('INPUT')).map((r) => r.text);
      assert.is(texts.length, n + 2);
      assert.is(texts[0], '-A INPUT -p tcp -m tcp --dport 3 -j DROP');
      assert.is(texts[n + 1], '-A INPUT -p tcp -m tcp --dport 2 -j DROP');
      assert.is(texts[1], `-A INPUT -s 10.0.0.0/24 -p tcp -m tcp --dport 22 -m connlimit --connlimit-above 4 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable`);
      await fw.close();
    }));

  test(`${backend}: a one-op call reads a rule object before it returns`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.path });
      const spec = { protocol: 'tcp' as const, dport: 80, target: { kind: 'drop' as const } };
      const done = fw.append('INPUT', spec);
      spec.dport = 81;
      await done;
      assert.equal(
        (await fw.list('INPUT')).map((r) => r.text),
        ['-A INPUT -p tcp -m tcp --dport 80 -j DROP'],
      );
      await fw.close();
    }));
  test(`${backend}: fw.restore() joins the queue when called: a call made while its rules are parsed commits after it; a refused last line rejects with nothing applied`, () =>
    withNetns(async (ns) => {
      const fw = await Firewall.open({ family: 'ipv4', backend, netns: ns.path });
      const lines = Array.from({ length: 5000 }, (_, i) => `-A INPUT ${rule(i)}`);
      const text = ['*filter', ':INPUT ACCEPT [0:0]', ...lines, 'COMMIT', ''].join('\n');
      const restored = fw.restore(text);
      const after = fw.append('INPUT', '-p tcp --dport 2 -j DROP');
      await Promise.all([restored, after]);
      const listed = await fw.list('INPUT');
      assert.is(listed.length, 5001);
      assert.is(listed[5000]?.text, '-A INPUT -p tcp -m tcp --dport 2 -j DROP', 'the append made after restore() was not flushed by it');
      const bad = text.replace('COMMIT', '-A INPUT -p tcp --dport 70000 -j DROP\nCOMMIT');
      const e = await rejects(fw.restore(bad), 'ERR_CONNLIMIT_INVALID');
      assert.match(e.message, /line 5003/);
      assert.is((await fw.list('INPUT')).length, 5001, 'nothing was applied');
      await fw.close();
    }));
}

test('legacy: the time the transaction function took counts against the first slice: after a long one, the loop turns before the second rule is read', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ family: 'ipv4', backend: 'legacy', netns: ns.path });
    let turned = false;
    let turnedWhenRead: boolean | null = null;
    const second = { protocol: 'tcp' as const, target: { kind: 'drop' as const } } as { protocol: 'tcp'; dport?: number; target: { kind: 'drop' } };
    Object.defineProperty(second, 'dport', { enumerable: true, get: () => ((turnedWhenRead ??= turned), 2) });
    await fw.transaction((tx) => {
      setImmediate(() => (turned = true));
      // Longer than a slice (SLICE_MS), spent inside the call before its first slice.
      const until = performance.now() + 2 * SLICE_MS;
      while (performance.now() < until);
      tx.append('INPUT', '-p tcp --dport 1 -j DROP');
      tx.append('INPUT', second);
    });
    assert.is(turnedWhenRead, true, 'the second rule was read after a turn of the loop');
    assert.equal(
      (await fw.list('INPUT')).map((r) => r.text),
      ['-A INPUT -p tcp -m tcp --dport 1 -j DROP', '-A INPUT -p tcp -m tcp --dport 2 -j DROP'],
    );
    await fw.close();
  }));

test('a batch prepared in several slices is handed over in a turn of its own (the addon copies it when the commit is called); one of a single slice at once', async () => {
  const flush: NativeOp = { op: 'flush', chain: 'INPUT' };
  for (const [label, slow, handedInATurn] of [['several slices', true, true], ['one slice', false, false]] as const) {
    let turned = false;
    const count = 4;
    const batch = await prepareOps('ipv4', count, (i) => {
      // Each op a whole slice long: the loop turns between any two.
      const until = performance.now() + (slow ? SLICE_MS : 0);
      while (performance.now() < until);
      if (i === count - 1) setImmediate(() => (turned = true));
      return flush;
    });
    assert.equal(batch, packOps('ipv4', Array.from({ length: count }, () => flush)), label);
    assert.is(turned, handedInATurn, `${label}: a setImmediate queued by the last op ran before the batch was handed over`);
  }
});

test("restore batch: the plan's own ops, with the appends packed while parsing copied in between, are the bytes of the same ops packed one by one", () => {
  const appends = Array.from({ length: 7 }, (_, i): NativeOp => ({ op: 'append', chain: i < 4 ? 'INPUT' : 'LIMITS', rule: toNativeRule(rule(i), 'ipv4') }));
  const packed = new OpWriter('ipv4', appends.length);
  const offsets = new Uint32Array(appends.length + 1);
  appends.forEach((op, i) => {
    offsets[i] = packed.length;
    packed.add(op);
  });
  offsets[appends.length] = packed.length;
  const one = (op: NativeOp | number): NativeOp => (typeof op === 'number' ? (appends[op] as NativeOp) : op);
  const plans: (NativeOp | number)[][] = [
    [{ op: 'flush', chain: null }, { op: 'setPolicy', chain: 'FORWARD', policy: 'DROP' }, 0, 1, { op: 'createChain', chain: 'LIMITS' }, 2, 3, 4, { op: 'flush', chain: 'OTHER' }, 5, 6],
    [0, 1, 2, 3, 4, 5, 6],
    [{ op: 'flush', chain: null }],
    // Rules out of their order: no plan makes one, but the copy must not assume it.
    [3, { op: 'flush', chain: null }, 0, 2, 1, 1],
  ];
  for (const plan of plans) assert.equal(Buffer.from(restoreBatch('ipv4', plan, { writer: packed, offsets })), Buffer.from(packOps('ipv4', plan.map(one))));
});

test.run();
