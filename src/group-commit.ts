// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Group commit: the single-op calls that queued up on a table while its previous commit ran
 * go to the kernel together, in one commit (legacy: one table replace; nf_tables: one batch),
 * and each still settles on its own, as if the calls had run one at a time in call order. The
 * calls may come from several handles whose settings agree (src/group-owner.ts); the group is
 * committed through the first member's handle. That handle's commit checks that its netns path
 * still names the namespace it opened; the other paths among the members are checked first
 * (one stat each, in the pool), and the members of a path that names another namespace now (or
 * nothing) are committed alone, through their own handle, which fails as it would have alone:
 * nothing is written through a handle whose name has left its namespace.
 *
 * The native commit applies ops in order against one snapshot and stops at the first op that
 * fails, naming it (opIndex); nothing is committed then. The ops before it saw exactly the
 * state they would have seen alone, so the failing call gets the error it would have had
 * alone; it is rejected and the group is tried again without it. Each retry drops one member,
 * so a group of n is tried at most n times, and a failed try writes nothing. A commit the
 * kernel itself refuses (the table replace, or the batch) is not tied to one call for sure:
 * then every member is committed alone, through its own handle, in order, so each gets its own
 * answer. A failure of the committing handle itself (its netns path names another namespace
 * now, its socket failed, ...) is what that handle's members would have met: they reject with
 * it, and the others are committed again without them. Anything else (the lock stayed taken,
 * other writers kept the generation moving) is what each member would have met at that moment:
 * all of them reject with it.
 */
import type { NativeErrorKind, NativeOp, NativeOpResults, NativeTable } from './native-types';
import { prepareOps } from './op-slices';
import type { Family } from './rule/types';

/** One call in a group: its op, its handle's table, and how to settle it (errors as the addon raised them). */
export interface GroupMember {
  readonly op: NativeOp;
  readonly native: NativeTable;
  /** The handle's netns path (null: the caller's own namespace). */
  readonly netns: string | null;
  resolve(results: NativeOpResults): void;
  reject(error: unknown): void;
}

/** The kernel refused the combined commit itself: not an op the planner could name. */
const REFUSALS: ReadonlySet<NativeErrorKind> = new Set(['legacyCommit', 'nftCommit', 'nftCommitRule']);
/** Refused only because someone else committed first, after the addon's own retries. */
const STALE_ERRNOS: ReadonlySet<number> = new Set([11 /* EAGAIN */, 85 /* ERESTART */]);
/** Failures of one handle, not of the table: a member of another handle would not have met them. */
const HANDLE_FAILURES: ReadonlySet<NativeErrorKind> = new Set(['closed', 'netnsGone', 'netnsEnter', 'nftSocket', 'tableOwned']);

interface NativeFailure {
  errno?: unknown;
  kind?: unknown;
  opIndex?: unknown;
}

/** Commits `members` (in call order) and settles every one of them; never rejects. */
export async function commitGroup(family: Family, members: readonly GroupMember[]): Promise<void> {
  let live = members;
  while (live.length > 0) {
    const first = live[0] as GroupMember;
    const native = first.native;
    const checking = movedPaths(first, live);
    const moved = checking instanceof Promise ? await checking : checking;
    if (moved.size > 0) {
      const leaving = live.filter((m) => m.netns !== null && moved.has(m.netns));
      for (const m of leaving) {
        const alone = await attempt(m.native, family, [m]);
        if (alone !== null) m.reject(alone);
      }
      live = live.filter((m) => !leaving.includes(m));
      continue;
    }
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
        const alone = await attempt(m.native, family, [m]);
        if (alone !== null) m.reject(alone);
      }
      return;
    }
    if (HANDLE_FAILURES.has(kind) && live.some((m) => m.native !== native)) {
      for (const m of live) if (m.native === native) m.reject(error);
      live = live.filter((m) => m.native !== native);
      continue;
    }
    for (const m of live) m.reject(error);
    return;
  }
}

/** No path to check: nothing moved (never added to). */
const NONE_MOVED: ReadonlySet<string> = new Set();

/**
 * The netns paths of `live` other than the committing member's that no longer name the
 * namespace their handles opened. At once when there is none, as for every group of one
 * handle: no promise and no turn of the microtask queue on a lone call's way to the kernel.
 */
function movedPaths(first: GroupMember, live: readonly GroupMember[]): ReadonlySet<string> | Promise<ReadonlySet<string>> {
  let others: Map<string, NativeTable> | null = null;
  for (const m of live) {
    if (m.netns === null || m.netns === first.netns) continue;
    // Handles of one path and one queue key opened the same namespace: one check answers for all.
    others ??= new Map();
    if (!others.has(m.netns)) others.set(m.netns, m.native);
  }
  return others === null ? NONE_MOVED : checkPaths(others);
}

async function checkPaths(others: ReadonlyMap<string, NativeTable>): Promise<ReadonlySet<string>> {
  const moved = new Set<string>();
  await Promise.all(
    [...others].map(async ([path, native]) => {
      if (await native.netnsChanged().then((changed) => changed, () => true)) moved.add(path);
    }),
  );
  return moved;
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
