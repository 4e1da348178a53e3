// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A caller's value as an error message quotes it: whole when short, else its first characters
 * and its size. Messages end up in logs and on terminals; a 1 MB token pasted by mistake (or
 * on purpose) must not come back a megabyte long. Every message that quotes user input goes
 * through here, and a ValidationError cuts its path (which may hold a caller's key) in its
 * message; its structured fields (`path`, `token`, `issues`) keep the exact values.
 */

/** How many characters of a value a message shows. */
export const ECHO_CHARS = 64;

/**
 * `value` as is when at most {@link ECHO_CHARS} characters, else its first 64 characters, `…`
 * and its size in UTF-8 bytes.
 * @example echo('x'.repeat(100)) // 64 x's, then '… (100 bytes)'
 */
export function echo(value: string): string {
  const cut = cutShort(value);
  return cut === null ? value : `${cut}… (${Buffer.byteLength(value, 'utf8')} bytes)`;
}

/**
 * `value` in single quotes, cut as {@link echo} cuts it, the size after the quotes.
 * @example quote('eth0') // "'eth0'"
 */
export function quote(value: string): string {
  const cut = cutShort(value);
  return cut === null ? `'${value}'` : `'${cut}…' (${Buffer.byteLength(value, 'utf8')} bytes)`;
}

/**
 * `value` as JSON quotes it (control characters escaped), cut as {@link echo} cuts it.
 * @example jsonQuote('a"b') // '"a\\"b"'
 */
export function jsonQuote(value: string): string {
  const cut = cutShort(value);
  return cut === null ? JSON.stringify(value) : `${JSON.stringify(`${cut}…`)} (${Buffer.byteLength(value, 'utf8')} bytes)`;
}

/** The first ECHO_CHARS characters, never half a surrogate pair; null when nothing is cut. */
function cutShort(value: string): string | null {
  if (value.length <= ECHO_CHARS) return null;
  const head = value.slice(0, ECHO_CHARS);
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
}
