// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Turns a transaction's ops into the packed batch a commit consumes (src/op-pack.ts), without
 * one long synchronous stretch on the main thread: parsing, validating and packing 10,000 rules
 * takes tens of milliseconds, and the event loop must keep turning meanwhile (the point of doing the kernel
 * work off the main thread). The work runs in slices of about {@link SLICE_MS}, each ended by
 * the clock, not by a count of ops (an op's cost varies with its rule and with the garbage
 * collector); between two slices `setImmediate` lets timers and I/O run. The first slice runs
 * before this returns, so a one-op call reads its rule at once and never waits for a turn of
 * the loop; it counts from when the call began (`since`), so the caller's own work before it
 * (collecting a transaction's steps) and the first slice together stay within one slice.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { NativeOp, PackedOps } from './native-types';
import { OpWriter } from './op-pack';
import type { Family } from './rule/types';

/**
 * The longest slice, in milliseconds. A 1 ms timer waiting behind a slice fires up to one slice
 * late, plus any young-generation collection that lands inside it (~0.3-1 ms), so slices of
 * 1 ms read as 2-3.5 ms of event-loop delay; half that keeps slice and collection together
 * under the 2 ms we aim for. Each turn between slices costs a few microseconds.
 */
export const SLICE_MS = 0.5;

/** Op `i`, or null when it wrote the op into `out` itself (src/firewall.ts Transaction.writeOp). */
export type OpSource = (i: number, out: OpWriter) => NativeOp | Promise<NativeOp> | null;

/**
 * Told of each slice's ops once they are packed, before the event loop turns: they are the
 * bytes `out.finish()[from, out.length)` (whole ops; `from` is 2, past the header, for the first).
 */
export type SliceDone = (out: OpWriter, from: number) => void;

/**
 * A batch holding `count` ops, op `i` given by `op(i)` (which may throw or reject: the promise
 * then rejects and the partial batch is dropped; nothing has reached the kernel).
 * @param since when the call began (`performance.now()`): the first slice ends SLICE_MS after it
 * @param onSlice told of each slice's ops as they are packed (a legacy restore stages them, src/restore/rule-lines.ts)
 * @example const batch = await prepareOps('ipv4', steps.length, (i) => toOp(steps[i]));
 */
export async function prepareOps(family: Family, count: number, op: OpSource, since = performance.now(), onSlice: SliceDone | null = null): Promise<PackedOps> {
  return (await packInSlices(family, count, op, null, since, onSlice)).finish();
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
export async function prepareOpRuns(family: Family, count: number, op: OpSource): Promise<PackedRuns> {
  const offsets = new Uint32Array(count + 1);
  const writer = await packInSlices(family, count, op, offsets, performance.now(), null);
  offsets[count] = writer.length;
  return { writer, offsets };
}

async function packInSlices(family: Family, count: number, op: OpSource, offsets: Uint32Array | null, since: number, onSlice: SliceDone | null): Promise<OpWriter> {
  const batch = new OpWriter(family, count);
  let sliceStart = since;
  let sliced = false;
  let handed = batch.length;
  for (let i = 0; i < count; i++) {
    if (offsets) offsets[i] = batch.length;
    const next = op(i, batch);
    // A promise only for a rule whose set indexes must be looked up (src/rule/set-refs.ts).
    const ready = next instanceof Promise ? await next : next;
    if (ready !== null) batch.add(ready);
    if (i + 1 < count && performance.now() - sliceStart >= SLICE_MS) {
      if (onSlice) {
        onSlice(batch, handed);
        handed = batch.length;
      }
      await nextTurn();
      sliceStart = performance.now();
      sliced = true;
    }
  }
  if (onSlice && handed < batch.length) onSlice(batch, handed);
  // A batch of many slices is handed over in a turn of its own: what the caller does with it at
  // once (the addon copies a 10k-rule batch's bytes when the commit is called, 0.1-0.6 ms) would
  // otherwise lengthen the last slice. A batch of one slice is handed over at once, so a one-op
  // call never waits for a turn.
  if (sliced) await nextTurn();
  return batch;
}
