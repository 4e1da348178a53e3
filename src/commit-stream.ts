// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A transaction's commit streamed into the pool (native/js/commit_stream.h): its ops are packed
 * in slices from the call on (src/op-slices.ts), and when its turn in the table's queue comes
 * the pool starts at once on what needs no op (legacy: the xtables lock and the table's
 * snapshot) and then takes each slice's part as it is packed (legacy: entries encoded and
 * applied to the snapshot; nf_tables: decoded), so that work overlaps the main thread's parsing
 * rather than following it. The commit is sent once the last part is in. A rule that fails its
 * checks in any slice rejects the whole transaction before anything is written: the pool's
 * partial work is dropped (lock released, snapshot freed) before the call rejects.
 */
import type { NativeCommitStream, NativeOp, NativeOpResults, PackedOps } from './native-types';
import { prepareParts } from './op-slices';
import type { Family } from './rule/types';

/**
 * Off: transactions pack every op first and commit them in one piece, as before streaming.
 * Only `npm run bench` turns it off, to measure both ways side by side in one run.
 */
export const streamedCommits = { enabled: true };

export class StreamedOps {
  private readonly packing: Promise<void>;
  private readonly waiting: PackedOps[] = [];
  private sink: ((bytes: PackedOps) => void) | null = null;
  private complete = false;

  /** Starts packing now (the first slice inside this call); `op(i)` may throw or reject. */
  constructor(family: Family, count: number, op: (i: number) => NativeOp | Promise<NativeOp>) {
    this.packing = prepareParts(family, count, op, (bytes, last) => {
      this.complete = last;
      if (this.sink) this.sink(bytes);
      else this.waiting.push(bytes);
    });
    this.packing.catch(() => undefined); // reported by commit(), when the queue gets to it
  }

  /**
   * Commits every op in one commit, all or nothing, at the call's turn in the table's queue:
   * streamed into what `begin` starts, or, for a transaction packed whole in its first slice,
   * handed to `plain` in one piece as before.
   */
  async commit(plain: (ops: PackedOps) => Promise<NativeOpResults>, begin: () => NativeCommitStream | Promise<never>): Promise<NativeOpResults> {
    if (this.complete && this.waiting.length === 1) return plain(this.waiting[0] as PackedOps);
    const stream = await begin();
    // Whatever goes wrong from here, the stream is ended: a stream never ended would keep its
    // lock and snapshot until it is collected.
    try {
      for (const bytes of this.waiting.splice(0)) stream.push(bytes);
      this.sink = (bytes) => stream.push(bytes);
      await this.packing;
    } catch (e) {
      await stream.abort();
      throw e;
    }
    return stream.finish();
  }
}
