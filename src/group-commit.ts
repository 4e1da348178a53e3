// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Group commit: the single-op calls that queued up on a handle while its previous commit ran
 * go to the kernel together, in one commit (legacy: one table replace; nf_tables: one batch),
 * and each still settles on its own, as if the calls had run one at a time in call order.
 *
 * The native commit applies ops in order against one snapshot and stops at the first op that
 * fails, naming it (opIndex); nothing is committed then. The ops before it saw exactly the
 * state they would have seen alone, so the failing call gets the error it would have had
 * alone; it is rejected and the group is tried again without it. Each retry drops one member,
 * so a group of n is tried at most n times, and a failed try writes nothing. A commit the
 * kernel itself refuses (the table replace, or the batch) is not tied to one call for sure:
 * then every member is committed alone, in order, so each gets its own answer. Anything else
 * (the lock stayed taken, the namespace is gone, the handle was closed) is what each member
 * would have met at that moment: all of them reject with it.
 */
import type { NativeErrorKind, NativeOp, NativeOpResults, NativeTable } from './native-types';
import { prepareOps } from './op-slices';
import type { Family } from './rule/types';

/** One call in a group: its op, and how to settle it (errors as the addon raised them). */
export interface GroupMember {
  readonly op: NativeOp;
  resolve(results: NativeOpResults): void;
  reject(error: unknown): void;
}

/** The kernel refused the combined commit itself: not an op the planner could name. */
const REFUSALS: ReadonlySet<NativeErrorKind> = new Set(['legacyCommit', 'nftCommit', 'nftCommitRule']);
/** Refused only because someone else committed first, after the addon's own retries. */
const STALE_ERRNOS: ReadonlySet<number> = new Set([11 /* EAGAIN */, 85 /* ERESTART */]);

interface NativeFailure {
  errno?: unknown;
  kind?: unknown;
  opIndex?: unknown;
}

/** Commits `members` (in call order) and settles every one of them; never rejects. */
export async function commitGroup(native: NativeTable, family: Family, members: readonly GroupMember[]): Promise<void> {
  let live = members;
  while (live.length > 0) {
    const error = await attempt(native, family, live);
    if (error === null) return;
    const failure = error as NativeFailure;
    const kind = failure.kind as NativeErrorKind;
    const at = failure.opIndex;
    if (live.length === 1) {
      live[0]?.reject(error);
      return;
    }
    if (typeof at === 'number' && at >= 0 && at < live.length && !REFUSALS.has(kind) && kind !== 'tableOwned') {
      // The error of that call alone: its op was the first (and only) one of its commit.
      failure.opIndex = 0;
      live[at]?.reject(error);
      live = live.filter((_, i) => i !== at);
      continue;
    }
    if (REFUSALS.has(kind) && !STALE_ERRNOS.has(failure.errno as number)) {
      for (const m of live) {
        const alone = await attempt(native, family, [m]);
        if (alone !== null) m.reject(alone);
      }
      return;
    }
    for (const m of live) m.reject(error);
    return;
  }
}

/**
 * One commit of the members' ops: resolves every member and returns null, or returns the
 * error and settles nothing. A member whose op fails to convert is named as the failing op.
 */
async function attempt(native: NativeTable, family: Family, members: readonly GroupMember[]): Promise<unknown> {
  let converting = 0;
  try {
    const batch = await prepareOps(family, members.length, (i) => {
      converting = i;
      return (members[i] as GroupMember).op;
    });
    converting = -1;
    const results = await native.commit(batch);
    members.forEach((m, i) => m.resolve(results.subarray(2 * i, 2 * i + 2)));
    return null;
  } catch (e) {
    if (converting >= 0 && e instanceof Error && !('opIndex' in e)) Object.assign(e, { opIndex: converting });
    return e;
  }
}
