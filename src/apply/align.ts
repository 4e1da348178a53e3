// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Lines up a chain's present rules with the wanted ones, keeping as many present rules in place
 * as it can (a longest common subsequence), so apply() leaves them alone: on nf_tables an
 * untouched rule keeps its connlimit counts. Equal leading and trailing rules are matched first,
 * in linear time, which is the whole job for the usual edit of a few rules; only the differing
 * middle pays for the quadratic table, and past {@link MAX_CELLS} it is rewritten rule by rule.
 */

export type Step = { kind: 'keep'; present: number; wanted: number } | { kind: 'delete'; present: number } | { kind: 'insert'; wanted: number };

/** The rules kept at both ends, and the steps between them. */
export interface Alignment {
  head: number;
  middle: Step[];
  tail: number;
}

/** The largest middle (present × wanted rules) aligned exactly: each cell is one comparison through the addon (about a microsecond). */
export const MAX_CELLS = 1 << 16;

/**
 * How `present` turns into `wanted`: the equal leading (`head`) and trailing (`tail`) rules,
 * kept, and the steps of the differing middle in chain order. The kept ends are counts, not
 * steps: a one-rule change to a long chain allocates for the rules that differ only.
 * @example alignRules([a, b], [a, c, b], eq) // { head: 1, middle: [insert 1], tail: 1 }
 */
export function alignRules<T>(present: readonly T[], wanted: readonly T[], same: (a: T, b: T) => boolean): Alignment {
  // The same object is the same rule, known without a call: most of a long chain's ends.
  let head = 0;
  for (; head < present.length && head < wanted.length; head++) {
    const p = present[head] as T;
    const w = wanted[head] as T;
    if (p !== w && !same(p, w)) break;
  }
  let tail = 0;
  for (; tail < present.length - head && tail < wanted.length - head; tail++) {
    const p = present[present.length - 1 - tail] as T;
    const w = wanted[wanted.length - 1 - tail] as T;
    if (p !== w && !same(p, w)) break;
  }
  return { head, middle: alignMiddle(present, wanted, head, present.length - tail, wanted.length - tail, same), tail };
}

function alignMiddle<T>(present: readonly T[], wanted: readonly T[], from: number, pEnd: number, wEnd: number, same: (a: T, b: T) => boolean): Step[] {
  const n = pEnd - from;
  const m = wEnd - from;
  const steps: Step[] = [];
  if (n * m > MAX_CELLS || n === 0 || m === 0) {
    for (let i = from; i < pEnd; i++) steps.push({ kind: 'delete', present: i });
    for (let j = from; j < wEnd; j++) steps.push({ kind: 'insert', wanted: j });
    return steps;
  }
  // lcs[i * (m + 1) + j]: the longest common run of present[from+i..] and wanted[from+j..].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const eq = new Uint8Array(n * m);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const e = same(present[from + i] as T, wanted[from + j] as T);
      eq[i * m + j] = e ? 1 : 0;
      lcs[i * (m + 1) + j] = e ? (lcs[(i + 1) * (m + 1) + j + 1] as number) + 1 : Math.max(lcs[(i + 1) * (m + 1) + j] as number, lcs[i * (m + 1) + j + 1] as number);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (eq[i * m + j]) steps.push({ kind: 'keep', present: from + i++, wanted: from + j++ });
    else if ((lcs[(i + 1) * (m + 1) + j] as number) >= (lcs[i * (m + 1) + j + 1] as number)) steps.push({ kind: 'delete', present: from + i++ });
    else steps.push({ kind: 'insert', wanted: from + j++ });
  }
  for (; i < n; i++) steps.push({ kind: 'delete', present: from + i });
  for (; j < m; j++) steps.push({ kind: 'insert', wanted: from + j });
  return steps;
}
