// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 2: the nf_tables rule encoder and decoder against NFT_MSG_NEWRULE messages captured
// from iptables-nft 1.8.9 itself (scripts/capture-golden-nft.sh, run in throwaway namespaces),
// never against our own output. These tests touch no kernel: they only read captured bytes.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import { toNativeRule } from '../src/rule/index';
import { renderRule } from '../src/rule/render';
import { packed } from './helpers/packed';
import { describeMismatch, listGoldens, readGolden } from './helpers/golden';

const DIR = join(__dirname, 'fixtures', 'nft');

function asText(args: string[]): string {
  return args.map((a) => (/[\s"]/.test(a) ? `"${a.replace(/(["\\])/g, '\\$1')}"` : a)).join(' ');
}

/** The same rule with other addresses and exact ports (masks, ranges and everything else kept). */
function sibling(args: string[], family: 'ipv4' | 'ipv6'): string[] {
  return args.map((a, i) => {
    const option = args[i - 1];
    if ((option === '--dport' || option === '--sport') && /^\d+$/.test(a)) return String(a === '4242' ? 4343 : 4242);
    if (option === '-s' || option === '-d') {
      const mask = a.includes('/') ? a.slice(a.indexOf('/')) : '';
      return (family === 'ipv4' ? '172.31.254.9' : '2001:db8:beef::9') + mask;
    }
    return a;
  });
}

const goldens = listGoldens(DIR).filter((n) => !n.startsWith('create-'));

test('there are nft rule fixtures for both families', () => {
  assert.ok(goldens.length >= 25, `found ${goldens.length}`);
  const families = new Set(goldens.map((n) => readGolden(n, DIR).family));
  assert.equal([...families].sort(), ['ipv4', 'ipv6']);
});

for (const name of goldens) {
  const g = readGolden(name, DIR);

  test(`encode ${name}: the NEWRULE message ${g.command} sends`, () => {
    const rule = toNativeRule(asText(g.args), g.family);
    const bytes = packed.encodeNftRule(g.family, 'filter', g.chain, rule);
    const mismatch = describeMismatch(bytes, g);
    assert.ok(mismatch === null, mismatch ?? '');
  });

  // A rule of a shape the encoder has seen is written from that shape's message with its own
  // addresses and ports (core/nft/compat/rule_shape.h): a sibling of other values first makes
  // the shape, then the rule itself, twice, must still be the CLI's bytes.
  test(`encode ${name} after a rule of its shape: the same message`, () => {
    packed.encodeNftRule(g.family, 'filter', g.chain, toNativeRule(asText(sibling(g.args, g.family)), g.family));
    const rule = toNativeRule(asText(g.args), g.family);
    const before = binding()._nftRuleShapes();
    for (let i = 0; i < 2; i++) {
      const mismatch = describeMismatch(packed.encodeNftRule(g.family, 'filter', g.chain, rule), g);
      assert.ok(mismatch === null, mismatch ?? '');
    }
    const after = binding()._nftRuleShapes();
    if (after.unusable === before.unusable) written += after.written - before.written;
  });

  test(`decode ${name}: the CLI's message renders as iptables-nft-save printed it`, () => {
    const decoded = binding()._decodeNftRule(g.family, g.bytes);
    assert.is(decoded.table, 'filter');
    assert.is(decoded.chain, g.chain);
    assert.is(renderRule(decoded.rule, g.family, g.chain), g.save);
  });

  // Delete and check compare a rule as it reads back from the kernel: iptables-nft writes some
  // spellings in a form that reads back differently (`! --dport 0:10` is stored as `> 10` and
  // reads back as `--dport 11:65535`: the same packets), so our parse goes through our encoder
  // and decoder first, as the nft backend does.
  test(`compare ${name}: the CLI's message and our parse are the same rule`, () => {
    const ours = toNativeRule(asText(g.args), g.family);
    const normalized = binding()._decodeNftRule(g.family, packed.encodeNftRule(g.family, 'filter', g.chain, ours)).rule;
    const theirs = binding()._decodeNftRule(g.family, g.bytes).rule;
    assert.ok(packed.sameRule(g.family, normalized, theirs));
  });
}

// Every fixture was written from its shape at least once above (its second encode, if not its
// first); each shape that could not be used (its values not at one place each) says so.
let written = 0;
test('the rules above were written from their shapes, not each by libnftnl', () => {
  const c = binding()._nftRuleShapes();
  assert.ok(written >= goldens.length, `${written} of ${goldens.length} written from a shape`);
  assert.is(c.unusable, 0, 'shapes found unusable');
});

for (const name of listGoldens(DIR).filter((n) => n.startsWith('create-'))) {
  const g = readGolden(name, DIR);
  test(`${name}: the table and base chain a first write creates, as ${g.command} sends them`, () => {
    const mismatch = describeMismatch(binding()._encodeNftCreate(g.family, 'filter', g.chain), g);
    assert.ok(mismatch === null, mismatch ?? '');
  });
}

test('a rule holding a native expression decodes with it opaque and is refused for re-encoding', () => {
  const g = readGolden('seed-reject', DIR);
  const decoded = binding()._decodeNftRule(g.family, g.bytes);
  const rule = { ...decoded.rule, matches: [...decoded.rule.matches, { kind: 'opaque' as const, name: 'nft:lookup', revision: 0, data: Buffer.alloc(4) }] };
  assert.throws(() => packed.encodeNftRule('ipv4', 'filter', 'INPUT', rule), /native nftables expression/);
});

test.run();
