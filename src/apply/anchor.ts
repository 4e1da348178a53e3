// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A jump placed after a named rule: `position: { after: { comment: NAME } }` names another
 * program's rule by its `-m comment --comment NAME` (the name iptables users give rules, kept
 * by every backend), `position: { after: { rule: SPEC } }` by the whole rule, compared by
 * meaning as delete/check do. Checked before the kernel is read; looked up in the built-in
 * chain at each apply, so a moved anchor moves the jump and a missing one is an error naming
 * the place in the desired state, with nothing applied.
 */
import { invalid, NotFoundError } from '../errors';
import { quote } from '../echo';
import type { NativeRule } from '../native-types';
import { commentProblem } from '../rule/comment';
import { toNativeRule } from '../rule/index';
import { renderRule } from '../rule/render';
import type { Family, RuleSpec } from '../rule/types';
import { describe, validateRuleForChain } from '../rule/validate';
import type { TableShape } from '../table-shape';

/** The rule a jump goes after: the last rule of the chain carrying this comment, or equal in meaning to this rule. */
export type JumpAnchor = { comment: string } | { rule: string | RuleSpec };

/** @internal An anchor checked: what names it, and where in the desired state it was given. */
export type CheckedAnchor = { place: string; comment: string } | { place: string; rule: NativeRule; text: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks `{ after: ... }` at `place` (`jumps[0].position`) for a jump from `from`.
 * `parse` re-throws a rule's ValidationError under the place, as the desired state's rules are.
 * @throws {ERR_CONNLIMIT_INVALID} naming `place.after`, `place.after.comment` or `place.after.rule`
 */
export function checkAnchor(position: Record<string, unknown>, place: string, from: string, shape: TableShape, owns: (chain: string) => boolean, parse: <T>(place: string, work: () => T) => T): CheckedAnchor {
  for (const k of Object.keys(position)) if (k !== 'after') invalid(`${place}.${k}`, "unknown key (known: after)");
  const after = position.after;
  const at = `${place}.after`;
  if (!isPlainObject(after) || Object.keys(after).length !== 1 || !('comment' in after || 'rule' in after)) {
    invalid(at, `expected { comment: NAME } or { rule: RULE } naming the rule the jump goes after, got ${describe(after)}`);
  }
  if ('comment' in after) {
    const comment = after.comment;
    if (typeof comment !== 'string' || comment === '') invalid(`${at}.comment`, `expected the comment (-m comment --comment) of a rule in ${from}, got ${describe(comment)}`);
    const problem = commentProblem(comment);
    if (problem) invalid(`${at}.comment`, problem);
    return { place: `${at}.comment`, comment };
  }
  const spec = after.rule;
  const rulePlace = `${at}.rule`;
  if (typeof spec !== 'string' && !isPlainObject(spec)) invalid(rulePlace, `expected a rule (iptables syntax or an object), got ${describe(spec)}`);
  const rule = parse(rulePlace, () => toNativeRule(spec as string | RuleSpec, shape.family as Family));
  parse(rulePlace, () => validateRuleForChain(rule, from));
  const target = rule.target.kind === 'jump' || rule.target.kind === 'goto' ? rule.target.chain : null;
  if (target !== null && owns(target)) invalid(rulePlace, `is a jump into ${quote(target)}, a chain this state owns: its jumps are placed, never anchors`);
  return { place: rulePlace, rule, text: renderRule(rule, shape.family as Family, from) };
}

/**
 * Where the anchor is in a built-in chain's rules: the last rule it names that is not one of
 * our jumps (the last, so that with several rules of one name the jump comes after them all).
 * @throws {ERR_CONNLIMIT_NOT_FOUND} naming the place in the desired state: no such rule
 */
export function findAnchor(rules: readonly NativeRule[], anchor: CheckedAnchor, chain: string, ours: (r: NativeRule) => boolean, same: (a: NativeRule, b: NativeRule) => boolean): number {
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i] as NativeRule;
    if (ours(r)) continue;
    const named = 'comment' in anchor ? r.matches.some((m) => m.kind === 'comment' && m.comment === anchor.comment) : same(r, anchor.rule);
    if (named) return i;
  }
  const what = 'comment' in anchor ? `carries the comment ${quote(anchor.comment)}` : `is ${quote(anchor.text)}`;
  throw new NotFoundError('ERR_CONNLIMIT_NOT_FOUND', `${anchor.place}: no rule in chain ${chain} ${what}, so the jump can't be placed after it; nothing was applied`, {
    hint: 'the jump goes after that rule: add the rule first, or name one that is there',
  });
}
