// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the native nftables form's session cache (backend 'nftables') against the real
// kernel, each test in a throwaway namespace with `nft list` as the oracle. While nobody else
// commits, a lone update is one batch that reads nothing (the handle's socket counts prove it);
// every op gives what a handle with nothing cached gives; a commit by another program makes
// the kernel refuse our cached batch and the call is planned again from a fresh read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import type { NativeNftablesTable } from '../src/native-types';
import { withNetns, type Netns } from './helpers/netns';
import { RuleMemo } from '../src/apply/desired';
import { rejects } from './helpers/assert';
import { toNativeRule } from '../src/rule/index';

type Counts = { requests: number; dumps: number; batches: number };

const limited = (port: number, tag: string) => `-p tcp --dport ${port} -m connlimit --connlimit-above 3 -m comment --comment ${tag} -j DROP`;
const plain = (port: number) => `-p udp --dport ${port} -j DROP`;
const open = (ns: Netns) => Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.path, lockTimeoutMs: 20_000 });
const io = (fw: Firewall) => (fw as unknown as { native: NativeNftablesTable }).native._ioCounts();
const ruleset = async (ns: Netns) => (await ns.run('nft', ['list', 'ruleset'])).stdout;
const count = (text: string, re: RegExp) => text.match(re)?.length ?? 0;

/** What `call` made the handle's socket send. */
async function sent(fw: Firewall, call: () => Promise<unknown>): Promise<Counts> {
  const before = await io(fw);
  await call();
  const after = await io(fw);
  return { requests: after.requests - before.requests, dumps: after.dumps - before.dumps, batches: after.batches - before.batches };
}

const ONE_BATCH: Counts = { requests: 0, dumps: 0, batches: 1 };

