// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 2: the legacy encoder and decoder against bytes captured from iptables-legacy itself
// (scripts/capture-golden.sh, run in a throwaway namespace), never against our own output.
// These tests touch no kernel and no namespace: they only read the captured bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import { toNativeRule } from '../src/rule/index';
import { renderRule } from '../src/rule/render';
import { packed } from './helpers/packed';
import { describeMismatch, libiptcStandardMap, listGoldens, readGolden } from './helpers/golden';

// The captured argv, re-joined as a user would type it (quotes where a token has spaces).
function asText(args: string[]): string {
  return args.map((a) => (/[\s"]/.test(a) ? `"${a.replace(/(["\\])/g, '\\$1')}"` : a)).join(' ');
}

const goldens = listGoldens();

test('there are fixtures for both families', () => {
  assert.ok(goldens.length >= 10, `found ${goldens.length}`);
  const families = new Set(goldens.map((n) => readGolden(n).family));
  assert.equal([...families].sort(), ['ipv4', 'ipv6']);
});

for (const name of goldens) {
  const g = readGolden(name);

  test(`encode ${name}: same bytes as ${g.command}`, () => {
    const rule = toNativeRule(asText(g.args), g.family);
    // We hand libiptc the verdict's name, as the CLI does; libiptc then rewrites it to the
    // kernel form the capture holds (iptcc_standard_map), so compare after the same rewrite.
    const bytes = libiptcStandardMap(packed.encodeLegacyRule(g.family, rule), g.family);
    const mismatch = describeMismatch(bytes, g);
    assert.ok(mismatch === null, mismatch ?? '');
  });

  test(`decode ${name}: the CLI's bytes render as iptables-save printed them`, () => {
    const rule = binding()._decodeLegacyRule(g.family, g.bytes, []);
    assert.is(renderRule(rule, g.family, g.chain), g.save);
  });

  test(`compare ${name}: the CLI's bytes and our parse are the same rule`, () => {
    const ours = toNativeRule(asText(g.args), g.family);
    const theirs = binding()._decodeLegacyRule(g.family, g.bytes, []);
    assert.ok(packed.sameRule(g.family, ours, theirs));
  });
}

test('no --connlimit-mask and --connlimit-mask 32 differ in bytes but are the same rule (IPv4)', () => {
  const a = toNativeRule('-p tcp --dport 23 -m connlimit --connlimit-above 2 -j DROP', 'ipv4');
  const b = toNativeRule('-p tcp --dport 23 -m connlimit --connlimit-above 2 --connlimit-mask 32 -j DROP', 'ipv4');
  const ea = packed.encodeLegacyRule('ipv4', a);
  const eb = packed.encodeLegacyRule('ipv4', b);
  assert.is.not(ea.toString('hex'), eb.toString('hex'));
  assert.ok(packed.sameRule('ipv4', a, b));
});

test('match order does not change the rule; a different limit, mask or key does', () => {
  const base = '-p tcp --dport 80 -m connlimit --connlimit-above 16 --connlimit-mask 24 -m comment --comment web -j DROP';
  const a = toNativeRule(base, 'ipv4');
  const reordered = toNativeRule('-m comment --comment web -p tcp --dport 80 -m connlimit --connlimit-above 16 --connlimit-mask 24 -j DROP', 'ipv4');
  assert.ok(packed.sameRule('ipv4', a, reordered));
  for (const other of [
    base.replace('above 16', 'above 17'),
    base.replace('mask 24', 'mask 25'),
    base.replace('--connlimit-mask 24', '--connlimit-mask 24 --connlimit-daddr'),
    base.replace('--connlimit-above', '--connlimit-upto'),
    base.replace('-j DROP', '-j REJECT'),
    base.replace('web', 'web2'),
  ]) {
    assert.not.ok(packed.sameRule('ipv4', a, toNativeRule(other, 'ipv4')), other);
  }
});

test('a jump keeps its chain through encode and decode', () => {
  const rule = toNativeRule('-p tcp --dport 443 -j LIMITS', 'ipv4');
  const decoded = binding()._decodeLegacyRule('ipv4', packed.encodeLegacyRule('ipv4', rule), ['LIMITS']);
  assert.equal(decoded.target, { kind: 'jump', chain: 'LIMITS' });
  const goto = toNativeRule('-p tcp --dport 443 -g LIMITS', 'ipv4');
  const decodedGoto = binding()._decodeLegacyRule('ipv4', packed.encodeLegacyRule('ipv4', goto), ['LIMITS']);
  assert.equal(decodedGoto.target, { kind: 'goto', chain: 'LIMITS' });
});

test('truncated and garbage entries are refused, not read past their end', () => {
  const g = readGolden('seed-reject');
  for (const len of [0, 1, 50, 111, 112, 150, g.bytes.length - 1]) {
    assert.throws(() => binding()._decodeLegacyRule('ipv4', g.bytes.subarray(0, len), []), /decode/, `length ${len}`);
  }
  const bad = Buffer.from(g.bytes);
  bad.writeUInt16LE(0xfff0, 112); // first match claims to run past the entry
  assert.throws(() => binding()._decodeLegacyRule('ipv4', bad, []), /decode/);
});

test.run();
