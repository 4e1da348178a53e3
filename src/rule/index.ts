// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The rule language: iptables syntax or a typed object in, the normalized `NativeRule` out,
 * and back to iptables-save text or the typed object for listings.
 */
import { invalid } from '../errors';
import type { NativeRule } from '../native-types';
import type { Family, RuleSpec } from './types';
import { parseCommonText, parseInFull } from './parse';
import * as validation from './validate';

export { parseRule, parseSaveLine, tokenize } from './parse';
export type { Token } from './parse';
export { normalizeRule, validateChainName, validatePosition, validateRuleForChain } from './validate';
export { renderRule, saveString } from './render';
export { toRuleSpec, ruleExtensions } from './to-spec';
export { formatAddress, parseAddress } from './address';

// Copied once, as in common-shape.ts: under a loader that compiles imports to getters (tsx, which
// the benches and tests run under), every read of an imported binding is a call, made per rule here.
const { describe, normalizeRule } = validation;

/**
 * How many rule texts per family are remembered, of those the common-shape fast path does not
 * take (parsing those costs about what a lookup here does). Users write the same few shapes again and again.
 */
const PARSED_MAX = 512;
/**
 * Rule text -> its parse, or null when the text was seen once; least recently used first (a
 * Map keeps insertion order). A parse is kept only from a text's second sighting: a big
 * transaction of distinct rules then keeps none of them alive (each would otherwise survive
 * into the old generation and cost the garbage collector more than parsing it did).
 */
const parsed: Record<Family, Map<string, NativeRule | null>> = { ipv4: new Map(), ipv6: new Map() };

function parseCached(text: string, family: Family): NativeRule {
  const cache = parsed[family];
  const seen = cache.get(text);
  if (seen !== undefined) cache.delete(text);
  else if (cache.size >= PARSED_MAX) cache.delete(cache.keys().next().value as string);
  const rule = seen ?? parseInFull(text, family);
  cache.set(text, seen === undefined ? null : rule);
  return rule;
}

/**
 * Any rule input in its normalized form: a string is parsed as iptables syntax (without
 * `-A CHAIN`), an object is checked as a {@link RuleSpec}. A string of the common shape is parsed
 * afresh each time (src/rule/common-shape.ts, ~1 µs); another string seen twice recently returns
 * the same object again without parsing it, so the result is shared and read-only: it never
 * leaves the library (the public parseRule hands out a copy made by toRuleSpec, renderRule a
 * string). Not frozen: Object.freeze over a rule's ~10 objects costs more than parsing it.
 *
 * @param input - `'-p tcp --dport 22 -j ACCEPT'` or `{ protocol: 'tcp', dport: 22, target: { kind: 'accept' } }`
 * @param family - 'ipv4' or 'ipv6'
 * @throws {ERR_CONNLIMIT_INVALID} a ValidationError (path 'rule' with the token for text, field
 *   paths for objects)
 * @example toNativeRule('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT', 'ipv4')
 */
export function toNativeRule(input: string | RuleSpec, family: Family): NativeRule {
  if (family !== 'ipv4' && family !== 'ipv6') invalid('family', `expected 'ipv4' or 'ipv6', got ${describe(family)}`);
  if (typeof input === 'string') return parseCommonText(input, family) ?? parseCached(input, family);
  return normalizeRule(input, family);
}
