// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The Map a watch's counts() returns. A watch hands the same Map out again until a count changes
 * (src/conntrack/watch.ts), so a caller that changed it would change what every later call
 * answers: its set(), delete() and clear() throw instead, as writing to a frozen object does in
 * strict mode. Everything that reads it (get, has, size, iteration, forEach, `new Map(m)`,
 * util.inspect, structuredClone) works as on any Map, since the entries are the Map's own.
 * A caller that wants to edit the counts takes a copy: `new Map(watch.counts())`.
 */

/** A Map whose mutators throw: what counts() hands out, shared by the calls until a count changes. */
export class CountsView extends Map<string, number> {
  /** Entry `i` of `size` is `keyAt(i)` => `countAt(i)`, in that order (most first: the Map keeps it). */
  constructor(size: number, keyAt: (i: number) => string, countAt: (i: number) => number) {
    super();
    for (let i = 0; i < size; i++) super.set(keyAt(i), countAt(i));
  }

  override set(): never {
    return readOnly('set');
  }

  override delete(): never {
    return readOnly('delete');
  }

  override clear(): never {
    return readOnly('clear');
  }
}

function readOnly(method: string): never {
  throw new TypeError(`watch.counts() is read-only (it is shared until a count changes): ${method}() refused; copy it with new Map(watch.counts()) to edit`);
}
