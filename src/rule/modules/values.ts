// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What several compat modules share: plain-data access for validation, `!` wrapping, host-order
 * struct fields, ranges, and addresses as libxtables' `XTTYPE_HOSTMASK` stores and prints them.
 */
import { endianness } from 'node:os';
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import { formatIp, maskToPrefix, parseHostMask } from '../address';
import { addressBits } from '../names';
import { numberHint, parseDecimal } from '../numbers';
import type { SpecChecker } from './module';

const LE = endianness() === 'LE';

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** An own property's value (never an inherited one), undefined when absent. */
export function own(o: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

export function has(o: Record<string, unknown>, key: string): boolean {
  return own(o, key) !== undefined;
}

export function neg<T>(value: T, invert: boolean): Negatable<T> {
  return invert ? { not: value } : value;
}

/** `T | { not: T }` taken apart (for parts already normalized). */
export function unwrap<T>(v: Negatable<T>): { value: T; invert: boolean } {
  if (typeof v === 'object' && v !== null && 'not' in v && Object.keys(v).length === 1) return { value: (v as { not: T }).not, invert: true };
  return { value: v as T, invert: false };
}

/** Kernel structs hold these fields in host byte order. */
export function put16(b: Buffer, off: number, v: number): void {
  if (LE) b.writeUInt16LE(v, off);
  else b.writeUInt16BE(v, off);
}
export function put32(b: Buffer, off: number, v: number): void {
  if (LE) b.writeUInt32LE(v, off);
  else b.writeUInt32BE(v, off);
}
export function put64(b: Buffer, off: number, v: bigint): void {
  if (LE) b.writeBigUInt64LE(v, off);
  else b.writeBigUInt64BE(v, off);
}
export function get64(b: Buffer, off: number): bigint {
  return LE ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off);
}
export function get16(b: Buffer, off: number): number {
  return LE ? b.readUInt16LE(off) : b.readUInt16BE(off);
}
export function get32(b: Buffer, off: number): number {
  return LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
}

/** A single value or an inclusive range, as ports and timeouts are given. */
export type RangeSpec = number | { from: number; to: number };

export function rangeBounds(r: RangeSpec): [number, number] {
  return typeof r === 'number' ? [r, r] : [r.from, r.to];
}

/** The canonical spelling: a range of one value is that value. */
export function rangeSpec(from: number, to: number): RangeSpec {
  return from === to ? from : { from, to };
}

/** `N` or `N:M` (decimal, N ≤ M ≤ max); `what` names the unit for messages. */
export function parseRangeText(text: string, max: number, what: string): { range: RangeSpec } | { error: string } {
  const parts = text.split(':');
  if (parts.length > 2) return { error: `${quote(text)} is not a ${what} or a range FROM:TO` };
  const nums: number[] = [];
  for (const p of parts) {
    const v = parseDecimal(p, max);
    if (v === null) {
      if (what === 'port' && /^[A-Za-z]/.test(p)) {
        return { error: `${quote(p)} is a service name: give the port number (service names depend on the host's /etc/services)` };
      }
      return { error: `${quote(p)} is not a ${what} 0-${max}${numberHint(p)}` };
    }
    nums.push(v);
  }
  const [from, to = from] = nums as [number, number?];
  if (from > to) return { error: `range ${quote(text)} is backwards (from > to)` };
  return { range: rangeSpec(from, to) };
}

/** parseRangeText with the open ends libxtables' XTTYPE_UINT16RC takes: `:M` is `0:M`, `N:` is `N:max`. */
export function parseOpenRangeText(text: string, max: number, what: string): { range: RangeSpec } | { error: string } {
  const full = text.startsWith(':') ? `0${text}` : text.endsWith(':') ? `${text}${max}` : text;
  return parseRangeText(full, max, what);
}

/** A typed `RangeSpec` checked, or undefined (reported). */
export function checkRange(c: SpecChecker, v: unknown, path: string, max: number, what: string): RangeSpec | undefined {
  if (typeof v === 'number') return c.int(v, path, 0, max, `a ${what}`);
  if (!isObject(v)) return c.add(path, `expected a ${what} or { from, to }`);
  c.keys(v, RANGE_KEYS, path);
  const from = c.int(own(v, 'from'), `${path}.from`, 0, max, `a ${what}`);
  const to = c.int(own(v, 'to'), `${path}.to`, 0, max, `a ${what}`);
  if (from === undefined || to === undefined) return undefined;
  if (from > to) return c.add(path, `range ${from}-${to} is backwards (from > to)`);
  return rangeSpec(from, to);
}
const RANGE_KEYS = new Set(['from', 'to']);

/**
 * A `XTTYPE_HOSTMASK` address in its canonical typed spelling: the address as given (not
 * masked: the CLI keeps the host bits and prints them), then nothing when no mask was given,
 * `/BITS` for a contiguous mask, `/MASK` otherwise. `10.0.0.1` and `10.0.0.1/32` are different
 * bytes for IPv4 (see parseHostMask) and stay different spellings.
 */
export function hostMaskText(addr: Buffer, mask: Buffer, family: Family): string {
  const bytes = family === 'ipv6' ? 16 : 4;
  const host = formatIp(addr.subarray(0, bytes));
  if (mask.every((b) => b === 0xff)) return host;
  const m = mask.subarray(0, bytes);
  const bits = maskToPrefix(m);
  return `${host}/${bits === -1 ? formatIp(m) : bits}`;
}

/** The canonical spelling of an address text, or why it is not one. */
export function canonicalHostMask(text: string, family: Family): string | { error: string } {
  const r = parseHostMask(text, family);
  if ('error' in r) return r;
  return hostMaskText(r.addr, r.mask, family);
}

/**
 * The address as libxtables prints it in save output (`xtables_ipaddr_to_numeric` +
 * `xtables_ipmask_to_numeric` and their IPv6 twins): a full-width mask prints nothing.
 */
export function hostMaskSave(addr: Buffer, mask: Buffer, family: Family): string {
  const bytes = family === 'ipv6' ? 16 : 4;
  const m = mask.subarray(0, bytes);
  const bits = maskToPrefix(m);
  const host = formatIp(addr.subarray(0, bytes));
  if (bits === addressBits(family)) return host;
  return `${host}/${bits === -1 ? formatIp(m) : bits}`;
}

/**
 * Why `name` cannot name a kernel table that shows under /proc (recent's lists, hashlimit's
 * tables), or undefined. The kernel (xt_check_proc_name) refuses '', '.', '..', '/' and names of
 * `size` bytes or more; we also keep to a plain charset, since the name is printed unquoted in
 * iptables-save output, where a space or quote would change the rule read back.
 */
export function procNameProblem(name: string, size: number): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length >= size) return `the name is ${name.length} characters; the kernel takes at most ${size - 1}`;
  if (name === '.' || name === '..') return `${quote(name)} cannot name a table (it is a /proc directory entry)`;
  if (!/^[A-Za-z0-9_.:@+-]+$/.test(name)) return `${quote(name)} has characters outside A-Z a-z 0-9 _ . : @ + -`;
  return undefined;
}
