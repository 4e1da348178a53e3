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

/**
 * Any rule input in its normalized form: a string is parsed as iptables syntax (without
 * `-A CHAIN`), an object is checked as a {@link RuleSpec}.
 *
 * @param input - `'-p tcp --dport 22 -j ACCEPT'` or `{ protocol: 'tcp', dport: 22, target: { kind: 'accept' } }`
 * @param family - 'ipv4' or 'ipv6'
 * @throws {ERR_CONNLIMIT_INVALID} a ValidationError (path 'rule' with the token for text, field
 *   paths for objects)
 * @example toNativeRule('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT', 'ipv4')
 */
export function toNativeRule(input: string | RuleSpec, family: Family): NativeRule {
  if (family !== 'ipv4' && family !== 'ipv6') invalid('family', `expected 'ipv4' or 'ipv6', got ${describe(family)}`);
  if (typeof input === 'string') return parseRule(input, family);
  return normalizeRule(snapshot(input, 'rule'), family);
}
