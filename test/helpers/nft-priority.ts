// SPDX-License-Identifier: GPL-2.0-or-later
// A hook priority as `nft list` prints it, back to its number: nft names a priority within 10
// of a standard one ('filter + 3', 'security - 1') and prints others as numbers.

const NAMED: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

/** @example priorityOf('filter + 3') === 3; priorityOf('security - 1') === 49; priorityOf('12') === 12 */
export function priorityOf(text: string): number {
  if (/^-?\d+$/.test(text)) return Number(text);
  const m = /^(\w+)(?: ([+-]) (\d+))?$/.exec(text);
  const base = m ? NAMED[m[1] as string] : undefined;
  if (m === null || base === undefined) throw new Error(`unexpected priority '${text}'`);
  return base + (m[2] === '-' ? -1 : 1) * Number(m[3] ?? 0);
}

/** The priorities of every base chain in `nft list` text. */
export function prioritiesIn(text: string): number[] {
  return [...text.matchAll(/ priority ([^;]+);/g)].map((m) => priorityOf(m[1] as string));
}
