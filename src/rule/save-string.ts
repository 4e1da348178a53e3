// SPDX-License-Identifier: GPL-2.0-or-later
/** How iptables-save quotes a free-text value (comments, log prefixes): shared by render.ts and the modules. */

/** Characters `xtables_save_string` leaves unquoted. */
const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/**
 * A string as `xtables_save_string` (libxtables, 1.8.9) prints it: bare when it is non-empty and
 * only `[A-Za-z0-9_-]`, else in double quotes with `"`, `\` and `'` escaped by a backslash.
 *
 * @example saveString('hello world') // '"hello world"'
 */
export function saveString(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}
