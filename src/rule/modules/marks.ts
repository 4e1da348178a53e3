// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Packet and connection marks as mark, MARK and CONNMARK take them: 32-bit values in decimal or
 * in the `0x` hex iptables-save prints them in. The CLI reads them with strtoul base 0, so `010`
 * would be 8: leading zeros are refused, as everywhere in the rule language.
 */
import { quote } from '../../echo';
import { parseDecimal } from '../numbers';
import type { SpecChecker } from './module';

export const FULL_MASK = 0xffffffff;

const HEX = /^0x[0-9a-fA-F]{1,8}$/;

/** `text` as a mark 0..0xffffffff (decimal or 0x hex), or null. */
export function parseMark(text: string): number | null {
  return HEX.test(text) ? parseInt(text.slice(2), 16) : parseDecimal(text, FULL_MASK);
}

/** `V` or `V/M` (XTTYPE_MARKMASK32): the mask is 0xffffffff when left out. */
export function parseMarkMask(text: string): { value: number; mask: number } | null {
  const [v = '', m, extra] = text.split('/');
  const value = parseMark(v);
  const mask = m === undefined ? FULL_MASK : parseMark(m);
  return value === null || mask === null || extra !== undefined ? null : { value, mask };
}

/** The message for a word that is no mark. */
export function badMark(text: string, what = 'a mark'): string {
  return `${quote(text)} is not ${what}: a number 0-4294967295, decimal or 0x hex`;
}

/** `0x1f`: how iptables-save prints a mark or mask (printf "0x%x"). */
export function markHex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** A typed mark or mask: an integer 0..0xffffffff. */
export function checkMark(c: SpecChecker, v: unknown, path: string, what = 'a mark'): number | undefined {
  return c.int(v, path, 0, FULL_MASK, what);
}

/** The options MARK and CONNMARK take for "clear MASK's bits, then xor VALUE". */
export const XMARK_OPTIONS = ['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark'] as const;

/**
 * One of XMARK_OPTIONS as the xmark pair the kernel keeps (mark_tg_parse, connmark_tg_parse_v2):
 * --set-mark V/M clears V|M, --and-mark V clears ~V, --or-mark V sets V's bits, --xor-mark V
 * flips them. Null when the word is no mark (the two --set forms take V/M, the rest V alone).
 */
export function xmarkOf(option: string, text: string): { value: number; mask: number } | null {
  if (option === '--set-xmark' || option === '--set-mark') {
    const v = parseMarkMask(text);
    if (v === null) return null;
    return option === '--set-xmark' ? v : { value: v.value, mask: (v.value | v.mask) >>> 0 };
  }
  const v = parseMark(text);
  if (v === null) return null;
  if (option === '--and-mark') return { value: 0, mask: ~v >>> 0 };
  return option === '--or-mark' ? { value: v, mask: v } : { value: v, mask: 0 };
}
