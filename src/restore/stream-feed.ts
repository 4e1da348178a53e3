// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A restore's commit streamed (src/commit-stream.ts): the rule lines are packed in parts while
 * the table is listed; once the plan (src/restore/plan.ts) is made, its ops go to the stream in
 * plan order, each run of rule appends copied from the parts packed so far, and the rest as
 * the remaining parts come. So op `i` of the stream is op `i` of the plan, as in one batch
 * (restoreBatch), and a kernel error's op index names the same line.
 */
import type { NativeOp, PackedOps } from '../native-types';
import { OpWriter } from '../op-pack';
import type { Family } from '../rule/types';

interface RulePart {
  bytes: PackedOps;
  /** The rule line of its first op. */
  first: number;
  starts: readonly number[];
}

export class RestoreFeed {
  private readonly parts: RulePart[] = [];
  private packed = 0; // rule lines packed so far
  private plan: readonly (NativeOp | number)[] = [];
  private at = 0; // the next plan op to hand on
  private fed = 0; // rule lines handed on
  private push: ((bytes: PackedOps) => void) | null = null;

  constructor(private readonly family: Family) {}

  /** One part of packed rule lines, in input order (src/op-slices.ts prepareParts). */
  addRules(bytes: PackedOps, starts: readonly number[]): void {
    this.parts.push({ bytes, first: this.packed, starts });
    this.packed += starts.length;
    this.feed();
  }

  /** From now on, plan ops go to `push` as soon as the rule lines they need are packed. */
  start(plan: readonly (NativeOp | number)[], push: (bytes: PackedOps) => void): void {
    this.plan = plan;
    this.push = push;
    this.feed();
  }

  private feed(): void {
    if (!this.push || this.at === this.plan.length) return;
    // Sized for the rule lines ready now (and a few plan ops), not for the whole plan.
    const out = new OpWriter(this.family, this.packed - this.fed + 8);
    const from = this.at;
    while (this.at < this.plan.length) {
      const op = this.plan[this.at] as NativeOp | number;
      if (typeof op !== 'number') {
        out.add(op);
        this.at++;
        continue;
      }
      if (op >= this.packed) break;
      // The run of consecutive rule lines from `op` that this part holds, copied at once.
      const part = this.partOf(op);
      const end = part.first + part.starts.length;
      let next = op;
      while (this.at < this.plan.length && this.plan[this.at] === next && next < end) {
        next++;
        this.at++;
      }
      this.fed += next - op;
      const to = next === end ? part.bytes.length : (part.starts[next - part.first] as number);
      out.addPacked(part.bytes, part.starts[op - part.first] as number, to);
    }
    if (this.at > from) this.push(out.finish());
  }

  private partOf(rule: number): RulePart {
    // Parts are asked for in order: drop the ones wholly behind.
    while ((this.parts[0] as RulePart).first + (this.parts[0] as RulePart).starts.length <= rule) this.parts.shift();
    return this.parts[0] as RulePart;
  }
}
