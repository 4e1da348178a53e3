// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The conntrack filter: what a caller may ask for, its validation, and its native form (the
 * addon pushes what the running kernel can apply into the dump request and checks every entry
 * again in C++). Also how counts are keyed: by source or destination, masked to a prefix.
 * Everything here throws ERR_CONNLIMIT_INVALID before any kernel is asked.
 */
import { invalid, ValidationError, type ValidationIssue } from '../errors';
import { quote } from '../echo';
import type { NativeCtFilter } from '../native-types';
import { maskToPrefix, parseAddress } from '../rule/address';
import { isProtocolName, protocolNumber } from '../rule/names';
import { snapshot } from '../rule/snapshot';
import type { Family, Negatable, PortSpec, Protocol } from '../rule/types';
import { describe } from '../rule/validate';
import { STATUS_BITS, TCP_STATES, type ConntrackStatus, type TcpState } from './names';

/**
 * Which entries to take. Everything given must hold; addresses and ports are those of the
 * original direction (the connection as its initiator opened it), as connlimit sees them.
 */
export interface ConntrackFilter {
  /** Default: both. Implied by an address. */
  family?: Family;
  protocol?: Negatable<Protocol>;
  /** An address or CIDR ('10.1.2.3', '10.1.2.0/24', '2001:db8::/32'). */
  source?: Negatable<string>;
  destination?: Negatable<string>;
  /** A port or inclusive range; needs a protocol with ports (tcp, udp, udplite, sctp, dccp). */
  sport?: Negatable<PortSpec>;
  dport?: Negatable<PortSpec>;
  /** TCP state(s); entries of other protocols never match a state filter. */
  state?: TcpState | TcpState[];
  /** The connection mark: a value, or `{ value, mask }` for `(mark & mask) == value`. */
  mark?: number | { value: number; mask: number };
  /** Conntrack zone (0 is the default zone). */
  zone?: number;
  /** Entries with all these status bits set. */
  status?: ConntrackStatus | ConntrackStatus[];
  /**
   * Live connections only: skip TCP entries in TIME_WAIT and CLOSE, which the table keeps for
   * up to two minutes after a connection closed, as connlimit (nf_conncount) skips them.
   * Default false: every entry, as `conntrack -L` shows them.
   */
  live?: boolean;
}

/** How per-key counts are keyed (countBy, watch). */
export interface KeyOptions {
  /** Key by the original source (default) or destination address. */
  key?: 'source' | 'destination';
  /** Prefix length of IPv4 keys (default 32), or of IPv6 keys when `family` is 'ipv6' and `mask6` is absent. */
  mask?: number;
  /** Prefix length of IPv6 keys (default 128). */
  mask6?: number;
}

/** The fields of {@link ConntrackFilter}, in the order error messages list them. */
export const FILTER_KEYS: readonly string[] = ['family', 'protocol', 'source', 'destination', 'sport', 'dport', 'state', 'mark', 'zone', 'status', 'live'];

/** nf_conncount drops TCP entries in these states (`already_closed()` in net/netfilter/nf_conncount.c). */
export const CONNCOUNT_CLOSED = (1 << 7) | (1 << 8); // TIME_WAIT, CLOSE

const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]); // tcp udp dccp sctp udplite

/**
 * A private copy of a caller's filter or options object, taken before anything reads it: a
 * getter or Proxy trap that throws becomes ERR_CONNLIMIT_INVALID naming the field instead of
 * escaping as a bare Error, and cannot answer differently to the validator and the encoder.
 * Arrays are refused: `[]` has no keys and would pass as the empty filter, which delete()
 * takes as "every entry".
 */
export function ownObject<T>(value: T, path: string): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(path, `must be an object, got ${describe(value)}`);
  return snapshot(value, path);
}

/** Refuses any own key of `options` not in `known` (`what` names the kind in the message). */
export function onlyKeys(options: object, known: readonly string[], what = 'option'): void {
  for (const k of Object.keys(options)) if (!known.includes(k)) invalid(k, `unknown ${what} (known: ${known.join(', ')})`);
}