test('with a current cache, a lone append, insert, replace or delete (by spec or position) is one batch and reads nothing', () =>
  withNetns(async (ns) => {
    const fw = await open(ns);
    try {
      await fw.append('INPUT', limited(1, 'a'));  // cold: reads which tables exist, then caches
      assert.equal(await sent(fw, () => fw.append('INPUT', limited(2, 'b'))), ONE_BATCH);
      assert.equal(await sent(fw, () => fw.append('INPUT', plain(3))), ONE_BATCH);
      assert.equal(await sent(fw, () => fw.insert('INPUT', 2, limited(4, 'd'))), ONE_BATCH);
      assert.equal(await sent(fw, () => fw.replace('INPUT', 1, limited(5, 'e'))), ONE_BATCH);
      let at = 0;
      assert.equal(await sent(fw, async () => { at = await fw.delete('INPUT', limited(2, 'b')); }), ONE_BATCH);
      assert.is(at, 3);
      assert.equal(await sent(fw, () => fw.delete('INPUT', 1)), ONE_BATCH);
      // A check and an ensure that finds its rule commit nothing: one GETGEN tells the cache is current.
      assert.equal(await sent(fw, () => fw.check('INPUT', plain(3))), { requests: 1, dumps: 0, batches: 0 });
      assert.equal(await sent(fw, () => fw.ensure('INPUT', plain(3))), { requests: 1, dumps: 0, batches: 0 });
      const text = await ruleset(ns);
      const rules = text.split('\n').filter((l) => /^\t\t(ip|meta|udp|tcp) /.test(l));
      assert.is(rules.length, 2);
      assert.match(rules[0] ?? '', /dport 4 .*comment "d"/);
      assert.match(rules[1] ?? '', /udp dport 3 /);
      // Every set went with its rule: the two left are d's and none other.
      assert.is(count(text, /\tset connlimit\d+ \{/g), 1);
    } finally {
      await fw.close();
    }
  }));

test('rules written by another handle are read once: the first delete dumps our chain, later ones read nothing', () =>
  withNetns(async (ns) => {
    const writer = await open(ns);
    // 620 rules: connlimit holds 500, connlimit_1 the rest (appends open the next table at 500).
    await writer.transaction((tx) => {
      for (let i = 0; i < 620; i++) tx.append('INPUT', i % 2 ? plain(i + 1) : limited(i + 1, `w${i}`));
    });
    await writer.close();
    const fw = await open(ns);
    try {
      await fw.append('INPUT', limited(9001, 'x'));  // cold: the table list and the last table's chains, no rules
      const first = await sent(fw, () => fw.delete('INPUT', limited(1, 'w0')));
      assert.is(first.batches, 1);
      // Our chain in each of the two tables, and the chains of the first (its rule count: a
      // table a delete empties goes in the same batch).
      assert.is(first.dumps, 3);
      assert.equal(await sent(fw, () => fw.delete('INPUT', limited(601, 'w600'))), ONE_BATCH);
      assert.equal(await sent(fw, () => fw.delete('INPUT', 600)), ONE_BATCH);
      assert.equal(await sent(fw, () => fw.append('INPUT', limited(9002, 'y'))), ONE_BATCH);
      assert.equal(await sent(fw, () => fw.delete('INPUT', limited(9001, 'x'))), ONE_BATCH);
      const rules = await fw.list('INPUT');
      assert.is(rules.length, 618);
      const text = await ruleset(ns);
      assert.is(count(text, /comment "w0"|comment "w600"|comment "x"/g), 0);
      assert.is(count(text, /comment "y"/g), 1);
      // One set for each connlimit rule left: 310 of the writer's less 2, and y's.
      assert.is(count(text, /\tset connlimit\d+ \{/g), 309);
    } finally {
      await fw.close();
    }
  }));

/** A small deterministic generator, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Step = { op: string; run: (fw: Firewall) => Promise<unknown> };

function steps(n: number, seed = 17, ruleOf?: (pick: (k: number) => number) => string): Step[] {
  const r = rng(seed);
  const pick = (k: number) => Math.floor(r() * k);
  const anyRule = () => (ruleOf ? ruleOf(pick) : pick(3) === 0 ? plain(40 + pick(6)) : limited(40 + pick(6), `k${pick(3)}`));
  const out: Step[] = [];
  for (let i = 0; i < n; i++) {
    const x = pick(100);
    const rule = anyRule();
    const pos = 1 + pick(600);
    if (x < 45) out.push({ op: `append ${rule}`, run: (fw) => fw.append('INPUT', rule) });
    else if (x < 55) out.push({ op: `insert ${pos} ${rule}`, run: (fw) => fw.insert('INPUT', pos, rule) });
    else if (x < 62) out.push({ op: `replace ${pos} ${rule}`, run: (fw) => fw.replace('INPUT', pos, rule) });
    else if (x < 77) out.push({ op: `delete ${rule}`, run: (fw) => fw.delete('INPUT', rule) });
    else if (x < 90) out.push({ op: `delete ${pos}`, run: (fw) => fw.delete('INPUT', pos) });
    else if (x < 97) out.push({ op: `ensure ${rule}`, run: (fw) => fw.ensure('INPUT', rule) });
    else if (x < 99) out.push({ op: `check ${rule}`, run: (fw) => fw.check('INPUT', rule) });
    else out.push({ op: 'flush INPUT', run: (fw) => fw.flush('INPUT') });
  }
  return out;
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    (v) => `ok ${JSON.stringify(v)}`,
    (e: { code?: string }) => `error ${e.code}`,
  );

test('every op gives what it gives with nothing cached: one handle against a fresh handle per op, across two tables', () =>
  withNetns(async (cachedNs) =>
    withNetns(async (freshNs) => {
        // 495 rules to start: appends cross into connlimit_1 along the way, deletes take them back.
        for (const ns of [cachedNs, freshNs]) {
          const fw = await open(ns);
          await fw.transaction((tx) => {
            for (let i = 0; i < 495; i++) tx.append('INPUT', i % 3 ? plain(i + 100) : limited(40 + (i % 6), `k${i % 3}`));
          });
          await fw.close();
        }
        const cached = await open(cachedNs);
        try {
          const script = steps(160);
          for (const [i, s] of script.entries()) {
            const mine = await outcome(s.run(cached));
            const fresh = await open(freshNs);
            const theirs = await outcome(s.run(fresh));
            await fresh.close();
            assert.is(mine, theirs, `step ${i}: ${s.op}`);
          }
          assert.is(await ruleset(cachedNs), await ruleset(freshNs));
          assert.match(await ruleset(cachedNs), /table ip connlimit_1 /);
        } finally {
          await cached.close();
        }
    }),
  ));

test('a rule string written again is the rule checked for its chain the first time: never for another chain, never a refused one', () =>
  withNetns(async (ns) => {
    const fw = await open(ns);
    const memo = (fw as unknown as { loneRules: RuleMemo }).loneRules;
    try {
      const inbound = '-i lo -p udp --dport 7 -j DROP';
      await fw.append('INPUT', inbound);
      const first = memo.get('INPUT', inbound);
      assert.ok(first, 'memoized for INPUT');
      await fw.append('INPUT', inbound);
      assert.is(memo.get('INPUT', inbound), first, 'the same rule, not parsed again');
      // Checked for INPUT only: OUTPUT refuses an input interface, the second time too.
      for (let i = 0; i < 2; i++) await rejects(fw.append('OUTPUT', inbound), 'ERR_CONNLIMIT_INVALID', 'an input interface in OUTPUT');
      assert.is(memo.get('OUTPUT', inbound), undefined);
      const bad = '-p udp --dport 70000 -j DROP';
      for (let i = 0; i < 2; i++) await rejects(fw.append('INPUT', bad), 'ERR_CONNLIMIT_INVALID', 'port 70000');
      // The memoized rule deletes, checks and ensures as a parsed one does.
      assert.is(await fw.check('INPUT', inbound), true);
      assert.is(await fw.delete('INPUT', inbound), 1);
      assert.is(await fw.ensure('INPUT', inbound), false);
      const rules = (await ruleset(ns)).split('\n').filter((l) => /^\t\t(ip|meta|udp|tcp|iifname) /.test(l));
      // Two appended, one deleted, the other found by ensure.
      assert.equal(rules.map((l) => l.trim()), ['iifname "lo" udp dport 7 counter packets 0 bytes 0 drop']);
    } finally {
      await fw.close();
    }
  }));

test('the memo of one-op rules holds its limit, then starts over', () => {
  const memo = new RuleMemo(2);
  const rule = (port: number) => toNativeRule(plain(port), 'ipv4');
  const [a, b, c] = [rule(1), rule(2), rule(3)];
  memo.set('INPUT', plain(1), a);
  memo.set('INPUT', plain(2), b);
  assert.is(memo.get('INPUT', plain(1)), a);
  memo.set('INPUT', plain(3), c);
  assert.is(memo.get('INPUT', plain(1)), undefined);
  assert.is(memo.get('INPUT', plain(3)), c);
});

// A multiport list: two or more ports an anonymous set of the rule, one a comparison.
const listed = (ports: string, tag: string, connlimit: boolean) =>
  `-p tcp -m multiport --dports ${ports}${connlimit ? ' -m connlimit --connlimit-above 2' : ''} -m comment --comment ${tag} -j DROP`;
const anonymousSets = async (ns: Netns) => new Set((await ns.run('nft', ['--debug=netlink', 'list', 'ruleset'])).stdout.match(/__set\d+/g) ?? []).size;

test('multiport rules: a set is read (one GETSETELEM, once) only for a rule compared with one whose other parts it equals; the cache keeps it read', () =>
  withNetns(async (ns) => {
    const writer = await open(ns);
    await writer.transaction((tx) => {
      tx.append('INPUT', listed('22,80:89', 'a', true));
      tx.append('INPUT', listed('443,8443', 'b', false));
      tx.append('INPUT', listed('1000:2000', 'c', false));
      tx.append('INPUT', listed('5,6,7', 'd', true));
    });
    await writer.close();
    // The same delete without multiport lists: what reading the chain costs.
    const control = await withNetns(async (other) => {
      const w = await open(other);
      for (const tag of ['a', 'b', 'c', 'd']) await w.append('INPUT', limited(1, tag));
      await w.close();
      const f = await open(other);
      await f.append('INPUT', plain(1));
      const c = await sent(f, () => f.delete('INPUT', limited(1, 'b')));
      await f.close();
      return c;
    });
    const fw = await open(ns);
    try {
      await fw.append('INPUT', plain(1));  // cold: the table list and chains, no rules
      assert.is(await anonymousSets(ns), 3);
      const first = await sent(fw, () => fw.delete('INPUT', listed('8443,443', 'b', false)));
      // The chain as the control reads it, and b's set probed (one get: it holds 443 and 8443)
      // and read: a and d differ in their comment and connlimit match, so their sets are not.
      assert.equal(first, { ...control, requests: control.requests + 1, dumps: control.dumps + 1 });
      // d is compared now: its set is probed and read, once.
      assert.equal(await sent(fw, () => fw.delete('INPUT', listed('7,6,5', 'd', true))), { requests: 1, dumps: 1, batches: 1 });
      assert.equal(await sent(fw, () => fw.append('INPUT', listed('9,10', 'e', true))), ONE_BATCH);
      // The generation id, and a's set probed and read.
      assert.equal(await sent(fw, () => fw.check('INPUT', listed('22,80:89', 'a', true))), { requests: 2, dumps: 1, batches: 0 });
      assert.equal(await sent(fw, () => fw.check('INPUT', listed('22,80:89', 'a', true))), { requests: 1, dumps: 0, batches: 0 });
      assert.equal(await sent(fw, () => fw.replace('INPUT', 4, listed('11,12', 'f', false))), ONE_BATCH);
      assert.equal(await sent(fw, () => fw.delete('INPUT', listed('1000:2000', 'c', false))), ONE_BATCH);
      // a's and f's sets are left; b's, d's and e's went with their rules.
      assert.is(await anonymousSets(ns), 2);
      const text = await ruleset(ns);
      assert.match(text, /tcp dport \{ 22, 80-89 \} add @connlimit\d+ \{ ip saddr ct count over 2 \} counter packets 0 bytes 0 drop comment "a"/);
      assert.match(text, /tcp dport \{ 11, 12 \} counter packets 0 bytes 0 drop comment "f"/);
      assert.is(count(text, /\tset connlimit\d+ \{/g), 1);
    } finally {
      await fw.close();
    }
  }));

test('multiport rules: a delete by position reads no set; check() reads the sets of the rules whose other parts equal, and equals only on equal elements', () =>
  withNetns(async (ns) => {
    const writer = await open(ns);
    await writer.transaction((tx) => {
      for (let i = 0; i < 20; i++) tx.append('INPUT', listed(`${100 + i},${200 + i}`, `r${i}`, false));
      tx.append('INPUT', listed('22,80:89', 'same', false));  // 21
      tx.append('INPUT', listed('22,80:90', 'same', false));  // 22: differs only in its list
      // Two sets (ports, weekdays): check() names them in the other order, which matches alike.
      tx.append('INPUT', '-p tcp -m multiport --dports 3,4 -m time --weekdays Mon,Tue -m comment --comment two -j DROP');
    });
    await writer.close();
    // A named set of another writer's that a port lookup names reads as a list too.
    await ns.run('nft', ['add set ip connlimit ports { type inet_service; }; add element ip connlimit ports { 53, 54 }']);
    await ns.run('nft', ['add rule ip connlimit INPUT tcp dport @ports counter drop comment "one"']);
    const cold = async (call: (fw: Firewall) => Promise<unknown>) => {
      const fw = await open(ns);
      try {
        const before = await io(fw);
        const out = await call(fw);
        const after = await io(fw);
        return { out, dumps: after.dumps - before.dumps, gets: after.requests - before.requests };
      } finally {
        await fw.close();
      }
    };
    // No rule has these other parts: the tables, the chain, and two's sets (a rule with more
    // sets than the wanted one is read: a set of one port may stand where it compares).
    const none = await cold((fw) => fw.check('INPUT', listed('22,80:89', 'nobody', true)));
    assert.equal(none, { out: false, dumps: none.dumps, gets: 0 });
    // The rules tagged same have their sets probed (one get each, both in one send); found at
    // 21, before two: one set read.
    assert.equal(await cold((fw) => fw.check('INPUT', listed('80:89,22', 'same', false))), { out: true, dumps: none.dumps - 1, gets: 2 });
    // Neither set holds 80-91's end (92): both ruled out by their probes, only two's sets read.
    assert.equal(await cold((fw) => fw.check('INPUT', listed('22,80:91', 'same', false))), { out: false, dumps: none.dumps, gets: 2 });
    // With two sets wanted, rules with one cannot equal: only two's are probed (its port set; a
    // day set is not) and read.
    const two = '-p tcp -m time --weekdays Tue,Mon -m multiport --dports 4,3 -m comment --comment two -j DROP';
    assert.equal(await cold((fw) => fw.check('INPUT', two)), { out: true, dumps: none.dumps, gets: 1 });
    assert.equal(await cold((fw) => fw.check('INPUT', two.replace('Tue,Mon', 'Wed,Mon'))), { out: false, dumps: none.dumps, gets: 1 });
    // Its ports differ: ruled out by the probe, neither set read.
    assert.equal(await cold((fw) => fw.check('INPUT', two.replace('4,3', '4,5'))), { out: false, dumps: none.dumps - 2, gets: 1 });
    // nft's named set: probed, and read when the probe finds both ports.
    assert.equal(await cold((fw) => fw.check('INPUT', '-p tcp -m multiport --dports 54,53 -m comment --comment one -j DROP')), {
      out: true,
      dumps: none.dumps + 1,
      gets: 1,
    });
    assert.equal(await cold((fw) => fw.check('INPUT', '-p tcp -m multiport --dports 53,55 -m comment --comment one -j DROP')), {
      out: false,
      dumps: none.dumps,
      gets: 1,
    });
    // By position: the chain is read, no set.
    const fw = await open(ns);
    try {
      await fw.append('INPUT', plain(1));
      const before = (await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout;
      const deleted = await sent(fw, () => fw.delete('INPUT', 21));
      assert.is(deleted.dumps, none.dumps - 3);  // the chain; the table list is known from the append
      const after = (await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout;
      assert.is(count(before, /comment "same"/g), 2);
      assert.is(count(after, /comment "same"/g), 1);
      assert.match(after, /tcp dport \{ 22, 80-90 \} counter packets 0 bytes 0 drop comment "same"/);
      // The list rule it kept compares by its elements from the cache's read of the chain.
      assert.is(await fw.check('INPUT', listed('22,80:90', 'same', false)), true);
      assert.is(await fw.check('INPUT', listed('22,80:89', 'same', false)), false);
    } finally {
      await fw.close();
    }
  }));

test('multiport probes only rule sets out: supersets, ports inside a range, open ranges, nft-written lists read as a whole read would', () =>
  withNetns(async (ns) => {
    const writer = await open(ns);
    await writer.transaction((tx) => {
      tx.append('INPUT', listed('22,80:89,100', 'p', false));  // holds every element of 22,80:89
      tx.append('INPUT', listed('22,80:89', 'p', false));
      tx.append('INPUT', listed('22,85', 'q', false));  // 85: inside the range of the rule before
      tx.append('INPUT', listed('22,80:89', 'q', false));
      tx.append('INPUT', listed('7,60000:65535', 'r', false));  // an open range: no end element
    });
    await writer.close();
    // Lists nft writes itself (a leading end element at 0 left out of none of them).
    await ns.run('nft', ['add rule ip connlimit INPUT tcp dport { 0-9, 30 } counter drop comment "s"']);
    await ns.run('nft', ['add rule ip connlimit INPUT tcp dport { 31, 32 } counter drop comment "s"']);
    const cases: Array<[string, boolean]> = [
      [listed('22,80:89', 'p', false), true],
      [listed('80:89,22,100', 'p', false), true],
      [listed('22,80:89,101', 'p', false), false],
      [listed('22,85', 'q', false), true],
      [listed('22,80:89', 'q', false), true],
      [listed('22,86', 'q', false), false],
      [listed('7,60000:65535', 'r', false), true],
      [listed('7,60001:65535', 'r', false), false],
      [listed('7,60000:65534', 'r', false), false],
      ['-p tcp -m multiport --dports 0:9,30 -m comment --comment s -j DROP', true],
      ['-p tcp -m multiport --dports 1:9,30 -m comment --comment s -j DROP', false],
      ['-p tcp -m multiport --dports 32,31 -m comment --comment s -j DROP', true],
      ['-p tcp -m multiport --dports 31,33 -m comment --comment s -j DROP', false],
    ];
    for (const [rule, there] of cases) {
      const fw = await open(ns);
      try {
        assert.is(await fw.check('INPUT', rule), there, rule);
      } finally {
        await fw.close();
      }
    }
    // Delete by spec finds the same rules (the first of equal ones), and check() agrees afterwards.
    const fw = await open(ns);
    try {
      for (const [rule, there] of cases.filter(([, t]) => t)) {
        assert.is(await fw.check('INPUT', rule), there, rule);
        await fw.delete('INPUT', rule);
      }
      assert.is((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout.match(/dport/g), null);
    } finally {
      await fw.close();
    }
  }));

test('a mix of ops on multiport rules gives what a fresh handle per op gives', () =>
  withNetns(async (cachedNs) =>
    withNetns(async (freshNs) => {
      const lists = ['22,80:89', '443,8443', '1000:2000', '5,6,7', '53'];
      const ruleOf = (pick: (k: number) => number) => (pick(4) === 0 ? plain(40 + pick(3)) : listed(lists[pick(lists.length)]!, `m${pick(2)}`, pick(2) === 0));
      for (const ns of [cachedNs, freshNs]) {
        const fw = await open(ns);
        await fw.transaction((tx) => {
          for (let i = 0; i < 12; i++) tx.append('INPUT', i % 3 ? listed(lists[i % lists.length]!, `m${i % 2}`, i % 4 === 0) : plain(i + 100));
        });
        await fw.close();
      }
      const cached = await open(cachedNs);
      try {
        for (const [i, s] of steps(80, 29, ruleOf).entries()) {
          const mine = await outcome(s.run(cached));
          const fresh = await open(freshNs);
          const theirs = await outcome(s.run(fresh));
          await fresh.close();
          assert.is(mine, theirs, `step ${i}: ${s.op}`);
        }
        assert.is(await ruleset(cachedNs), await ruleset(freshNs));
        assert.is(await anonymousSets(cachedNs), await anonymousSets(freshNs));
      } finally {
        await cached.close();
      }
    }),
  ));

test('a commit by another program between our calls: the cached batch is refused, and the call is planned again from a fresh read', () =>
  withNetns(async (ns) => {
    const fw = await open(ns);
    try {
      for (const tag of ['a', 'b', 'c']) await fw.append('INPUT', limited(7, tag));
      const listed = (await ns.run('nft', ['-a', 'list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout;
      const handleOfB = /drop comment "b" # handle (\d+)/.exec(listed)?.[1];
      assert.ok(handleOfB);
      await ns.run('nft', ['delete', 'rule', 'ip', 'connlimit', 'INPUT', 'handle', handleOfB]);
      await ns.run('nft', ['insert', 'rule', 'ip', 'connlimit', 'INPUT', 'meta', 'mark', '0x63', 'counter']);
      // The cache still holds b: the kernel's view says it is gone.
      const e = await fw.delete('INPUT', limited(7, 'b')).catch((x: unknown) => x);
      assert.is((e as { code?: string }).code, 'ERR_CONNLIMIT_NOT_FOUND');
      assert.is(await fw.delete('INPUT', limited(7, 'c')), 3);  // behind the new head rule and a
      assert.is(await fw.delete('INPUT', 1), 1);  // the head rule the other program inserted
      const text = await ruleset(ns);
      assert.is(count(text, /meta mark 0x00000063/g), 0);
      assert.is(count(text, /comment "a"/g), 1);
      assert.is(count(text, /comment "[bc]"/g), 0);
      // The cache is current again: the next update reads nothing.
      assert.equal(await sent(fw, () => fw.append('INPUT', limited(8, 'd'))), ONE_BATCH);
    } finally {
      await fw.close();
    }
  }));

test('beside an nft add rule / flush loop in the same namespace, nothing is lost or doubled; each call lands or rejects typed', () =>
  withNetns(async (ns) => {
    const fw = await open(ns);
    await ns.run('nft', ['add', 'table', 'ip', 'other']);
    await ns.run('nft', ['add', 'chain', 'ip', 'other', 'c']);
    await fw.append('INPUT', limited(1, 'first'));
    let running = true;
    let inserted = 0;
    // Another writer: rules into a table of its own (flushed now and then) and into our chain's head.
    const loop = (async () => {
      for (let i = 0; running; i++) {
        await ns.run('nft', ['add', 'rule', 'ip', 'other', 'c', 'counter']);
        if (i % 2 === 0) {
          await ns.run('nft', ['insert', 'rule', 'ip', 'connlimit', 'INPUT', 'meta', 'mark', '0x63', 'counter']);
          inserted++;
        }
        if (i % 3 === 0) await ns.run('nft', ['flush', 'table', 'ip', 'other']);
      }
    })();
    const kept = new Set<string>();
    const deleted = new Set<string>();
    const rejected: string[] = [];
    const before = await io(fw);
    try {
      for (let i = 0; i < 90; i++) {
        const tag = `t${i}`;
        try {
          await fw.append('INPUT', limited(1000 + i, tag));
          kept.add(tag);
        } catch (e) {
          rejected.push(`${tag} ${(e as { code?: string }).code}`);
        }
        if (i % 3 === 2) {
          const victim = `t${i - 1}`;
          if (!kept.has(victim)) continue;
          try {
            await fw.delete('INPUT', limited(1000 + i - 1, victim));
            kept.delete(victim);
            deleted.add(victim);
          } catch (e) {
            rejected.push(`delete ${victim} ${(e as { code?: string }).code}`);
          }
        }
      }
    } finally {
      running = false;
      await loop;
    }
    try {
      const after = await io(fw);
      for (const r of rejected) assert.match(r, / ERR_CONNLIMIT_[A-Z_]+$/, 'typed');
      assert.ok(rejected.length <= 3, `rejected: ${rejected.join(', ')}`);
      const text = await ruleset(ns);
      for (const tag of kept) assert.is(count(text, new RegExp(`comment "${tag}"`, 'g')), 1, `${tag} once`);
      for (const tag of deleted) assert.is(count(text, new RegExp(`comment "${tag}"`, 'g')), 0, `${tag} gone`);
      assert.is(count(text, /meta mark 0x00000063/g), inserted, 'the other writer\'s rules all stay');
      // One set per connlimit rule of ours: none left behind, none missing.
      assert.is(count(text, /\tset connlimit\d+ \{/g), kept.size + 1);
      // The other writer made some of our batches stale: retried, more batches than calls.
      assert.ok(after.batches - before.batches >= 90 + deleted.size, `batches ${after.batches - before.batches}`);
    } finally {
      await fw.close();
    }
  }));

test.run();
