// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Turns a transaction's ops into the packed batch a commit consumes (src/op-pack.ts), without
 * one long synchronous stretch on the main thread: parsing, validating and packing 10,000 rules
 * takes tens of milliseconds, and the event loop must keep turning meanwhile (the point of doing the kernel
 * work off the main thread). The work runs in slices of about {@link SLICE_MS}; between two
 * slices `setImmediate` lets timers and I/O run. The first slice runs before this returns, so
 * a one-op call reads its rule at once and never waits for a turn of the loop.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { NativeOp, PackedOps } from './native-types';
import { OpWriter } from './op-pack';
import type { Family } from './rule/types';

/** The longest slice, in milliseconds: well under the 2 ms event-loop delay we aim for. */
export const SLICE_MS = 1;

/**
 * A batch holding `count` ops, op `i` given by `op(i)` (which may throw or reject: the promise
 * then rejects and the partial batch is dropped; nothing has reached the kernel).
 * @example const batch = await prepareOps('ipv4', steps.length, (i) => toOp(steps[i]));
 */
export async function prepareOps(family: Family, count: number, op: (i: number) => NativeOp | Promise<NativeOp>): Promise<PackedOps> {
  return (await packInSlices(family, count, op, null)).finish();
}

/** Packed ops, and where each one's bytes start in them (offsets[count] is the end). */
export interface PackedRuns {
  writer: OpWriter;
  offsets: Uint32Array;
}

/**
 * As {@link prepareOps}, keeping where each op starts, so that a plan made later can put these
 * ops among its own by copying their bytes (src/restore), without packing them again.
 * @example const { writer, offsets } = await prepareOpRuns('ipv4', rules.length, (i) => toOp(i));
 */
export async function prepareOpRuns(family: Family, count: number, op: (i: number) => NativeOp | Promise<NativeOp>): Promise<PackedRuns> {
  const offsets = new Uint32Array(count + 1);
  const writer = await packInSlices(family, count, op, offsets);
  offsets[count] = writer.length;
  return { writer, offsets };
}

async function packInSlices(family: Family, count: number, op: (i: number) => NativeOp | Promise<NativeOp>, offsets: Uint32Array | null): Promise<OpWriter> {
  const batch = new OpWriter(family, count);
  let sliceStart = performance.now();
  for (let i = 0; i < count; i++) {
    const next = op(i);
    // A promise only for a rule whose set indexes must be looked up (src/rule/set-refs.ts).
    const ready = next instanceof Promise ? await next : next;
    if (offsets) offsets[i] = batch.length;
    batch.add(ready);
    if (i + 1 < count && performance.now() - sliceStart >= SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return batch;
}
