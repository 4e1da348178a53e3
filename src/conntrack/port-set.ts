// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Sets of ports as sorted, disjoint, non-adjacent ranges: what a rule's tcp/udp port test and its
 * multiport list leave together, so rule-filter.ts can say it as conntrack filters of one range
 * each (the filter model has one range per direction; the native filter code stays as it is).
 */

/** Inclusive `[from, to]` ranges, sorted, disjoint and not touching. */
export type PortSet = Array<[number, number]>;

export const ALL_PORTS: Readonly<PortSet> = Object.freeze([[0, 65535]]) as Readonly<PortSet>;

/** The union of `ranges` (any order, overlapping or not). */
export function portSet(ranges: ReadonlyArray<readonly [number, number]>): PortSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: PortSet = [];
  for (const [from, to] of sorted) {
    const last = out[out.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** Every port not in `set`. */
export function complement(set: Readonly<PortSet>): PortSet {
  const out: PortSet = [];
  let next = 0;
  for (const [from, to] of set) {
    if (from > next) out.push([next, from - 1]);
    next = to + 1;
  }
  if (next <= 65535) out.push([next, 65535]);
  return out;
}

export function intersect(a: Readonly<PortSet>, b: Readonly<PortSet>): PortSet {
  const out: PortSet = [];
  for (const [af, at] of a) {
    for (const [bf, bt] of b) {
      const from = Math.max(af, bf);
      const to = Math.min(at, bt);
      if (from <= to) out.push([from, to]);
    }
  }
  return portSet(out);
}
