// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * One queue per key: calls on the same (backend, namespace, family, table) run one at a time,
 * in call order, across every Firewall object of this environment. A legacy read-modify-commit
 * must never interleave with another; the xtables lock orders us against other processes.
 */
const tails = new Map<string, Promise<unknown>>();

export function serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
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

/** Settles when every call queued on `key` so far has settled. */
export function drained(key: string): Promise<unknown> {
  return tails.get(key) ?? Promise.resolve();
}
