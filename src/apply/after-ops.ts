// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The table as a commit of apply()'s ops left it, worked out from the listing the plan was made
 * from: on 'nft' the handle then knows the table at the generation id its commit produced, and
 * the next apply() at that generation plans from it without dumping the table again. Pure.
 * Counters are the listing's (a plan does not read them); user chains' `references` are not
 * kept (nor read by a plan).
 */
import type { NativeChain, NativeOp, NativeRule } from '../native-types';

/**
 * The chains after `ops`, or null when an op is one this does not model (the next apply() then
 * reads the table). `same` is the rule equality the kernel side uses (delete by meaning).
 * @example afterOps(listed, [{ op: 'append', chain: 'LIMITS', rule }], same)
 */
export function afterOps(chains: readonly NativeChain[], ops: readonly NativeOp[], same: (a: NativeRule, b: NativeRule) => boolean): NativeChain[] | null {
  const out = chains.map((c) => ({ ...c, rules: [...c.rules] }));
  const find = (name: string) => out.find((c) => c.name === name);
  const listed = (rule: NativeRule) => ({ rule, packets: 0n, bytes: 0n });
  for (const op of ops) {
    if (op.op === 'createChain') {
      out.push({ name: op.chain, builtin: false, policy: null, packets: 0n, bytes: 0n, references: 0, rules: [] });
      continue;
    }
    const c = find(op.chain ?? '');
    if (!c) return null;
    switch (op.op) {
      case 'append':
        c.rules.push(listed(op.rule));
        break;
      case 'insert':
        c.rules.splice(op.index, 0, listed(op.rule));
        break;
      case 'replace':
        c.rules[op.index] = listed(op.rule);
        break;
      case 'deleteAt':
        c.rules.splice(op.index, 1);
        break;
      case 'delete': {
        const i = c.rules.findIndex((r) => same(r.rule, op.rule));
        if (i < 0) return null;
        c.rules.splice(i, 1);
        break;
      }
      case 'flush':
        c.rules = [];
        break;
      case 'deleteChain':
        out.splice(out.indexOf(c), 1);
        break;
      default:
        return null;
    }
  }
  return out;
}

/**
 * The chains with each owned chain holding exactly the wanted rule objects, as a plan that
 * leaves nothing to change (or its commit) makes it: equal in meaning to what is there, and the
 * same objects as the next apply() of the same text brings (desired.ts's memo), so that plan
 * compares them by identity.
 */
export function withOwned(chains: readonly NativeChain[], owned: ReadonlyMap<string, readonly NativeRule[]>): NativeChain[] {
  return chains.map((c) => {
    const wanted = owned.get(c.name);
    if (!wanted || c.builtin) return c;
    // A listed rule already holding the wanted object is kept: a change to a long chain allocates for what changed.
    return { ...c, rules: wanted.map((rule, i) => (c.rules[i]?.rule === rule ? (c.rules[i] as NativeChain['rules'][number]) : { rule, packets: 0n, bytes: 0n })) };
  });
}
