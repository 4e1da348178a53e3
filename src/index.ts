// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * connlimit: limit parallel connections per client at the Linux kernel (xt_connlimit), fork-free.
 * Public exports only.
 */
import { toNativeRule } from './rule/index';
import { renderRule as renderNative } from './rule/render';
import { toRuleSpec } from './rule/to-spec';
import type { Family, ListedRule, RuleInput, RuleSpec } from './rule/types';

export { Firewall, Transaction } from './firewall';
export type { Backend, FirewallOptions, Policy, TableName } from './firewall';
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
  NotFoundError,
  PermissionError,
  ValidationError,
} from './errors';
export type { ConnlimitErrorCode, ValidationIssue } from './errors';
export type * from './rule/types';

/**
 * Parse a rule in iptables syntax into a typed {@link RuleSpec}, validating it as the kernel
 * calls would (no kernel access).
 * @throws {ERR_CONNLIMIT_INVALID} names the offending token
 * @example parseRule('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT')
 */
export function parseRule(text: string, options: { family?: Family } = {}): RuleSpec {
  const family = options.family ?? 'ipv4';
  return toRuleSpec(toNativeRule(text, family), family);
}

/**
 * A rule as `iptables-save` prints it: `-A CHAIN ...` when `chain` is given, else the rule alone.
 * @throws {ERR_CONNLIMIT_INVALID} the rule is malformed
 * @example renderRule({ protocol: 'tcp', dport: 22, target: { kind: 'drop' } }) // '-p tcp -m tcp --dport 22 -j DROP'
 */
export function renderRule(rule: RuleInput, options: { family?: Family; chain?: string } = {}): string {
  const family = options.family ?? 'ipv4';
  const spec = typeof rule === 'object' && rule !== null && 'text' in rule && 'rule' in rule ? (rule as ListedRule).rule : (rule as string | RuleSpec);
  return renderNative(toNativeRule(spec, family), family, options.chain);
}

