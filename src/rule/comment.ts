// SPDX-License-Identifier: GPL-2.0-or-later
/** What a comment (-m comment --comment) and other free text may hold: checked by the validator, to-spec and the modules alike. */
import { MAX_COMMENT_BYTES } from './names';

/**
 * Why `text` can't be a comment, or null. At most 255 bytes of UTF-8 (xt_comment_info holds
 * 256 with the NUL; the CLI silently cuts longer ones, even inside a character). No NUL, and
 * no control characters: iptables-save prints a comment raw inside double quotes, so a
 * newline would split the saved rule in two.
 */
export function commentProblem(text: string): string | null {
  return freeTextProblem(text, 'a comment', MAX_COMMENT_BYTES);
}

/**
 * Why `text` can't be free text that iptables-save prints quoted (a comment, a log prefix) in a
 * field of `maxBytes` bytes plus NUL, or null; `what` names it in the message ('a comment').
 */
export function freeTextProblem(text: string, what: string, maxBytes: number): string | null {
  if (text.includes('\0')) return `${what} with a NUL byte`;
  const ctl = /[\u0000-\u001f\u007f-\u009f]/.exec(text);
  if (ctl) {
    const cp = ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `${what} with a control character (U+${cp}): iptables-save would print it raw`;
  }
  if (LONE_SURROGATE.test(text)) return `${what} with a lone UTF-16 surrogate (not valid UTF-8)`;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) return `${what} of ${bytes} bytes of UTF-8 (at most ${maxBytes})`;
  return null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
