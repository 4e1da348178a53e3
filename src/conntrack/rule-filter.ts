// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a connlimit rule counts, as a conntrack query: the rule's protocol, ports (tcp/udp and
 * multiport) and addresses as filters, its `--connlimit-mask` and saddr/daddr as the key, TCP entries in TIME_WAIT
 * and CLOSE left out as nf_conncount leaves them (NETFILTER-NOTES.md §6.3). countFor and
 * watchFor both start here.
 */
import { invalid } from '../errors';
import type { NativeCtFilter, NativeRule, NativeWatchOptions } from '../native-types';
import { maskToPrefix } from '../rule/address';
import { toNativeRule } from '../rule/index';
import { type MultiportMatch, decodeExtension } from '../rule/modules';
import { multiportPorts } from '../rule/modules/multiport';
import { snapshot } from '../rule/snapshot';
import type { Family, ListedRule, RuleSpec } from '../rule/types';
import { CONNCOUNT_CLOSED, everyEntry, familyCode, onlyKeys, ownObject } from './filter';
import { ALL_PORTS, type PortSet, complement, intersect, portSet } from './port-set';
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

/** A rule's query: its filters (an entry passes at most one), the key and its prefixes, and the rule's limit. */
export interface RuleQuery {
  filters: NativeCtFilter[];
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
  const { filters, key, mask4, mask6, limit } = ruleQuery(rule, options.family ?? 'ipv4');
  // A watch has one filter: the native watch would need one per range to say more.
  if (filters.length !== 1) {
    invalid('rule', `its ports make ${filters.length} separate ranges, and a watch takes one (countFor takes any): watch one rule per port range`);
  }
  const filter = filters[0]!;
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
  const { filters, key, prefix, limit } = ruleFilter(rule, family);
  return { filters, key, mask4: family === 'ipv4' ? prefix : 32, mask6: family === 'ipv6' ? prefix : 128, limit };
}

/**
 * A port set as the port tests of filters, one each: null for every port, one negated range
 * when that says it (`! --dport 22`), else its ranges; none for no port at all.
 */
function filterRanges(set: Readonly<PortSet>): Array<[number, number, boolean] | null> {
  if (set.length === 1 && set[0]![0] === 0 && set[0]![1] === 65535) return [null];
  const outside = complement(set);
  if (set.length > 1 && outside.length === 1) return [[outside[0]![0], outside[0]![1], true]];
  return set.map(([from, to]) => [from, to, false]);
}

/**
 * A connlimit rule as conntrack filters, key and limit. The rule counts an entry that passes any
 * one of the filters, and no entry passes two: the rule's ports (its tcp/udp match and a
 * multiport list, `!` included) as disjoint ranges, one filter per range (at most 16 for
 * destination ports times 2 for source ports). A multiport `--ports` list (source or
 * destination) is refused: disjoint filters can't say it.
 */
function ruleFilter(rule: NativeRule, family: Family) {
  const cl = rule.matches.find((m) => m.kind === 'connlimit');
  if (!cl || cl.kind !== 'connlimit') invalid('rule', 'has no connlimit match (-m connlimit)');
  const width = family === 'ipv4' ? 32 : 128;
  const base = everyEntry(familyCode(family), CONNCOUNT_CLOSED);
  if (rule.protocol !== 0) {
    base.protocol = rule.protocol;
    base.invertProtocol = rule.invProtocol;
  }
  for (const [from, to] of [['src', rule.src], ['dst', rule.dst]] as const) {
    if (!from || !to) continue;
    const prefix = maskToPrefix(to.mask);
    if (prefix < 0) invalid(from === 'src' ? 'source' : 'destination', 'a non-contiguous mask cannot be a conntrack filter');
    if (prefix === 0 && !to.invert) continue;
    base[from] = { addr: to.addr, prefix, invert: to.invert };
  }
  let sports = ALL_PORTS;
  let dports = ALL_PORTS;
  const range = (r: [number, number], invert: boolean): PortSet => (invert ? complement([r]) : [r]);
  for (const m of rule.matches) {
    if (m.kind === 'tcp' || m.kind === 'udp') {
      sports = intersect(sports, range(m.sport, m.invSport));
      dports = intersect(dports, range(m.dport, m.invDport));
    }
    const mp = m.kind === 'opaque' ? decodeExtension('match', m, family) : null;
    if (mp?.module.name !== 'multiport') continue;
    const { direction, list, invert } = multiportPorts(mp.part as MultiportMatch);
    if (direction === 'ports') invalid('rule', 'a multiport --ports list (source or destination port) cannot be said as conntrack filters: give --sports or --dports');
    const set = portSet(list.map((r) => (typeof r === 'number' ? [r, r] : [r.from, r.to])));
    if (direction === 'sports') sports = intersect(sports, invert ? complement(set) : set);
    else dports = intersect(dports, invert ? complement(set) : set);
  }
  const filters: NativeCtFilter[] = [];
  for (const sport of filterRanges(sports)) {
    for (const dport of filterRanges(dports)) filters.push({ ...base, sport, dport });
  }
  return { filters, key: cl.daddr ? ('destination' as const) : ('source' as const), prefix: cl.maskBits ?? width, limit: cl.limit };
}
