// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What apply()/removeOwned() change, worked out from one listing of the table: the plan a caller
 * reads and the ops of the one commit that carries it out. Pure; rules are compared with the
 * equality delete/check/ensure use (native/core/xt/same_rule.h: equal in meaning, not bytes).
 *
 * In owned chains the ops go by position (the chains are the caller's, nobody else writes
 * there). In built-in chains, which other programs share, they never do: a jump goes in with
 * insert-at-1 or append and out by its meaning, so a rule another program adds meanwhile can't
 * shift ours onto theirs.
 */
import { binding } from '../binding';
import type { NativeChain, NativeOp, NativeRule, PackedRule } from '../native-types';
import { packRule } from '../op-pack';
import { renderRule } from '../rule/render';
import type { Family } from '../rule/types';
import type { Backend, TableName } from '../table-shape';
import { jumpTarget, type CheckedDesired } from './desired';
import { alignRules, type Step } from './align';

/** A rule added or removed: its 1-based position (in the new chain for insert, the old for delete) and its text. */
export interface PlannedRule {
  position: number;
  rule: string;
}

/** A rule rewritten in place (`iptables -R`). */
export interface PlannedReplace {
  position: number;
  from: string;
  to: string;
}

/** The changes to one chain; for a built-in chain only the jumps into owned chains count. */
export interface ChainPlan {
  /** The chain is created (`-N`). */
  create: boolean;
  /** The chain is deleted (`-X`; removeOwned()). */
  remove: boolean;
  insert: PlannedRule[];
  delete: PlannedRule[];
  replace: PlannedReplace[];
  /** How many of the chain's (owned) rules stay as they are. */
  unchanged: number;
}

export interface ApplyPlan {
  backend: Backend;
  table: TableName;
  family: Family;
  /** Owned chains, and the built-in chains holding jumps into them, in the order they are changed. */
  chains: Record<string, ChainPlan>;
  /** How many chains and rules are created, inserted, replaced or deleted. */
  changes: number;
  /** Whether applying this plan commits to the kernel (false when nothing differs). */
  commit: boolean;
  /**
   * Legacy only, when it commits: the kernel rebuilds every connlimit match of the table on any
   * commit, so every connlimit count in the table (ours and other programs') restarts from zero.
   */
  resetsConnlimitCounts: boolean;
  /** Whether the plan was committed (false for a dry run, or when nothing differed). */
  committed: boolean;
}

/** @internal The plan and the ops that carry it out. */
export interface Planned {
  plan: ApplyPlan;
  ops: NativeOp[];
}

interface Context {
  backend: Backend;
  table: TableName;
  family: Family;
}

function emptyChainPlan(): ChainPlan {
  return { create: false, remove: false, insert: [], delete: [], replace: [], unchanged: 0 };
}

function finish(ctx: Context, chains: Map<string, ChainPlan>, ops: NativeOp[]): Planned {
  let changes = 0;
  for (const c of chains.values()) changes += Number(c.create) + Number(c.remove) + c.insert.length + c.delete.length + c.replace.length;
  const commit = ops.length > 0;
  const plan: ApplyPlan = {
    ...ctx,
    chains: Object.fromEntries(chains),
    changes,
    commit,
    resetsConnlimitCounts: commit && ctx.backend === 'legacy',
    committed: false,
  };
  return { plan, ops };
}

/** The ops that turn `present` into `wanted` in `chain`, recorded in `cp`. */
function chainOps(family: Family, chain: string, present: NativeRule[], wanted: NativeRule[], cp: ChainPlan): NativeOp[] {
  const ops: NativeOp[] = [];
  const text = (r: NativeRule): string => renderRule(r, family, chain);
  let pos = 0; // 0-based, in the chain as the ops so far leave it
  let length = present.length;
  const flushGap = (dels: number[], ins: number[]): void => {
    const pairs = Math.min(dels.length, ins.length);
    for (let t = 0; t < pairs; t++) {
      const p = dels[t] as number;
      const d = ins[t] as number;
      cp.replace.push({ position: d + 1, from: text(present[p] as NativeRule), to: text(wanted[d] as NativeRule) });
      ops.push({ op: 'replace', chain, index: pos++, rule: wanted[d] as NativeRule });
    }
    for (const p of dels.slice(pairs)) {
      cp.delete.push({ position: p + 1, rule: text(present[p] as NativeRule) });
      ops.push({ op: 'deleteAt', chain, index: pos });
      length--;
    }
    for (const d of ins.slice(pairs)) {
      cp.insert.push({ position: d + 1, rule: text(wanted[d] as NativeRule) });
      const rule = wanted[d] as NativeRule;
      ops.push(pos === length ? { op: 'append', chain, rule } : { op: 'insert', chain, index: pos, rule });
      pos++;
      length++;
    }
  };
  let dels: number[] = [];
  let ins: number[] = [];
  const same = sameRuleOf(family);
  // The same object: a rule the last apply() wrote, known without a dump (firewall.ts).
  const steps: Step[] = alignRules(present, wanted, (a, b) => a === b || same(a, b));
  for (const s of steps) {
    if (s.kind === 'delete') dels.push(s.present);
    else if (s.kind === 'insert') ins.push(s.wanted);
    else {
      flushGap(dels, ins);
      dels = [];
      ins = [];
      cp.unchanged++;
      pos++;
    }
  }
  flushGap(dels, ins);
  return ops;
}

/** The addon's sameRule over rules packed once each, however often the alignment compares them. */
export function sameRuleOf(family: Family): (a: NativeRule, b: NativeRule) => boolean {
  const packed = new WeakMap<NativeRule, PackedRule>();
  const pack = (r: NativeRule): PackedRule => {
    let p = packed.get(r);
    if (p === undefined) packed.set(r, (p = packRule(family, r)));
    return p;
  };
  return (a, b) => binding().sameRule(family, pack(a), pack(b));
}

