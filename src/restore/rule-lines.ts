// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The rule lines of a section parsed into appends, in slices of about a millisecond (as
 * src/op-slices.ts does for a transaction), so 10,000 lines don't stall the event loop. A line
 * the rule language refuses is an ERR_CONNLIMIT_INVALID naming the line and its text, thrown
 * before anything reaches the kernel.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ValidationError } from '../errors';
import type { NativeOp } from '../native-types';
import { SLICE_MS } from '../op-slices';
import { lineError, type SaveRuleLine } from './save-text';

/** `fn()`, its ValidationError retold as one about the input line (token and all). */
export function atLine<T>(r: SaveRuleLine, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const issue = e.issues[0];
    return lineError(r.line, r.text, issue ? `${issue.path}: ${issue.message}` : e.message);
  }
}

/**
 * Op `i` for rule line `i`, by `toOp(i)` (the firewall's own parse and checks), in slices.
 * @example const appends = await ruleOps(rules, (i) => tx.nativeOp(i));
 */
export async function ruleOps(rules: readonly SaveRuleLine[], toOp: (i: number) => NativeOp): Promise<NativeOp[]> {
  const ops: NativeOp[] = new Array(rules.length);
  let sliceStart = performance.now();
  for (let i = 0; i < rules.length; i++) {
    ops[i] = atLine(rules[i] as SaveRuleLine, () => toOp(i));
    if (i + 1 < rules.length && performance.now() - sliceStart >= SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return ops;
}
