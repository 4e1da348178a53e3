// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What `icmp` (IPv4) and `icmp6` share: `struct ipt_icmp` / `struct ip6t_icmp` (the same four
 * bytes: type, code[2] as min/max, invflags; XT_ALIGNed to 8) and the type names of iptables
 * 1.8.9's extensions/libxt_icmp.h, which save prints as numbers (icmp_save, icmp6_save).
 *
 * A part's type is normalized: a number when every code matches (a name such as `echo-request`
 * is its number), `{ type, code }` for one code (`fragmentation-needed` is `{ type: 3, code: 4 }`).
 *
 * Stricter than the CLI: names whole (the CLI takes any unambiguous prefix), decimal numbers,
 * and no code ranges (`3/1:4`): iptables-save prints only a range's first code, so such a rule
 * would not come back as written. A rule with one that another tool wrote lists opaque.
 */
import { echo, quote } from '../../echo';
import { numberHint, parseDecimal } from '../numbers';
import type { SpecChecker } from './module';
import { get16, isObject, own } from './values';

/** An ICMP type: every code of it, or one code. */
export type IcmpTypeCode = number | { type: number; code: number };

/** One row of libxt_icmp.h: a name, its type and code range. */
type Row = readonly [name: string, type: number, codeMin: number, codeMax: number];

export const ICMP_NAMES: readonly Row[] = [
  ['any', 0xff, 0, 0xff],
  ['echo-reply', 0, 0, 0xff], ['pong', 0, 0, 0xff],
  ['destination-unreachable', 3, 0, 0xff], ['network-unreachable', 3, 0, 0], ['host-unreachable', 3, 1, 1],
  ['protocol-unreachable', 3, 2, 2], ['port-unreachable', 3, 3, 3], ['fragmentation-needed', 3, 4, 4],
  ['source-route-failed', 3, 5, 5], ['network-unknown', 3, 6, 6], ['host-unknown', 3, 7, 7],
  ['network-prohibited', 3, 9, 9], ['host-prohibited', 3, 10, 10], ['TOS-network-unreachable', 3, 11, 11],
  ['TOS-host-unreachable', 3, 12, 12], ['communication-prohibited', 3, 13, 13],
  ['host-precedence-violation', 3, 14, 14], ['precedence-cutoff', 3, 15, 15],
  ['source-quench', 4, 0, 0xff],
  ['redirect', 5, 0, 0xff], ['network-redirect', 5, 0, 0], ['host-redirect', 5, 1, 1],
  ['TOS-network-redirect', 5, 2, 2], ['TOS-host-redirect', 5, 3, 3],
  ['echo-request', 8, 0, 0xff], ['ping', 8, 0, 0xff],
  ['router-advertisement', 9, 0, 0xff],
  ['router-solicitation', 10, 0, 0xff],
  ['time-exceeded', 11, 0, 0xff], ['ttl-exceeded', 11, 0, 0xff], ['ttl-zero-during-transit', 11, 0, 0],
  ['ttl-zero-during-reassembly', 11, 1, 1],
  ['parameter-problem', 12, 0, 0xff], ['ip-header-bad', 12, 0, 0], ['required-option-missing', 12, 1, 1],
  ['timestamp-request', 13, 0, 0xff],
  ['timestamp-reply', 14, 0, 0xff],
  ['address-mask-request', 17, 0, 0xff],
  ['address-mask-reply', 18, 0, 0xff],
];

export const ICMPV6_NAMES: readonly Row[] = [
  ['destination-unreachable', 1, 0, 0xff], ['no-route', 1, 0, 0], ['communication-prohibited', 1, 1, 1],
  ['beyond-scope', 1, 2, 2], ['address-unreachable', 1, 3, 3], ['port-unreachable', 1, 4, 4],
  ['failed-policy', 1, 5, 5], ['reject-route', 1, 6, 6],
  ['packet-too-big', 2, 0, 0xff],
  ['time-exceeded', 3, 0, 0xff], ['ttl-exceeded', 3, 0, 0xff], ['ttl-zero-during-transit', 3, 0, 0],
  ['ttl-zero-during-reassembly', 3, 1, 1],
  ['parameter-problem', 4, 0, 0xff], ['bad-header', 4, 0, 0], ['unknown-header-type', 4, 1, 1],
  ['unknown-option', 4, 2, 2],
  ['echo-request', 128, 0, 0xff], ['ping', 128, 0, 0xff],
  ['echo-reply', 129, 0, 0xff], ['pong', 129, 0, 0xff],
  ['router-solicitation', 133, 0, 0xff],
  ['router-advertisement', 134, 0, 0xff],
  ['neighbour-solicitation', 135, 0, 0xff], ['neighbor-solicitation', 135, 0, 0xff],
  ['neighbour-advertisement', 136, 0, 0xff], ['neighbor-advertisement', 136, 0, 0xff],
  ['redirect', 137, 0, 0xff],
];

