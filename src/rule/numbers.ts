// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Numbers as the rule language takes them: decimal only. The CLI reads `0x10` as 16 and `010`
 * as 8 through strtoul; we refuse both rather than guess which the writer meant.
 */

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** `text` as a decimal integer 0..max, or null. */
export function parseDecimal(text: string, max: number): number | null {
  if (!DECIMAL.test(text) || text.length > 10) return null;
  const v = Number(text);
  return v <= max ? v : null;
}

/** Why a number-looking word was refused, as a suffix for the message (or ''). */
export function numberHint(text: string): string {
  if (/^0[0-9]+$/.test(text)) return ' (leading zeros are refused: the CLI would read them as octal)';
  if (/^0x/i.test(text)) return ' (write it in decimal)';
  return '';
}
