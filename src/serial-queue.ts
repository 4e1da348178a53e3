// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * One queue per key: calls on the same (backend, namespace, family, table) run one at a time,
 * in call order, across every Firewall object of this environment (the namespace by its
 * identity, so handles opened through different paths to one namespace share the queue). A legacy read-modify-commit
 * must never interleave with another; the xtables lock orders us against other processes.
 *
 * Group commit: single-op writes of one owner (a Firewall handle, or a string that handles
 * allowed to share a commit have in common: src/group-owner.ts) that queue up behind each
 * other join one group, committed as one job when its turn comes (src/group-commit.ts). A group
 * takes members until its job starts or anything else is queued on the key, so the queue's order
 * is kept: nothing queued after a member runs before it, nothing queued before it runs after.
 * No timer: a lone call's job starts on the next microtask, exactly as an ungrouped call would.
 */
const tails = new Map<string, Promise<unknown>>();

interface OpenGroup<M> {
  readonly owner: object | string;
  readonly members: M[];
}

/** Per key, the group still taking members: the last job queued, not started yet. */
const openGroups = new Map<string, OpenGroup<unknown>>();

function enqueue<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, tail);
  // Forget the key once its last call settles, so the map holds only busy tables.
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return run;
}

export function serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
  openGroups.delete(key); // a member queued after this call must run after it
  return enqueue(key, work);
}

/**
 * Adds `member` to the open group of `owner` on `key`, or queues a new group holding it whose
 * job is `commit(members)`. `commit` settles every member itself and must not reject.
 */
export function joinGroup<M>(key: string, owner: object | string, member: M, commit: (members: M[]) => Promise<void>): void {
  const open = openGroups.get(key) as OpenGroup<M> | undefined;
  if (open !== undefined && open.owner === owner) {
    open.members.push(member);
    return;
  }
  const group: OpenGroup<M> = { owner, members: [member] };
  openGroups.set(key, group);
  void enqueue(key, () => {
    if (openGroups.get(key) === group) openGroups.delete(key); // members arriving from now on wait for the next job
    return commit(group.members);
  });
}

/** Settles when every call queued on `key` so far has settled. */
export function drained(key: string): Promise<unknown> {
  return tails.get(key) ?? Promise.resolve();
}