export function familyCode(f: Family | undefined): 0 | 2 | 10 {
  return f === 'ipv4' ? 2 : f === 'ipv6' ? 10 : 0;
}

/** The native filter that keeps every entry of `family` (0: both), TCP entries in `tcpStatesExcluded` aside. */
export function everyEntry(family: 0 | 2 | 10, tcpStatesExcluded = 0): NativeCtFilter {
  return {
    family, protocol: -1, invertProtocol: false, src: null, dst: null, sport: null, dport: null,
    tcpStates: 0, tcpStatesExcluded, mark: null, zone: null, status: null,
  };
}

function unwrap<T>(v: Negatable<T>): { value: T; not: boolean } {
  if (typeof v === 'object' && v !== null && 'not' in (v as object) && Object.keys(v as object).length === 1) {
    return { value: (v as { not: T }).not, not: true };
  }
  return { value: v as T, not: false };
}

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/**
 * Validate a filter and normalize it for the addon. Collects every problem (with its field
 * path) before throwing, and touches no kernel.
 */
export function toNativeFilter(filter: ConntrackFilter): NativeCtFilter {
  const issues: ValidationIssue[] = [];
  const bad = (p: string, message: string) => issues.push({ path: p, message });
  filter = ownObject(filter, 'filter');
  for (const k of Object.keys(filter)) if (!FILTER_KEYS.includes(k)) bad(k, `unknown filter field (known: ${FILTER_KEYS.join(', ')})`);

  const out = everyEntry(0);
  let family: Family | undefined;
  if (filter.family !== undefined) {
    if (filter.family !== 'ipv4' && filter.family !== 'ipv6') bad('family', `must be 'ipv4' or 'ipv6', got ${describe(filter.family)}`);
    else family = filter.family;
  }

  if (filter.protocol !== undefined) {
    const { value, not } = unwrap(filter.protocol);
    let num: number | undefined;
    if (typeof value === 'number') num = Number.isInteger(value) && value >= 0 && value <= 255 ? value : undefined;
    else if (typeof value === 'string') num = isProtocolName(value) ? protocolNumber(value) : undefined;
    if (num === undefined) bad('protocol', `must be a protocol name ('tcp', 'udp', ...) or a number 0-255, got ${describe(value)}`);
    else if (num === 0) {
      if (not) bad('protocol', "'! all' matches nothing");
    } else {
      out.protocol = num;
      out.invertProtocol = not;
    }
  }

  for (const field of ['source', 'destination'] as const) {
    const raw = filter[field];
    if (raw === undefined) continue;
    const { value, not } = unwrap(raw);
    if (typeof value !== 'string') {
      bad(field, `must be an address or CIDR string, got ${describe(value)}`);
      continue;
    }
    const inferred: Family = family ?? (value.includes(':') ? 'ipv6' : 'ipv4');
    const parsed = parseAddress(value, inferred);
    if ('error' in parsed) {
      bad(field, parsed.error);
      continue;
    }
    const prefix = maskToPrefix(parsed.mask);
    if (prefix < 0) {
      bad(field, `${quote(value)}: the mask is not a prefix (its ones are not contiguous)`);
      continue;
    }
    if (family !== undefined && family !== inferred) bad(field, `${quote(value)} is not an ${family} address`);
    family = inferred;
    out[field === 'source' ? 'src' : 'dst'] = { addr: parsed.addr, prefix, invert: not };
  }
  if (out.src && out.dst && out.src.addr.length !== out.dst.addr.length) bad('destination', 'source and destination are of different families');
  out.family = familyCode(family);

  for (const field of ['sport', 'dport'] as const) {
    const raw = filter[field];
    if (raw === undefined) continue;
    const { value, not } = unwrap(raw);
    const port = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 65535;
    let range: [number, number] | null = null;
    if (typeof value === 'number' && port(value)) range = [value, value];
    else if (typeof value === 'object' && value !== null && port((value as { from: number }).from) && port((value as { to: number }).to)) {
      const r = value as { from: number; to: number };
      if (r.from > r.to) bad(field, `range ${r.from}-${r.to} is empty (from > to)`);
      range = [r.from, r.to];
    } else bad(field, `must be a port 0-65535 or { from, to }, got ${describe(value)}`);
    if (out.protocol < 0 || out.invertProtocol || !PORT_PROTOCOLS.has(out.protocol)) {
      bad(field, 'ports need protocol tcp, udp, udplite, sctp or dccp');
    }
    if (range) out[field] = [range[0], range[1], not];
  }

  if (filter.state !== undefined) {
    const states = Array.isArray(filter.state) ? filter.state : [filter.state];
    if (states.length === 0) bad('state', 'an empty list matches nothing');
    states.forEach((s, i) => {
      const bit = TCP_STATES.indexOf(s);
      if (bit < 0) bad(Array.isArray(filter.state) ? `state[${i}]` : 'state', `must be one of ${TCP_STATES.join(', ')}, got ${describe(s)}`);
      else out.tcpStates |= 1 << bit;
    });
    if (out.protocol >= 0 && (out.protocol !== 6 || out.invertProtocol)) bad('state', 'TCP states need protocol tcp');
  }

  if (filter.mark !== undefined) {
    const m = filter.mark;
    if (isU32(m)) out.mark = [m, 0xffffffff];
    else if (typeof m === 'object' && m !== null && isU32(m.value) && isU32(m.mask)) {
      if ((m.value & ~m.mask) >>> 0 !== 0) bad('mark.value', 'has bits outside the mask: it can never match');
      out.mark = [m.value >>> 0, m.mask >>> 0];
    } else bad('mark', `must be a 32-bit unsigned integer or { value, mask }, got ${describe(m)}`);
  }

  if (filter.zone !== undefined) {
    if (!Number.isInteger(filter.zone) || filter.zone < 0 || filter.zone > 65535) bad('zone', `must be an integer 0-65535, got ${describe(filter.zone)}`);
    else out.zone = filter.zone;
  }

  if (filter.status !== undefined) {
    const list = Array.isArray(filter.status) ? filter.status : [filter.status];
    let bits = 0;
    list.forEach((s, i) => {
      const bit = STATUS_BITS.indexOf(s);
      if (bit < 0) bad(Array.isArray(filter.status) ? `status[${i}]` : 'status', `must be one of ${STATUS_BITS.join(', ')}, got ${describe(s)}`);
      else bits |= 1 << bit;
    });
    if (bits) out.status = [bits >>> 0, bits >>> 0];
  }

  if (filter.live !== undefined) {
    if (typeof filter.live !== 'boolean') bad('live', `must be a boolean, got ${describe(filter.live)}`);
    else if (filter.live) out.tcpStatesExcluded = CONNCOUNT_CLOSED;
  }

  if (issues.length) throw new ValidationError(issues);
  return out;
}

function prefixOption(v: unknown, field: string, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) invalid(field, `must be a prefix length 0-${max}, got ${describe(v)}`);
  return v as number;
}

/** The key to count by. @throws {ERR_CONNLIMIT_INVALID} anything but 'source' or 'destination' */
export function keyOption(key: unknown = 'source'): 'source' | 'destination' {
  if (key !== 'source' && key !== 'destination') invalid('key', `must be 'source' or 'destination', got ${describe(key)}`);
  return key;
}

/**
 * The key prefixes of a filter already normalized: `mask` is the IPv4 prefix, or the IPv6 one
 * when the filter takes IPv6 only and `mask6` is absent (errors then name `mask`).
 */
export function keyPrefixes(filter: NativeCtFilter, mask: unknown, mask6: unknown): { mask4: number; mask6: number } {
  const v6only = filter.family === 10;
  const mask4 = v6only ? 32 : prefixOption(mask, 'mask', 32, 32);
  const prefix6 = prefixOption(mask6 ?? (v6only ? mask : undefined), mask6 === undefined && v6only ? 'mask' : 'mask6', 128, 128);
  return { mask4, mask6: prefix6 };
}
