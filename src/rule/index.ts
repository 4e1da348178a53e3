// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The rule language: iptables syntax or a typed object in, the normalized `NativeRule` out,
 * and back to iptables-save text or the typed object for listings.
 */
import { invalid } from '../errors';
import type { NativeRule } from '../native-types';
import type { Family, RuleSpec } from './types';
import { parseRule } from './parse';
import { snapshot } from './snapshot';
import { describe, normalizeRule } from './validate';

export { parseRule, parseSaveLine, tokenize } from './parse';
export type { Token } from './parse';
export { normalizeRule, validateChainName, validatePosition, validateRuleForChain } from './validate';
export { renderRule, saveString } from './render';
export { toRuleSpec, ruleExtensions } from './to-spec';
export { formatAddress, parseAddress } from './address';

/** How many rule texts per family keep their parsed form. Users write the same few shapes again and again. */
const PARSED_MAX = 512;
/** Rule text -> its frozen parse, least recently used first (Map keeps insertion order). */
const parsed: Record<Family, Map<string, NativeRule>> = { ipv4: new Map(), ipv6: new Map() };

/**
 * Freezes objects and arrays all the way down, so one parse can be handed out many times.
 * Byte arrays can't be frozen; they never leave the library (toRuleSpec copies them).
 */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function parseCached(text: string, family: Family): NativeRule {
  const cache = parsed[family];
  let rule = cache.get(text);
  if (rule !== undefined) {
    cache.delete(text);
  } else {
    rule = deepFreeze(parseRule(text, family));
    if (cache.size >= PARSED_MAX) cache.delete(cache.keys().next().value as string);
  }
  cache.set(text, rule);
  return rule;
}

/**
 * Any rule input in its normalized form: a string is parsed as iptables syntax (without
 * `-A CHAIN`), an object is checked as a {@link RuleSpec}. The result is frozen: a string
 * seen recently returns the same object again without parsing it.
 *
 * @param input - `'-p tcp --dport 22 -j ACCEPT'` or `{ protocol: 'tcp', dport: 22, target: { kind: 'accept' } }`
 * @param family - 'ipv4' or 'ipv6'
 * @throws {ERR_CONNLIMIT_INVALID} a ValidationError (path 'rule' with the token for text, field
 *   paths for objects)
 * @example toNativeRule('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT', 'ipv4')
 */
export function toNativeRule(input: string | RuleSpec, family: Family): NativeRule {
  if (family !== 'ipv4' && family !== 'ipv6') invalid('family', `expected 'ipv4' or 'ipv6', got ${describe(family)}`);
  if (typeof input === 'string') return parseCached(input, family);
  return deepFreeze(normalizeRule(snapshot(input, 'rule'), family));
}
