// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What apply()/removeOwned() change, worked out from one listing of the table: the plan a caller
 * reads and the ops of the one commit that carries it out. Pure; rules are compared with the
 * equality delete/check/ensure use (native/core/xt/same_rule.h: equal in meaning, not bytes).
 *
 * In owned chains the ops go by position (the chains are the caller's, nobody else writes
 * there). In built-in chains, which other programs share, a jump goes out by its meaning, so a
 * rule another program adds meanwhile can't shift ours onto theirs; it goes in at 1, at the
 * end, or (placed after a named rule) at the position after that rule, where a shift can only
 * put our jump a place off.
 */
import { binding } from '../binding';
import type { NativeChain, NativeOp, NativeRule, PackedRule } from '../native-types';
import { packRule } from '../op-pack';
import { renderRule } from '../rule/render';
import type { Family } from '../rule/types';
import type { Backend, TableName } from '../table-shape';
import { jumpTarget, ownsChain, type CheckedDesired, type CheckedJump } from './desired';
import { findAnchor } from './anchor';
import { alignRules } from './align';

/** A rule added or removed: its 1-based position (in the new chain for insert, the old for delete) and its text. */
export interface PlannedRule {
  position: number;
  rule: string;
  /** A jump placed after a named rule: that rule, at its position as the jump goes in. */
  after?: { position: number; rule: string };
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
function chainOps(ctx: Context, chain: string, present: NativeRule[], wanted: NativeRule[], cp: ChainPlan): NativeOp[] {
  const ops: NativeOp[] = [];
  const text = (r: NativeRule): string => renderRule(r, ctx.family, chain);
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
  const same = sameRuleOf(ctx.family, ctx.backend);
  // The same object: a rule the last apply() wrote, known without a dump (firewall.ts).
  const { head, middle, tail } = alignRules(present, wanted, (a, b) => a === b || same(a, b));
  cp.unchanged += head + tail;
  pos += head;
  for (const s of middle) {
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

/**
 * The addon's sameRule over rules packed once each, however often the alignment compares them.
 * On the native form, rules that differ as given are compared again as the form reads them
 * back: its translations are not one to one (`-m state` lists as `-m conntrack --ctstate`, a
 * multiport list as its sorted set, a one-port list as `--dport`, ...), so a desired rule as
 * written need not equal its own listing, and apply() would replace it (and lose its connlimit
 * counts) on every run. The round trip through the form's own encoder and decoder (the form
 * delete and check compare against) holds every equivalence the codec has, which a list of
 * special cases would not; a rule listed from the kernel is already in that form and comes
 * back as it is. Rules equal as given skip it (about 12 µs a rule), so an unchanged state of
 * rules written as they list costs what it did.
 */
export function sameRuleOf(family: Family, backend: Backend): (a: NativeRule, b: NativeRule) => boolean {
  const same = (a: PackedRule, b: PackedRule): boolean => binding().sameRule(family, a, b);
  const { pack, packBack } = packersOf(family);
  if (backend !== 'nftables') return (a, b) => same(pack(a), pack(b));
  return (a, b) => same(pack(a), pack(b)) || same(packBack(a), packBack(b));
}

interface Packers {
  pack: (r: NativeRule) => PackedRule;
  /** The native form: the rule as the form reads it back. */
  packBack: (r: NativeRule) => PackedRule;
}

/**
 * One pair of packers per family for the process, each packing a rule object once
 * while it lives: rule objects are never changed once planned with (desired.ts's memo hands the
 * next apply() the same objects, set indexes make new ones, a listing's set names are written
 * before its plan), so a change to a long state packs only the rules it has not met before.
 */
const packers = new Map<Family, Packers>();

function packersOf(family: Family): Packers {
  let p = packers.get(family);
  if (p === undefined) {
    const pack = packedOnce((r) => packRule(family, r));
    const packBack = packedOnce((r) => {
      // null: a rule the form cannot encode (one listed with expressions we don't model) stays as it is.
      const back = binding().nftablesReadBack(family, pack(r));
      return back === null ? pack(r) : packRule(family, back);
    });
    packers.set(family, (p = { pack, packBack }));
  }
  return p;
}

/** `f` of each rule object, worked out once. */
function packedOnce(f: (r: NativeRule) => PackedRule): (r: NativeRule) => PackedRule {
  const memo = new WeakMap<NativeRule, PackedRule>();
  return (r) => {
    let p = memo.get(r);
    if (p === undefined) memo.set(r, (p = f(r)));
    return p;
  };
}

/**
 * The jumps in the built-in chains: those into owned chains the state does not list (or that
 * sit above the rule they go after, or are a second copy) out by their meaning, the missing in
 * at 1, at the end, or just after their anchor (and after our jumps already there, so several
 * after one rule keep the state's order). The anchor's position is the one the listing gave, in
 * the same turn of the handle's queue as the commit: a foreign write in between can only
 * misplace the jump (never touch another rule), and the next apply puts it back.
 */
function planJumps(ctx: Context, present: NativeChain[], desired: CheckedDesired, planFor: (chain: string) => ChainPlan): { deletes: NativeOp[]; inserts: NativeOp[] } {
  const same = sameRuleOf(ctx.family, ctx.backend);
  const text = (r: NativeRule, chain: string): string => renderRule(r, ctx.family, chain);
  const ours = (r: NativeRule): boolean => {
    const target = jumpTarget(r);
    return target !== null && ownsChain(desired, target);
  };
  const byName = new Map(present.map((c) => [c.name, c]));
  const names = new Set([...present.filter((c) => c.builtin).map((c) => c.name), ...desired.jumps.map((j) => j.from)]);
  const deletes: NativeOp[] = [];
  const inserts: NativeOp[] = [];
  for (const chain of names) {
    const rules = byName.get(chain)?.rules.map((r) => r.rule) ?? [];
    const wanted = desired.jumps.filter((j) => j.from === chain);
    const anchorAt = new Map<CheckedJump, number>();
    for (const j of wanted) if (j.anchor) anchorAt.set(j, findAnchor(rules, j.anchor, chain, ours, same));
    const kept = new Set<CheckedJump>();
    const model = [...rules];
    rules.forEach((r, index) => {
      if (!ours(r)) return;
      const j = wanted.find((d) => !kept.has(d) && index > (anchorAt.get(d) ?? -1) && same(d.rule, r));
      if (j) {
        kept.add(j);
        return;
      }
      planFor(chain).delete.push({ position: index + 1, rule: text(r, chain) });
      deletes.push({ op: 'delete', chain, rule: r });
      // The chain as the delete leaves it: it takes the first rule equal in meaning, as the kernel side does.
      model.splice(model.findIndex((m) => same(m, r)), 1);
    });
    for (const j of wanted) {
      const cp = planFor(chain);
      if (kept.has(j)) {
        cp.unchanged++;
        continue;
      }
      let index = j.position === 'first' ? 0 : model.length;
      const planned: PlannedRule = { position: 0, rule: text(j.rule, chain) };
      if (j.position === 'after') {
        const anchor = rules[anchorAt.get(j) as number] as NativeRule;
        const a = model.indexOf(anchor);
        index = a + 1;
        // Past our jumps already after it, so several after one rule keep the state's order.
        while (index < model.length && ours(model[index] as NativeRule)) index++;
        planned.after = { position: a + 1, rule: text(anchor, chain) };
      }
      planned.position = index + 1;
      cp.insert.push(planned);
      inserts.push(index === model.length ? { op: 'append', chain, rule: j.rule } : { op: 'insert', chain, index, rule: j.rule });
      model.splice(index, 0, j.rule);
    }
  }
  return { deletes, inserts };
}

/** A user chain going whole (removeOwned(), or apply() of a chain its owner no longer lists): planned, its flush and its delete. */
function removeChain(ctx: Context, c: NativeChain, plans: Map<string, ChainPlan>, flushes: NativeOp[], removes: NativeOp[]): void {
  const cp = emptyChainPlan();
  cp.remove = true;
  c.rules.forEach((r, index) => cp.delete.push({ position: index + 1, rule: renderRule(r.rule, ctx.family, c.name) }));
  plans.set(c.name, cp);
  // Every chain going is emptied before any is deleted: they may jump to each other.
  if (c.rules.length > 0) flushes.push({ op: 'flush', chain: c.name });
  removes.push({ op: 'deleteChain', chain: c.name });
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
    ruleOps.push(...chainOps(ctx, chain, existing?.rules.map((r) => r.rule) ?? [], wanted, cp));
  }
  // Out by meaning, in by insert-at-1, append, or just after a named rule.
  const { deletes, inserts } = planJumps(ctx, present, desired, planFor);
  // The owner's chains the state no longer lists: their jumps went above, the rules left in
  // listed chains that jump to them go with ruleOps, so they go last.
  const flushes: NativeOp[] = [];
  const removes: NativeOp[] = [];
  for (const c of present) if (!c.builtin && !desired.chains.has(c.name) && ownsChain(desired, c.name)) removeChain(ctx, c, plans, flushes, removes);
  return finish(ctx, plans, [...creates, ...deletes, ...ruleOps, ...inserts, ...flushes, ...removes]);
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
      if (target === null || !ownsChain(desired, target)) return;
      let cp = plans.get(c.name);
      if (!cp) plans.set(c.name, (cp = emptyChainPlan()));
      cp.delete.push({ position: index + 1, rule: renderRule(r.rule, ctx.family, c.name) });
      jumpOps.push({ op: 'delete', chain: c.name, rule: r.rule });
    });
  }
  for (const c of present) if (!c.builtin && ownsChain(desired, c.name)) removeChain(ctx, c, plans, flushes, removes);
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
