// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * connlimit: limit parallel connections per client at the Linux kernel (xt_connlimit), fork-free.
 * Public exports only.
 */
import { invalid } from './errors';
import { toNativeRule, validateChainName as validateChain } from './rule/index';
import { snapshot } from './rule/snapshot';
import { describe } from './rule/validate';
import { renderRule as renderNative } from './rule/render';
import { toRuleSpec } from './rule/to-spec';
import type { Family, ListedRule, RuleInput, RuleSpec } from './rule/types';

export { Firewall, Transaction } from './firewall';
export type { ApplyOptions, Backend, FirewallOptions, Policy, RestoreOptions, RestoreResult, TableName } from './firewall';
export { formatPlan } from './apply/format-plan';
export type { DesiredJump, DesiredState, JumpPosition } from './apply/desired';
export type { JumpAnchor } from './apply/anchor';
export type { ApplyPlan, ChainPlan, PlannedReplace, PlannedRule } from './apply/plan';
export type { Drift, Keeper, KeepOptions } from './apply/keep';
export {
  BackendConflictError,
  BusyError,
  ClosedError,
  ConnlimitError,
  ExistsError,
  InUseError,
  isConnlimitError,
  KernelError,
  KernelSupportError,
  LoadError,
  NetnsGoneError,
  NotFoundError,
  PermissionError,
  ValidationError,
} from './errors';
export type { ConnlimitErrorCode, ValidationIssue } from './errors';
export type * from './rule/types';
export type { ConntrackMatch, CtState, CtStatus, StateMatch, StateName } from './rule/modules';
export type { SetMatch, SetDirection, SetCounterMatch, SetTarget, SetTargetRef } from './rule/modules';
export type { PkttypeMatch, PacketType, LengthMatch, TtlMatch, TcpmssMatch } from './rule/modules';
export type { CtTarget, CtEvent, NotrackTarget, NfqueueTarget, SynproxyTarget, TcpmssTarget } from './rule/modules';
export type {
  HashlimitMatch,
  HashlimitMode,
  HashlimitRate,
  Icmp6Match,
  IcmpMatch,
  IcmpTypeCode,
  IprangeMatch,
  LimitMatch,
  LimitUnit,
  LogLevelName,
  LogTarget,
  MacMatch,
  MarkMatch,
  MarkTarget,
  ConnmarkTarget,
  ConnmarkMode,
  NflogTarget,
  MultiportMatch,
  RecentCommand,
  RecentMatch,
  TimeMatch,
  Weekday,
} from './rule/modules';
export { ConntrackWatch } from './conntrack/index';
export type { OverrunInfo, WatchBatch, WatchChange, WatchCrossing, WatchOptions, WatchStats } from './conntrack/index';
export type { MetricDescriptor, MetricFamily, MetricSource, MetricType, Sample } from './metrics/family';
export { firewallMetrics } from './metrics/firewall-source';
export type { FirewallMetricsOptions } from './metrics/firewall-source';
export { watchMetrics } from './metrics/watch-source';
export type { WatchMetricsOptions } from './metrics/watch-source';
export { registerMetrics } from './metrics/prom-collectors';
export type { MetricsRegistry, RegisterMetricsOptions } from './metrics/prom-collectors';
export { Conntrack } from './conntrack/index';
export type {
  ConntrackEntry,
  ConntrackFilter,
  ConntrackOptions,
  ConntrackStatus,
  ConntrackTuple,
  CountByOptions,
  ListOptions,
  RuleCount,
  TcpState,
} from './conntrack/index';

/** The options argument of parseRule/renderRule, read once (it may come from plain JavaScript). */
function readOptions<T extends object>(options: T): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('options', `expected an options object, got ${describe(options)}`);
  return snapshot(options, 'options');
}

/**
 * Check a chain name as every method that takes one checks it (1–28 characters of
 * `[A-Za-z0-9_.:@+-]`, not starting with `-`, `.`, `:`, `@` or `+`, never a target's name)
 * and return it. No kernel access: whether the chain exists is the kernel's to say.
 * @throws {ERR_CONNLIMIT_INVALID} naming the problem
 * @example validateChainName('LIMITS') // 'LIMITS'
 */
export function validateChainName(name: string): string {
  return validateChain(name, 'chain');
}

/**
 * Parse a rule in iptables syntax into a typed {@link RuleSpec}, validating it as the kernel
 * calls would (no kernel access).
 * @throws {ERR_CONNLIMIT_INVALID} names the offending token
 * @example parseRule('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT')
 */
export function parseRule(text: string, options: { family?: Family } = {}): RuleSpec {
  const family = readOptions(options).family ?? 'ipv4';
  return toRuleSpec(toNativeRule(text, family), family);
}

/**
 * A rule as `iptables-save` prints it: `-A CHAIN ...` when `chain` is given, else the rule alone.
 * @throws {ERR_CONNLIMIT_INVALID} the rule is malformed
 * @example renderRule({ protocol: 'tcp', dport: 22, target: { kind: 'drop' } }) // '-p tcp -m tcp --dport 22 -j DROP'
 */
export function renderRule(rule: RuleInput, options: { family?: Family; chain?: string } = {}): string {
  const o = readOptions(options);
  const family = o.family ?? 'ipv4';
  const chain = o.chain === undefined ? undefined : validateChain(o.chain, 'chain');
  const input = snapshot(rule, 'rule');
  const spec = typeof input === 'object' && input !== null && 'text' in input && 'rule' in input ? (input as ListedRule).rule : (input as string | RuleSpec);
  return renderNative(toNativeRule(spec, family), family, chain);
}

export { Sets } from './sets/index';
export type {
  AddOptions,
  CreateSetOptions,
  DeleteOptions,
  ListedSet,
  ListedSetEntry,
  SetEntry,
  SetEntryInput,
  SetHeaderInfo,
  SetProtocol,
  SetRef,
  SetsOptions,
  SetType,
  TestOptions,
} from './sets/index';
