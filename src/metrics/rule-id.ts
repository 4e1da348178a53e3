// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A rule's identity for metric labels. Positions shift whenever a rule is inserted above, and a
 * label that shifts starts new series for every rule below it; the rule's canonical text (as
 * iptables-save prints it, `-A CHAIN` included) does not. Equal rules in one chain are told
 * apart by occurrence: the second is `<hash>-2`.
 */
import { createHash } from 'node:crypto';
import type { ListedRule } from '../rule/types';

/** 8 hex digits: a table has hundreds of rules, not the tens of thousands a collision would need to be likely. */
function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** `rule_id` for each rule, in the order given (the table's order). */
export function ruleIds(rules: readonly ListedRule[]): string[] {
  const seen = new Map<string, number>();
  return rules.map((r) => {
    const hash = shortHash(r.text);
    const n = (seen.get(hash) ?? 0) + 1;
    seen.set(hash, n);
    return n === 1 ? hash : `${hash}-${n}`;
  });
}
