// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a connlimit rule counts, as a conntrack query: the rule's protocol, ports and addresses
 * as the filter, its `--connlimit-mask` and saddr/daddr as the key, TCP entries in TIME_WAIT
 * and CLOSE left out as nf_conncount leaves them (NETFILTER-NOTES.md §6.3). countFor and
 * watchFor both start here.
 */
import { invalid } from '../errors';
import type { NativeCtFilter, NativeRule, NativeWatchOptions } from '../native-types';
import { maskToPrefix } from '../rule/address';
import { toNativeRule } from '../rule/index';
import { snapshot } from '../rule/snapshot';
import type { Family, ListedRule, RuleSpec } from '../rule/types';
import { CONNCOUNT_CLOSED, everyEntry, familyCode, onlyKeys, ownObject } from './filter';
import { deliveryOptions } from './watch-options';

/** {@link Conntrack.countFor}: one key's count next to the rule's limit. */
export interface RuleCount {
  /** Open connections conntrack shows for this key that the rule would count. */
  count: number;
  /** The rule's `--connlimit-above`/`--connlimit-upto` number. */
  limit: number;
  /** How many more new connections the rule would let through: `limit - count` (negative when over). */
  headroom: number;
}

/** {@link Conntrack.watchFor}'s options. */
export interface RuleWatchOptions {
  family?: Family;
  threshold?: number;
  receiveBuffer?: number;
  reconcileMs?: number;
}

/** A rule's query: the filter, the key and its prefixes, and the rule's limit. */
export interface RuleQuery {
  filter: NativeCtFilter;
  key: 'source' | 'destination';
  mask4: number;
  mask6: number;
  limit: number;
}

const RULE_WATCH_KEYS = ['family', 'threshold', 'receiveBuffer', 'reconcileMs'];

/** The query of countFor: `options` takes `family` only. @throws {ERR_CONNLIMIT_INVALID} */
export function ruleCountQuery(rule: string | RuleSpec | ListedRule, options: { family?: Family }): RuleQuery {
  options = ownObject(options, 'options');
  onlyKeys(options, ['family']);
  return ruleQuery(rule, options.family ?? 'ipv4');
}

/**
 * The addon's options of watchFor, and the rule's limit. `threshold` defaults to the limit, so
 * 'above' fires when a client holds more than the rule allows.
 * @throws {ERR_CONNLIMIT_INVALID}
 */
export function ruleWatchOptions(
  netnsPath: string | null,
  rule: string | RuleSpec | ListedRule,
  options: RuleWatchOptions,
): { options: NativeWatchOptions; limit: number } {
  options = ownObject(options, 'options');
  onlyKeys(options, RULE_WATCH_KEYS);
  const { filter, key, mask4, mask6, limit } = ruleQuery(rule, options.family ?? 'ipv4');
  const delivery = deliveryOptions({ threshold: options.threshold ?? (limit > 0 ? limit : undefined), receiveBuffer: options.receiveBuffer, reconcileMs: options.reconcileMs });
  return { options: { netns: netnsPath, filter, key, mask4, mask6, updates: true, ...delivery }, limit };
}

/** The rule of countFor/watchFor: iptables syntax, a spec, or a listed rule's spec (copied first, as ownObject does). */
function ruleInput(rule: string | RuleSpec | ListedRule): string | RuleSpec {
  const r = typeof rule === 'object' && rule !== null ? snapshot(rule, 'rule') : rule;
  return typeof r === 'object' && r !== null && 'text' in r && 'rule' in r ? (r as ListedRule).rule : (r as string | RuleSpec);
}

function ruleQuery(input: string | RuleSpec | ListedRule, family: Family): RuleQuery {
  const rule = toNativeRule(ruleInput(input), family);
  const { filter, key, prefix, limit } = ruleFilter(rule, family);
  return { filter, key, mask4: family === 'ipv4' ? prefix : 32, mask6: family === 'ipv6' ? prefix : 128, limit };
}

/** A connlimit rule as conntrack filter, key and limit. */
function ruleFilter(rule: NativeRule, family: Family) {
  const cl = rule.matches.find((m) => m.kind === 'connlimit');
  if (!cl || cl.kind !== 'connlimit') invalid('rule', 'has no connlimit match (-m connlimit)');
  const width = family === 'ipv4' ? 32 : 128;
  const filter = everyEntry(familyCode(family), CONNCOUNT_CLOSED);
  if (rule.protocol !== 0) {
    filter.protocol = rule.protocol;
    filter.invertProtocol = rule.invProtocol;
  }
  for (const [from, to] of [['src', rule.src], ['dst', rule.dst]] as const) {
    if (!from || !to) continue;
    const prefix = maskToPrefix(to.mask);
    if (prefix < 0) invalid(from === 'src' ? 'source' : 'destination', 'a non-contiguous mask cannot be a conntrack filter');
    if (prefix === 0 && !to.invert) continue;
    filter[from] = { addr: to.addr, prefix, invert: to.invert };
  }
  for (const m of rule.matches) {
    if (m.kind !== 'tcp' && m.kind !== 'udp') continue;
    const any = (r: [number, number], inv: boolean) => r[0] === 0 && r[1] === 65535 && !inv;
    if (!any(m.sport, m.invSport)) filter.sport = [m.sport[0], m.sport[1], m.invSport];
    if (!any(m.dport, m.invDport)) filter.dport = [m.dport[0], m.dport[1], m.invDport];
  }
  return { filter, key: cl.daddr ? ('destination' as const) : ('source' as const), prefix: cl.maskBits ?? width, limit: cl.limit };
}
