// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The rule lines of a section parsed into appends and packed for the addon (src/op-pack.ts), in
 * slices of about half a millisecond (src/op-slices.ts, as for a transaction), so 10,000 lines
 * don't stall the event loop. On nft, whose plan needs the table's chains, listed meanwhile, the
 * packed lines are then put among the plan's ops by copying their bytes, not packed twice; on
 * legacy, planned first, they are packed among the plan's ops as they come. A line the rule
 * language refuses is an ERR_CONNLIMIT_INVALID naming the line and its text, thrown before
 * anything is written.
 */
import { performance } from 'node:perf_hooks';
import { ValidationError } from '../errors';
import type { NativeOp, PackedOps } from '../native-types';
import { OpWriter } from '../op-pack';
import { prepareOpRuns, prepareOps, type PackedRuns, type SliceDone } from '../op-slices';
import type { Family } from '../rule/types';
import { lineError, type SaveRuleLines } from './save-text';

/** `fn(i)`, its ValidationError retold as one about rule line `i`'s input line (token and all). */
export function atLine<T>(rules: SaveRuleLines, i: number, fn: (i: number) => T): T {
  try {
    return fn(i);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const issue = e.issues[0];
    return lineError(rules.line(i), rules.text(i), issue ? `${issue.path}: ${issue.message}` : e.message);
  }
}

/**
 * Rule line `i`'s append (the firewall's own parse and checks; a promise when its sets' indexes
 * are looked up; null when it wrote the op into `out` itself).
 */
export type RuleLineOp = (i: number, out: OpWriter) => NativeOp | Promise<NativeOp> | null;

/**
 * The appends of the rule lines, packed in slices: op `i` for rule line `i` is `toOp(i, out)`
 * (the firewall's own parse and checks; a promise when its sets' indexes are looked up; null
 * when it wrote the op into `out` itself), its line named in a refusal.
 * @example const appends = await packRuleLines('ipv4', rules, (i) => tx.nativeOp(i));
 */
export function packRuleLines(family: Family, rules: SaveRuleLines, toOp: RuleLineOp): Promise<PackedRuns> {
  return prepareOpRuns(family, rules.length, (i, out) => atLine(rules, i, (j) => toOp(j, out)));
}

/**
 * A restore's whole batch when its plan is made before the rules are parsed (legacy, whose plan
 * needs no listing: src/restore/plan.ts), packed in slices in commit order: the plan's own ops
 * where they stand, each rule line's append where the plan names it. The bytes restoreBatch()
 * writes from the same plan and the lines packed alone (test 86); `onSlice` is told of each
 * slice's ops as they are packed (a restore without noflush stages them for the pool meanwhile).
 * @example const batch = await packRestoreBatch('ipv4', rules, plan.ops, (i) => tx.nativeOp(i), null);
 */
export function packRestoreBatch(family: Family, rules: SaveRuleLines, plan: readonly (NativeOp | number)[], toOp: RuleLineOp, onSlice: SliceDone | null): Promise<PackedOps> {
  const step = (k: number, out: OpWriter): NativeOp | Promise<NativeOp> | null => {
    const op = plan[k] as NativeOp | number;
    return typeof op === 'number' ? atLine(rules, op, (i) => toOp(i, out)) : op;
  };
  return prepareOps(family, plan.length, step, performance.now(), onSlice);
}

/**
 * One commit's batch for a restore plan (src/restore/plan.ts): its own ops packed here, each
 * run of rule appends copied from the bytes packed while parsing.
 * @example await native.commit(restoreBatch('ipv4', plan.ops, appends));
 */
export function restoreBatch(family: Family, ops: readonly (NativeOp | number)[], appends: PackedRuns): PackedOps {
  const { writer: packed, offsets } = appends;
  const rules = packed.finish();
  const out = new OpWriter(family, ops.length);
  let run = -1; // first rule of the pending run of consecutive rule lines
  let next = -1; // the rule line after it
  const flush = (): void => {
    if (run >= 0) out.addPacked(rules, offsets[run] as number, offsets[next] as number);
    run = -1;
    next = -1;
  };
  for (const op of ops) {
    if (typeof op !== 'number') {
      flush();
      out.add(op);
    } else if (op === next) {
      next++;
    } else {
      flush();
      run = op;
      next = op + 1;
    }
  }
  flush();
  return out.finish();
}