/** Type and code range to the normalized spelling, or null for a code range (not modelled). */
function normalize(type: number, codeMin: number, codeMax: number): IcmpTypeCode | null {
  if (codeMin === 0 && codeMax === 0xff) return type;
  return codeMin === codeMax ? { type, code: codeMin } : null;
}

/** A name row, matched whole and in any case (as strncasecmp does for whole names). */
function byName(text: string, names: readonly Row[]): IcmpTypeCode | 'any' | undefined {
  const row = names.find(([n]) => n.toLowerCase() === text.toLowerCase());
  if (!row) return undefined;
  return row[0] === 'any' ? 'any' : normalize(row[1], row[2], row[3])!;
}

/**
 * `--icmp-type` / `--icmpv6-type` text: a name, `TYPE` or `TYPE/CODE` (decimal), or why not.
 * `what` is `ICMP` or `ICMPv6`, for messages.
 */
export function parseIcmpText(text: string, names: readonly Row[], what: string): IcmpTypeCode | 'any' | { error: string } {
  const named = byName(text, names);
  if (named !== undefined) return named;
  const [typeText, codeText, ...rest] = text.split('/');
  const type = parseDecimal(typeText!, 255);
  if (type === null) {
    if (/^[A-Za-z]/.test(text)) {
      const full = names.filter(([n]) => n.toLowerCase().startsWith(text.toLowerCase())).map(([n]) => n);
      const hint = full.length ? ` (abbreviations are not taken: ${full.join(' or ')}?)` : `: use ${names.map(([n]) => n).join(', ')}`;
      return { error: `unknown ${what} type ${quote(text)}${hint}` };
    }
    if (typeText!.includes(':')) return { error: `${what} type ranges are not supported (the CLI refuses them too): one type per rule` };
    return { error: `${quote(typeText!)} is not an ${what} type 0-255${numberHint(typeText!)}` };
  }
  if (codeText === undefined) return type;
  if (rest.length) return { error: `${echo(text)} is not TYPE/CODE` };
  if (codeText.includes(':')) {
    return { error: `code ranges (${quote(text)}) are refused: iptables-save prints only the first code, so the rule would not restore as written` };
  }
  const code = parseDecimal(codeText, 255);
  if (code === null) return { error: `${quote(codeText)} is not an ${what} code 0-255${numberHint(codeText)}` };
  return { type, code };
}

/** A typed type (a name, a number or `{ type, code }`), normalized, or undefined (reported). */
export function checkIcmpType(c: SpecChecker, v: unknown, path: string, names: readonly Row[], what: string): IcmpTypeCode | 'any' | undefined {
  if (typeof v === 'string') {
    const named = byName(v, names);
    if (named === undefined) return c.add(path, `unknown ${what} type ${quote(v)}: use ${names.map(([n]) => n).join(', ')}, a number or { type, code }`);
    return named;
  }
  if (typeof v === 'number') return c.int(v, path, 0, 255, `an ${what} type`);
  if (!isObject(v)) return c.add(path, `expected an ${what} type name, a number 0-255 or { type, code }`);
  c.keys(v, TYPE_CODE_KEYS, path);
  const type = c.int(own(v, 'type'), `${path}.type`, 0, 255, `an ${what} type`);
  const code = c.int(own(v, 'code'), `${path}.code`, 0, 255, `an ${what} code`);
  if (type === undefined || code === undefined) return undefined;
  return { type, code };
}
const TYPE_CODE_KEYS = new Set(['type', 'code']);

/** The four bytes (padded to eight) of ipt_icmp / ip6t_icmp. */
export function encodeIcmp(type: number, codeMin: number, codeMax: number, invert: boolean): Buffer {
  return Buffer.from([type, codeMin, codeMax, invert ? 1 : 0, 0, 0, 0, 0]);
}

/** Type, code and `!` from the bytes: the inverse of encodeIcmp, or null for what the part can't say. */
export function decodeIcmp(d: Buffer): { value: IcmpTypeCode; type: number; codeMin: number; codeMax: number; invert: boolean } | null {
  // invflags other than IPT_ICMP_INV (0x01) and padding bytes are not what the CLI writes.
  if (d.length !== 8 || d[3]! > 1 || get16(d, 4) !== 0 || get16(d, 6) !== 0) return null;
  const value = normalize(d[0]!, d[1]!, d[2]!);
  return value === null ? null : { value, type: d[0]!, codeMin: d[1]!, codeMax: d[2]!, invert: d[3] === 1 };
}

/** The type's code range: every code for a bare type. */
export function codeRange(v: IcmpTypeCode): [number, number, number] {
  return typeof v === 'number' ? [v, 0, 0xff] : [v.type, v.code, v.code];
}

/** `TYPE` or `TYPE/CODE`, as icmp_save prints it. */
export function icmpSaveText(v: IcmpTypeCode): string {
  return typeof v === 'number' ? String(v) : `${v.type}/${v.code}`;
}
