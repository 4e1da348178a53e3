// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 2: the native nftables form (backend 'nftables') against the messages nft 1.0.6 itself
// sends for the rule text iptables-translate renders (scripts/capture-golden-nftables.sh, run
// in throwaway namespaces), never against our own output. No kernel is touched here.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import { packRule } from '../src/op-pack';
import { checkNftablesRule } from '../src/rule/nftables-form';
import { toNativeRule } from '../src/rule/index';
import { renderRule } from '../src/rule/render';
import { packed } from './helpers/packed';
import { describeMismatch, listGoldens, readGolden } from './helpers/golden';
import { readCorpus } from './helpers/real-rules';

const DIR = join(__dirname, 'fixtures', 'nftables');
const NEWRULE = (10 << 8) | 6;

function asText(args: string[]): string {
  return args.map((a) => (/[\s"]/.test(a) ? `"${a.replace(/(["\\])/g, '\\$1')}"` : a)).join(' ');
}

/** The NEWRULE message of a fixture (after its NEWSET, if any). */
function ruleMessage(bytes: Buffer): Buffer {
  for (let off = 0; off < bytes.length; ) {
    const len = bytes.readUInt32LE(off);
    if (bytes.readUInt16LE(off + 4) === NEWRULE) return bytes.subarray(off, off + len);
    off += (len + 3) & ~3;
  }
  throw new Error('no NEWRULE in fixture');
}

/** `ct state` is the translation of both -m state and -m conntrack --ctstate: it reads back as the latter. */
const READS_BACK_AS: Record<string, string> = {
  'xlate-state': '-m conntrack ! --ctstate INVALID,UNTRACKED -j DROP',
  // One port or range is nft's comparison; -p tcp/udp would read it as --dport, sctp has no such match.
  'xlate-multiport-one': '-p sctp -m multiport ! --dports 80:88 -j DROP',
};

const rules = listGoldens(DIR).filter((n) => !n.startsWith('create-') && !n.startsWith('delete-'));

test('there are native-form fixtures for both families, and IPv6 sets are keyed ipv6_addr', () => {
  assert.ok(rules.length >= 12, `found ${rules.length}`);
  const families = new Set(rules.map((n) => readGolden(n, DIR).family));
  assert.equal([...families].sort(), ['ipv4', 'ipv6']);
  // NFTA_SET_KEY_TYPE (4) = 8 (nft's TYPE_IP6ADDR), not the ipv4_addr ip6tables-translate emits.
  const keyType = (n: number) => Buffer.from(`08000400${n.toString(16).padStart(8, '0')}`, 'hex');
  assert.ok(readGolden('v6-seed', DIR).bytes.includes(keyType(8)));
  assert.ok(readGolden('seed-reset', DIR).bytes.includes(keyType(7)));
  assert.ok(packed.encodeNftables('ipv6', 'INPUT', toNativeRule('-p tcp -m connlimit --connlimit-above 1 -j DROP', 'ipv6')).includes(keyType(8)));
});

for (const name of rules) {
  const g = readGolden(name, DIR);

  test(`encode ${name}: what nft sends for ${g.command}`, () => {
    const rule = toNativeRule(asText(g.args), g.family);
    const mismatch = describeMismatch(packed.encodeNftables(g.family, g.chain, rule), g);
    assert.ok(mismatch === null, mismatch ?? '');
  });

  test(`decode ${name}: nft's rule reads back as the same rule`, () => {
    // With the messages before it: a multiport list's elements are in its set's NEWSETELEM.
    const decoded = binding()._decodeNftablesRule(g.family, g.bytes);
    assert.is(decoded.table, 'connlimit');
    assert.is(decoded.chain, g.chain);
    const ours = toNativeRule(READS_BACK_AS[name] ?? asText(g.args), g.family);
    assert.ok(
      packed.sameRule(g.family, decoded.rule, ours),
      `${renderRule(decoded.rule, g.family, g.chain)}\n  vs\n${renderRule(ours, g.family, g.chain)}`,
    );
    assert.is(decoded.setName, ours.matches.some((m) => m.kind === 'connlimit') ? 'connlimit0' : '');
  });
}

for (const family of ['ipv4', 'ipv6'] as const) {
  test(`create-${family}: our table and INPUT base chain, as nft creates them`, () => {
    const g = readGolden(`create-${family}`, DIR);
    const mismatch = describeMismatch(binding()._encodeNftablesCreate(family, 'INPUT'), g);
    assert.ok(mismatch === null, mismatch ?? '');
  });
}

test('delete-ipv4: a rule and its set go in one batch, as nft deletes them', () => {
  const g = readGolden('delete-ipv4', DIR);
  const mismatch = describeMismatch(binding()._encodeNftablesDelete('ipv4', 'INPUT', 3n, 'connlimit0'), g);
  assert.ok(mismatch === null, mismatch ?? '');
});

test('DELRULE and DELSET written directly give libnftnl\'s bytes: by handle, by rule id, a chain, a table, both families', () => {
  let compared = 0;
  for (const family of ['ipv4', 'ipv6'] as const)
    for (const chain of ['INPUT', 'OUTPUT', '', 'a-user-chain-of-29-characters'])
      for (const [handle, id] of [[3n, 0], [0n, 7], [0n, 0], [0xfedcba9876543210n, 0], [1n, 0xffffffff]] as const)
        for (const set of ['connlimit0', 'connlimit12345', 's', '__set0']) {
          const direct = binding()._encodeNftablesDelete(family, chain, handle, set, undefined, id);
          const objects = binding()._encodeNftablesDelete(family, chain, handle, set, 'objects', id);
          assert.ok(Buffer.compare(direct, objects) === 0, `${family} ${chain} ${handle} ${id} ${set}: ${describeMismatch(direct, { bytes: objects, maskedRanges: [] })}`);
          compared++;
        }
  assert.is(compared, 160);
});

test('a decoded rule with an expression we do not model keeps it opaque, and is refused for re-encoding', () => {
  const g = readGolden('seed-reset', DIR);
  const decoded = binding()._decodeNftablesRule('ipv4', ruleMessage(g.bytes));
  const rule = { ...decoded.rule, matches: [...decoded.rule.matches, { kind: 'opaque' as const, name: 'nft:lookup', revision: 0, data: Buffer.alloc(4) }] };
  assert.throws(() => packed.encodeNftables('ipv4', 'INPUT', rule), /not available in the native nftables form/);
});

test('truncated and bit-flipped messages decode or fail with an error, never crash', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  for (const name of rules) {
    const g = readGolden(name, DIR);
    const msg = ruleMessage(g.bytes);
    const tries: Buffer[] = [];
    for (let cut = 0; cut < msg.length; cut += 7) tries.push(Buffer.from(msg.subarray(0, cut)));
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(msg);
      b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
      tries.push(b);
    }
    for (const b of tries) {
      try {
        binding()._decodeNftablesRule(g.family, b);
      } catch (e) {
        assert.is((e as { op?: string }).op, 'decode');
      }
    }
  }
});

// ---- the direct rule writer against libnftnl's objects ----------------------------------------

type Family = 'ipv4' | 'ipv6';

/** Every rule text of the corpora, with its family: the goldens, the .txlate cases, the real rules, and the rule strings of tests 50-57. */
function corpusRules(): Array<[Family, string]> {
  const out: Array<[Family, string]> = [];
  for (const name of rules) {
    const g = readGolden(name, DIR);
    out.push([g.family, asText(g.args)]);
  }
  const txlate = join(__dirname, 'fixtures', 'iptables-txlate');
  for (const file of readdirSync(txlate).filter((f) => f.endsWith('.txlate'))) {
    for (const line of readFileSync(join(txlate, file), 'utf8').split('\n')) {
      const t = /^(ip6?)tables-translate (?:-t \S+ )?-[AI] \S+ (?:\d+ )?(.*)$/.exec(line);
      if (t) out.push([t[1] === 'ip6' ? 'ipv6' : 'ipv4', t[2] as string]);
    }
  }
  for (const l of readCorpus()) out.push([l.family, l.rule]);
  for (const file of readdirSync(__dirname).filter((f) => /^5[0-7]-.*\.test\.ts$/.test(f))) {
    for (const m of readFileSync(join(__dirname, file), 'utf8').matchAll(/'(-[^'\n]*)'/g)) {
      out.push(['ipv4', m[1] as string], ['ipv6', m[1] as string]);
    }
  }
  return out;
}

test('the direct rule writer gives libnftnl\'s bytes (and errors) for every corpus rule it writes, placed any way', () => {
  const placements: Array<[number, number, number, number] | undefined> = [undefined, [7, 0, 0, 0], [0, 9, 0, 0], [0, 0, 3, 0], [0, 0, 4, 2]];
  let direct = 0;
  let objectsOnly = 0;
  const seen = new Set<string>();
  for (const [family, text] of corpusRules()) {
    if (seen.has(family + text)) continue;
    seen.add(family + text);
    let rule;
    try {
      rule = toNativeRule(text, family);
      checkNftablesRule(rule, 'INPUT', family);
    } catch {
      continue; // refused before the encoder: neither writer sees it
    }
    const p = packRule(family, rule);
    for (const where of placements) {
      const encode = (how: 'objects' | 'direct') => {
        try {
          return binding()._encodeNftables(family, 'INPUT', p, 'connlimit%d', how, where);
        } catch (e) {
          return (e as Error).message;
        }
      };
      const objects = encode('objects');
      const written = encode('direct');
      if (written === null) {
        objectsOnly++;
        continue;
      }
      direct++;
      if (typeof objects === 'string' || typeof written === 'string') {
        assert.is(written, objects, `${family} ${text}: the same refusal`);
        continue;
      }
      assert.ok(objects !== null && Buffer.compare(objects, written) === 0, `${family} ${text} ${JSON.stringify(where)}:\n${objects?.toString('hex')}\n${written.toString('hex')}`);
    }
  }
  // The usual rules take the direct path, the translated modules and lists libnftnl's.
  assert.ok(direct >= 1000, `${direct} written directly`);
  assert.ok(objectsOnly >= 500, `${objectsOnly} left to libnftnl`);
  const usual = packRule('ipv4', toNativeRule('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT', 'ipv4'));
  assert.ok(binding()._encodeNftables('ipv4', 'INPUT', usual, 'connlimit%d', 'direct') !== null);
  assert.ok(Buffer.compare(binding()._encodeNftables('ipv4', 'INPUT', usual, 'connlimit%d') as Buffer, binding()._encodeNftables('ipv4', 'INPUT', usual, 'connlimit%d', 'direct') as Buffer) === 0);
});

test.run();