/** The jumps into owned chains found in the built-in chains: where each is, and whether the desired state keeps it. */
function jumpsInBuiltins(family: Family, present: NativeChain[], desired: CheckedDesired): { kept: Set<CheckedDesired['jumps'][number]>; stale: Array<{ chain: string; index: number; rule: NativeRule }> } {
  const kept = new Set<CheckedDesired['jumps'][number]>();
  const same = sameRuleOf(family);
  const stale: Array<{ chain: string; index: number; rule: NativeRule }> = [];
  for (const c of present) {
    if (!c.builtin) continue;
    c.rules.forEach((r, index) => {
      const target = jumpTarget(r.rule);
      if (target === null || !desired.chains.has(target)) return;
      const j = desired.jumps.find((d) => d.from === c.name && d.to === target && !kept.has(d) && same(d.rule, r.rule));
      if (j) kept.add(j);
      else stale.push({ chain: c.name, index, rule: r.rule });
    });
  }
  return { kept, stale };
}

/** The plan that makes the table hold `desired`, touching owned chains and jumps into them only. */
export function planApply(ctx: Context, present: NativeChain[], desired: CheckedDesired): Planned {
  const byName = new Map(present.map((c) => [c.name, c]));
  const plans = new Map<string, ChainPlan>();
  const planFor = (chain: string): ChainPlan => {
    let p = plans.get(chain);
    if (!p) plans.set(chain, (p = emptyChainPlan()));
    return p;
  };
  const creates: NativeOp[] = [];
  const ruleOps: NativeOp[] = [];
  for (const [chain, wanted] of desired.chains) {
    const cp = planFor(chain);
    const existing = byName.get(chain);
    if (!existing) {
      cp.create = true;
      creates.push({ op: 'createChain', chain });
    }
    ruleOps.push(...chainOps(ctx.family, chain, existing?.rules.map((r) => r.rule) ?? [], wanted, cp));
  }
  const { kept, stale } = jumpsInBuiltins(ctx.family, present, desired);
  const jumpOps: NativeOp[] = [];
  // Out by meaning, in by insert-at-1 or append: never by a position another program could shift.
  for (const s of stale) {
    planFor(s.chain).delete.push({ position: s.index + 1, rule: renderRule(s.rule, ctx.family, s.chain) });
    jumpOps.push({ op: 'delete', chain: s.chain, rule: s.rule });
  }
  for (const j of desired.jumps) {
    const cp = planFor(j.from);
    if (kept.has(j)) {
      cp.unchanged++;
      continue;
    }
    const left = (byName.get(j.from)?.rules.length ?? 0) - stale.filter((s) => s.chain === j.from).length + cp.insert.length;
    const first = j.position === 'first' && left > 0;
    cp.insert.push({ position: first ? 1 : left + 1, rule: renderRule(j.rule, ctx.family, j.from) });
    jumpOps.push(first ? { op: 'insert', chain: j.from, index: 0, rule: j.rule } : { op: 'append', chain: j.from, rule: j.rule });
  }
  return finish(ctx, plans, [...creates, ...jumpOps.filter((o) => o.op === 'delete'), ...ruleOps, ...jumpOps.filter((o) => o.op !== 'delete')]);
}

/**
 * The plan that removes the owned chains and every jump into them from the built-in chains. On
 * the native form every rule of the library's tables goes (a flush per chain stands for the
 * commit, which Firewall.removeOwned makes by deleting the tables).
 */
export function planRemove(ctx: Context, present: NativeChain[], desired: CheckedDesired): Planned {
  if (ctx.backend === 'nftables') return planRemoveTables(ctx, present);
  const plans = new Map<string, ChainPlan>();
  const jumpOps: NativeOp[] = [];
  const flushes: NativeOp[] = [];
  const removes: NativeOp[] = [];
  for (const c of present) {
    if (!c.builtin) continue;
    c.rules.forEach((r, index) => {
      const target = jumpTarget(r.rule);
      if (target === null || !desired.chains.has(target)) return;
      let cp = plans.get(c.name);
      if (!cp) plans.set(c.name, (cp = emptyChainPlan()));
      cp.delete.push({ position: index + 1, rule: renderRule(r.rule, ctx.family, c.name) });
      jumpOps.push({ op: 'delete', chain: c.name, rule: r.rule });
    });
  }
  for (const c of present) {
    if (c.builtin || !desired.chains.has(c.name)) continue;
    const cp = emptyChainPlan();
    cp.remove = true;
    c.rules.forEach((r, index) => cp.delete.push({ position: index + 1, rule: renderRule(r.rule, ctx.family, c.name) }));
    plans.set(c.name, cp);
    // Every owned chain is emptied before any is deleted: they may jump to each other.
    if (c.rules.length > 0) flushes.push({ op: 'flush', chain: c.name });
    removes.push({ op: 'deleteChain', chain: c.name });
  }
  return finish(ctx, plans, [...jumpOps, ...flushes, ...removes]);
}

/** The native form: every rule of every chain of the library's tables, whatever the state lists. */
function planRemoveTables(ctx: Context, present: NativeChain[]): Planned {
  const plans = new Map<string, ChainPlan>();
  const flushes: NativeOp[] = [];
  for (const c of present) {
    if (c.rules.length === 0) continue;
    const cp = emptyChainPlan();
    c.rules.forEach((r, index) => cp.delete.push({ position: index + 1, rule: renderRule(r.rule, ctx.family, c.name) }));
    plans.set(c.name, cp);
    flushes.push({ op: 'flush', chain: c.name });
  }
  return finish(ctx, plans, flushes);
}
