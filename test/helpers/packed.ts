// SPDX-License-Identifier: GPL-2.0-or-later
// The addon's rule-taking test calls with a NativeRule in: packed here (src/op-pack.ts) as the
// library packs every rule it hands the addon, so tests read as before the packed form.
import { binding } from '../../src/binding';
import type { NativeRule } from '../../src/native-types';
import { packRule } from '../../src/op-pack';
import type { Family } from '../../src/rule/types';

export const packed = {
  encodeLegacyRule: (family: Family, rule: NativeRule): Buffer => binding()._encodeLegacyRule(family, packRule(family, rule)),
  sameRule: (family: Family, a: NativeRule, b: NativeRule): boolean => binding().sameRule(family, packRule(family, a), packRule(family, b)),
  encodeNftRule: (family: Family, table: string, chain: string, rule: NativeRule): Buffer =>
    binding()._encodeNftRule(family, table, chain, packRule(family, rule)),
  encodeNftables: (family: Family, chain: string, rule: NativeRule, setName?: string): Buffer =>
    setName === undefined ? binding()._encodeNftables(family, chain, packRule(family, rule)) : binding()._encodeNftables(family, chain, packRule(family, rule), setName),
};
