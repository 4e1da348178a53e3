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
