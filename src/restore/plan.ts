// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The ops that make a table hold one section of iptables-save text, as iptables-restore 1.8.9
 * leaves it (checked against both CLIs in test 58). Pure: the table's chains (listed without
 * their rules) and the section in; one commit's ops out, each rule line's append named by its
 * number among the section's rule lines (the caller packed those while the table was listed).
 *
 * Without noflush the table is replaced whole: every chain flushed, user chains the section
 * does not declare deleted, the ones it declares created when absent. Built-in chains the
 * section does not declare keep their policy on legacy (iptables-legacy-restore flushes them
 * only); on nft they end with policy ACCEPT, since iptables-nft-restore deletes the whole
 * nf_tables table and `iptables-nft-save` shows a missing base chain as ACCEPT.
 * With noflush nothing is flushed but the user chains the section declares; absent ones are
 * created. Either way a built-in chain's `:CHAIN POLICY` sets its policy and rules are appended
 * in input order.
 *
 * On legacy the plan does not need the table: its ops say the same without knowing which chains
 * exist ('deleteUserChains' after the flush, then every declared user chain created; with
 * noflush, 'declareChain': created or flushed), and the commit's own read of the table is the
 * only one. A 10k-rule table read once less is ~5 ms of pool time per restore.
 */
import type { NativeChain, NativeOp } from '../native-types';
import type { Backend } from '../table-shape';
import type { SaveSection } from './save-text';

export interface RestorePlan {
  /** In commit order; a number `i` is the append of the section's rule line `i` (0-based, in input order). */
  ops: (NativeOp | number)[];
  /** The input line each op comes from; 0 for the ops replacing the table adds (flush, deleting chains). */
  lines: number[];
}

/**
 * @param present the table's chains (their rules are not looked at); null on legacy, which plans
 *   without them
 * @example planRestore(null, section, false, 'legacy').ops[1] // { op: 'deleteUserChains', chain: null }
 */
export function planRestore(present: readonly NativeChain[] | null, section: SaveSection, noflush: boolean, backend: Backend): RestorePlan {
  const ops: (NativeOp | number)[] = [];
  const lines: number[] = [];
  const add = (op: NativeOp | number, line: number): void => {
    ops.push(op);
    lines.push(line);
  };
  const declared = new Set(section.chains.map((c) => c.name));
  // Null: which user chains exist is for the commit to find ('declareChain'); with the table
  // emptied first, none does.
  const exists = present === null ? (noflush ? null : new Set<string>()) : new Set(present.map((c) => c.name));
  if (!noflush) {
    add({ op: 'flush', chain: null }, 0);
    if (present === null) add({ op: 'deleteUserChains', chain: null }, 0);
    for (const c of present ?? []) {
      if (c.builtin || declared.has(c.name)) continue;
      add({ op: 'deleteChain', chain: c.name }, 0);
      exists?.delete(c.name);
    }
    if (backend === 'nft' && present !== null) {
      for (const c of present) if (c.builtin && !declared.has(c.name) && c.policy !== 'ACCEPT') add({ op: 'setPolicy', chain: c.name, policy: 'ACCEPT' }, 0);
    }
  }
  const { rules } = section;
  let rule = 0;
  const appendUpTo = (end: number): void => {
    for (; rule < end; rule++) add(rule, rules.line(rule));
  };
  for (const c of section.chains) {
    appendUpTo(c.after);
    if (c.builtin) {
      if (c.policy !== null) add({ op: 'setPolicy', chain: c.name, policy: c.policy }, c.line);
    } else if (exists === null) {
      add({ op: 'declareChain', chain: c.name }, c.line);
    } else if (!exists.has(c.name)) {
      add({ op: 'createChain', chain: c.name }, c.line);
      exists.add(c.name);
    } else if (noflush) {
      add({ op: 'flush', chain: c.name }, c.line);
    }
  }
  appendUpTo(rules.length);
  return { ops, lines };
}
