// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m conntrack`: `struct xt_conntrack_mtinfo3` (linux/netfilter/xt_conntrack.h), revision 3,
 * as iptables 1.8.9's libxt_conntrack writes it (conntrack_mt_parse) and saves it
 * (conntrack_dump). 164 bytes, XT_ALIGNed to 168; the same blob on legacy and in iptables-nft's
 * compat `match` expression (NETFILTER-NOTES §10).
 *
 * Layout (host byte order, ports too: revision 3 is "the non-NBO form"): four address/mask
 * pairs of 16+16 bytes (origsrc 0, origdst 32, replsrc 64, repldst 96), expires_min 128,
 * expires_max 132, l4proto 136, the four low ports 138..144, match_flags 146, invert_flags 148,
 * state_mask 150, status_mask 152, the four high ports 154..160.
 *
 * Stricter than the CLI: state and status names whole (the CLI takes any prefix through
 * strncasecmp: `--ctstate E` is ESTABLISHED), decimal numbers, no host or service names.
 */
import { quote } from '../../echo';
import type { Family, Negatable, Protocol } from '../types';
import { parseHostMask } from '../address';
import { protocolNumber, protocolWord } from '../names';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ModuleOption, ParseContext, SpecChecker } from './module';
import {
  type RangeSpec, canonicalHostMask, checkRange, get16, get32, has, hostMaskSave, hostMaskText, neg, own,
  parseRangeText, put16, put32, rangeBounds, rangeSpec, unwrap,
} from './values';

export type CtState = 'INVALID' | 'NEW' | 'RELATED' | 'ESTABLISHED' | 'UNTRACKED' | 'SNAT' | 'DNAT';
export type CtStatus = 'NONE' | 'EXPECTED' | 'SEEN_REPLY' | 'ASSURED' | 'CONFIRMED';

/**
 * `-m conntrack`. Lists come back in the order iptables-save prints them; addresses as given
 * (`10.0.0.1`, `10.0.0.0/8`, `10.0.0.1/255.0.255.0`), the host bits kept as the CLI keeps them.
 *
 * @example { kind: 'conntrack', state: ['NEW'] }
 * @example { kind: 'conntrack', state: { not: ['INVALID'] }, protocol: 6, origDestinationPort: 22, direction: 'ORIGINAL' }
 */
declare module '../types' {
  interface ModuleParts {
    conntrack: ConntrackMatch;
  }
}

export interface ConntrackMatch {
  kind: 'conntrack';
  /** `--ctstate` */
  state?: Negatable<CtState[]>;
  /** `--ctproto`: a protocol name or number (listed as the number when it has no name). */
  protocol?: Negatable<Protocol>;
  /** `--ctorigsrc`, `--ctorigdst`, `--ctreplsrc`, `--ctrepldst` */
  origSource?: Negatable<string>;
  origDestination?: Negatable<string>;
  replySource?: Negatable<string>;
  replyDestination?: Negatable<string>;
  /** `--ctorigsrcport`, ... `--ctrepldstport`: a port or `{ from, to }`. */
  origSourcePort?: Negatable<RangeSpec>;
  origDestinationPort?: Negatable<RangeSpec>;
  replySourcePort?: Negatable<RangeSpec>;
  replyDestinationPort?: Negatable<RangeSpec>;
  /** `--ctstatus`; `['NONE']` matches connections with none of the others. */
  status?: Negatable<CtStatus[]>;
  /** `--ctexpire`: remaining lifetime in seconds, a value or `{ from, to }`. */
  expire?: Negatable<RangeSpec>;
  /** `--ctdir` (cannot be negated: REPLY is the inverse of ORIGINAL). */
  direction?: 'ORIGINAL' | 'REPLY';
}

// match_flags / invert_flags
export const F_STATE = 1 << 0;
const F_PROTO = 1 << 1;
const F_STATUS = 1 << 6;
const F_EXPIRES = 1 << 7;
const F_DIRECTION = 1 << 12;
export const F_STATE_ALIAS = 1 << 13;

export const INFO_SIZE = 168;
export const OFF_MATCH_FLAGS = 146;
export const OFF_INVERT_FLAGS = 148;
export const OFF_STATE_MASK = 150;

/** State bits in save order (print_state): INVALID, then XT_CONNTRACK_STATE_BIT(NEW/RELATED/ESTABLISHED), then UNTRACKED, SNAT, DNAT. */
export const STATE_BITS: readonly (readonly [CtState, number])[] = [
  ['INVALID', 1 << 0], ['NEW', 1 << 3], ['RELATED', 1 << 2], ['ESTABLISHED', 1 << 1],
  ['UNTRACKED', 1 << 8], ['SNAT', 1 << 6], ['DNAT', 1 << 7],
];
const STATUS_BITS: readonly (readonly [CtStatus, number])[] = [
  ['EXPECTED', 1 << 0], ['SEEN_REPLY', 1 << 1], ['ASSURED', 1 << 2], ['CONFIRMED', 1 << 3],
];

/** The four address fields: typed key, option, flag, offset of the address (its mask follows). */
const ADDRESSES = [
  ['origSource', '--ctorigsrc', 1 << 2, 0],
  ['origDestination', '--ctorigdst', 1 << 3, 32],
  ['replySource', '--ctreplsrc', 1 << 4, 64],
  ['replyDestination', '--ctrepldst', 1 << 5, 96],
] as const;
/** The four port fields: typed key, option, flag, offset of the low port, of the high port. */
const PORTS = [
  ['origSourcePort', '--ctorigsrcport', 1 << 8, 138, 154],
  ['origDestinationPort', '--ctorigdstport', 1 << 9, 140, 156],
  ['replySourcePort', '--ctreplsrcport', 1 << 10, 142, 158],
  ['replyDestinationPort', '--ctrepldstport', 1 << 11, 144, 160],
] as const;

/** Names in `list` (exact, any case) to their bits, in `table`'s save order; or the bad word. */
export function namesToMask<N extends string>(text: string, table: readonly (readonly [N, number])[]): number | { bad: string } {
  let mask = 0;
  for (const word of text.split(',')) {
    const hit = table.find(([n]) => n === word.toUpperCase());
    if (!hit) return { bad: word };
    mask |= hit[1];
  }
  return mask;
}

export function maskToNames<N extends string>(mask: number, table: readonly (readonly [N, number])[]): N[] {
  return table.filter(([, bit]) => (mask & bit) !== 0).map(([n]) => n);
}

/** A typed name list (a non-empty array of known names) to its bits, or undefined (reported). */
export function checkNames<N extends string>(c: SpecChecker, v: unknown, path: string, table: readonly (readonly [N, number])[], extra: readonly N[] = []): number | undefined {
  const known = [...extra, ...table.map(([n]) => n)];
  if (!Array.isArray(v) || v.length === 0) return c.add(path, `expected a non-empty array of ${known.join(', ')}`);
  let mask = 0;
  let ok = true;
  v.forEach((n: unknown, i) => {
    const hit = table.find(([name]) => name === n);
    if (hit) mask |= hit[1];
    else if (!(extra as readonly unknown[]).includes(n)) {
      ok = false;
      c.add(`${path}[${i}]`, `expected one of ${known.join(', ')}`);
    }
  });
  return ok ? mask : undefined;
}

function statusNames(mask: number): CtStatus[] {
  return mask === 0 ? ['NONE'] : maskToNames(mask, STATUS_BITS);
}

const OPTIONS: readonly ModuleOption[] = [
  { name: '--ctstate', args: 1, invertible: true },
  { name: '--ctproto', args: 1, invertible: true },
  ...ADDRESSES.map(([, name]) => ({ name, args: 1 as const, invertible: true })),
  { name: '--ctstatus', args: 1, invertible: true },
  { name: '--ctexpire', args: 1, invertible: true },
  ...PORTS.map(([, name]) => ({ name, args: 1 as const, invertible: true })),
  { name: '--ctdir', args: 1, invertible: false },
];

interface Draft {
  part: ConntrackMatch;
  seen: Set<string>;
}

function parseProto(text: string, ctx: ParseContext): number {
  const num = parseDecimal(text, 255) ?? (/^[0-9]/.test(text) ? undefined : protocolNumber(text));
  if (num === undefined) ctx.fail(`${quote(text)} is not a protocol name or number 0-255${numberHint(text)}`, 0);
  return num;
}

function option(d: Draft, opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  const v = values[0]!;
  const p = d.part;
  const bad = (r: { error: string }): never => ctx.fail(r.error, 0);
  switch (opt) {
    case '--ctstate': {
      const m = namesToMask(v, STATE_BITS);
      if (typeof m !== 'number') ctx.fail(`bad ctstate ${quote(m.bad)}: use ${STATE_BITS.map(([n]) => n).join(', ')}, comma-separated`, 0);
      p.state = neg(maskToNames(m, STATE_BITS), invert);
      return;
    }
    case '--ctstatus': {
      const m = namesToMask(v, [['NONE' as CtStatus, 0], ...STATUS_BITS]);
      if (typeof m !== 'number') ctx.fail(`bad ctstatus ${quote(m.bad)}: use NONE, ${STATUS_BITS.map(([n]) => n).join(', ')}, comma-separated`, 0);
      p.status = neg(statusNames(m), invert);
      return;
    }
    case '--ctproto': {
      const num = parseProto(v, ctx);
      p.protocol = neg(protocolWord(num) ?? num, invert);
      return;
    }
    case '--ctexpire': {
      const r = parseRangeText(v, 0xffffffff, 'number of seconds');
      if ('error' in r) bad(r);
      else p.expire = neg(r.range, invert);
      return;
    }
    case '--ctdir': {
      const dir = v.toUpperCase();
      if (dir !== 'ORIGINAL' && dir !== 'REPLY') ctx.fail(`--ctdir takes ORIGINAL or REPLY, not ${quote(v)}`, 0);
      p.direction = dir;
      return;
    }
  }
  const addr = ADDRESSES.find(([, name]) => name === opt);
  if (addr) {
    const t = canonicalHostMask(v, ctx.family);
    if (typeof t !== 'string') bad(t);
    else p[addr[0]] = neg(t, invert);
    return;
  }
  const port = PORTS.find(([, name]) => name === opt)!;
  const r = parseRangeText(v, 65535, 'port');
  if ('error' in r) bad(r);
  else p[port[0]] = neg(r.range, invert);
}

const KEYS = new Set([
  'kind', 'state', 'protocol', 'status', 'expire', 'direction', ...ADDRESSES.map(([k]) => k), ...PORTS.map(([k]) => k),
]);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): ConntrackMatch | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  const part: ConntrackMatch = { kind: 'conntrack' };
  const fail = (): void => { ok = false; };
  if (has(o, 'state')) {
    const n = c.negatable(own(o, 'state'), `${path}.state`);
    const m = checkNames(c, n.value, n.path, STATE_BITS);
    if (m === undefined) fail();
    else part.state = neg(maskToNames(m, STATE_BITS), n.invert);
  }
  if (has(o, 'protocol')) {
    const n = c.negatable(own(o, 'protocol'), `${path}.protocol`);
    let num: number | undefined;
    if (typeof n.value === 'string') {
      num = protocolNumber(n.value);
      if (num === undefined) c.add(n.path, `unknown protocol ${quote(n.value)}: give a name such as tcp or a number 0-255`);
    } else num = c.int(n.value, n.path, 0, 255, 'a protocol number');
    if (num === undefined) fail();
    else part.protocol = neg(protocolWord(num) ?? num, n.invert);
  }
  for (const [key, name] of ADDRESSES) {
    if (!has(o, key)) continue;
    const n = c.negatable(own(o, key), `${path}.${key}`);
    const text = c.string(n.value, n.path, `an address for ${name}`);
    const t = text === undefined ? undefined : canonicalHostMask(text, c.family);
    if (typeof t === 'object') c.add(n.path, t.error);
    if (typeof t !== 'string') fail();
    else part[key] = neg(t, n.invert);
  }
  for (const [key] of PORTS) {
    if (!has(o, key)) continue;
    const n = c.negatable(own(o, key), `${path}.${key}`);
    const r = checkRange(c, n.value, n.path, 65535, 'port');
    if (r === undefined) fail();
    else part[key] = neg(r, n.invert);
  }
  if (has(o, 'status')) {
    const n = c.negatable(own(o, 'status'), `${path}.status`);
    const m = checkNames(c, n.value, n.path, STATUS_BITS, ['NONE']);
    if (m === undefined) fail();
    else part.status = neg(statusNames(m), n.invert);
  }
  if (has(o, 'expire')) {
    const n = c.negatable(own(o, 'expire'), `${path}.expire`);
    const r = checkRange(c, n.value, n.path, 0xffffffff, 'number of seconds');
    if (r === undefined) fail();
    else part.expire = neg(r, n.invert);
  }
  if (has(o, 'direction')) {
    const d = own(o, 'direction');
    if (d !== 'ORIGINAL' && d !== 'REPLY') {
      c.add(`${path}.direction`, `expected 'ORIGINAL' or 'REPLY'`);
      fail();
    } else part.direction = d;
  }
  if (ok && Object.keys(part).length === 1) {
    c.add(path, 'a conntrack match needs at least one test (state, status, protocol, an address, a port, expire or direction)');
    return undefined;
  }
  return ok ? part : undefined;
}

function protoNum(p: Protocol): number {
  return typeof p === 'number' ? p : protocolNumber(p)!;
}

function encode(part: ConntrackMatch, family: Family): Buffer {
  const b = Buffer.alloc(INFO_SIZE);
  let flags = 0;
  let inv = 0;
  const mark = (flag: number, invert: boolean): void => {
    flags |= flag;
    if (invert) inv |= flag;
  };
  if (part.state !== undefined) {
    const s = unwrap(part.state);
    mark(F_STATE, s.invert);
    put16(b, OFF_STATE_MASK, s.value.reduce((m, n) => m | STATE_BITS.find(([k]) => k === n)![1], 0));
  }
  if (part.protocol !== undefined) {
    const p = unwrap(part.protocol);
    mark(F_PROTO, p.invert);
    put16(b, 136, protoNum(p.value));
  }
  for (const [key, , flag, off] of ADDRESSES) {
    const a = part[key];
    if (a === undefined) continue;
    const { value, invert } = unwrap(a);
    mark(flag, invert);
    const r = parseHostMask(value, family) as { addr: Buffer; mask: Buffer };
    r.addr.copy(b, off);
    r.mask.copy(b, off + 16);
  }
  for (const [key, , flag, lo, hi] of PORTS) {
    const p = part[key];
    if (p === undefined) continue;
    const { value, invert } = unwrap(p);
    mark(flag, invert);
    const [from, to] = rangeBounds(value);
    put16(b, lo, from);
    put16(b, hi, to);
  }
  if (part.status !== undefined) {
    const s = unwrap(part.status);
    mark(F_STATUS, s.invert);
    put16(b, 152, s.value.reduce((m, n) => m | (STATUS_BITS.find(([k]) => k === n)?.[1] ?? 0), 0));
  }
  if (part.expire !== undefined) {
    const e = unwrap(part.expire);
    mark(F_EXPIRES, e.invert);
    const [min, max] = rangeBounds(e.value);
    put32(b, 128, min);
    put32(b, 132, max);
  }
  if (part.direction !== undefined) mark(F_DIRECTION, part.direction === 'REPLY');
  put16(b, OFF_MATCH_FLAGS, flags);
  put16(b, OFF_INVERT_FLAGS, inv);
  return b;
}

const KNOWN_FLAGS = (1 << 13) - 1;

function decode(d: Buffer, family: Family): ConntrackMatch | null {
  if (d.length !== INFO_SIZE) return null;
  const flags = get16(d, OFF_MATCH_FLAGS);
  const inv = get16(d, OFF_INVERT_FLAGS);
  // The state alias is `-m state` (state.ts); bits we don't know stay opaque, and so does a
  // match without any test, which the CLI refuses to write ("At least one option is required").
  if (flags === 0 || flags & ~KNOWN_FLAGS || inv & ~flags) return null;
  const part: ConntrackMatch = { kind: 'conntrack' };
  const is = (f: number): boolean => (flags & f) !== 0;
  const not = (f: number): boolean => (inv & f) !== 0;
  if (is(F_STATE)) part.state = neg(maskToNames(get16(d, OFF_STATE_MASK), STATE_BITS), not(F_STATE));
  if (is(F_PROTO)) {
    const n = get16(d, 136);
    if (n > 255) return null;
    part.protocol = neg(protocolWord(n) ?? n, not(F_PROTO));
  }
  for (const [key, , flag, off] of ADDRESSES) {
    if (is(flag)) part[key] = neg(hostMaskText(d.subarray(off, off + 16), d.subarray(off + 16, off + 32), family), not(flag));
  }
  for (const [key, , flag, lo, hi] of PORTS) {
    if (is(flag)) part[key] = neg(rangeSpec(get16(d, lo), get16(d, hi)), not(flag));
  }
  if (is(F_STATUS)) part.status = neg(statusNames(get16(d, 152)), not(F_STATUS));
  if (is(F_EXPIRES)) part.expire = neg(rangeSpec(get32(d, 128), get32(d, 132)), not(F_EXPIRES));
  if (is(F_DIRECTION)) part.direction = not(F_DIRECTION) ? 'REPLY' : 'ORIGINAL';
  return part;
}

function bang(invert: boolean): string[] {
  return invert ? ['!'] : [];
}

function rangeText(r: RangeSpec): string {
  const [from, to] = rangeBounds(r);
  return from === to ? String(from) : `${from}:${to}`;
}

/** conntrack_dump's order: state, proto, the addresses, the ports, status, expire, direction. */
function render(part: ConntrackMatch, family: Family): string[] {
  const out = ['-m', 'conntrack'];
  if (part.state !== undefined) {
    const s = unwrap(part.state);
    out.push(...bang(s.invert), '--ctstate', s.value.join(','));
  }
  if (part.protocol !== undefined) {
    const p = unwrap(part.protocol);
    out.push(...bang(p.invert), '--ctproto', String(protoNum(p.value)));
  }
  for (const [key, name] of ADDRESSES) {
    const a = part[key];
    if (a === undefined) continue;
    const { value, invert } = unwrap(a);
    const r = parseHostMask(value, family) as { addr: Buffer; mask: Buffer };
    out.push(...bang(invert), name, hostMaskSave(r.addr, r.mask, family));
  }
  for (const [key, name] of PORTS) {
    const p = part[key];
    if (p === undefined) continue;
    const { value, invert } = unwrap(p);
    out.push(...bang(invert), name, rangeText(value));
  }
  if (part.status !== undefined) {
    const s = unwrap(part.status);
    out.push(...bang(s.invert), '--ctstatus', s.value.join(','));
  }
  if (part.expire !== undefined) {
    const e = unwrap(part.expire);
    out.push(...bang(e.invert), '--ctexpire', rangeText(e.value));
  }
  if (part.direction !== undefined) out.push('--ctdir', part.direction);
  return out;
}

export const conntrack: CompatModule<ConntrackMatch, Draft> = {
  name: 'conntrack',
  type: 'match',
  xtName: 'conntrack',
  revision: 3,
  families: ['ipv4', 'ipv6'],
  options: OPTIONS,
  start: () => ({ part: { kind: 'conntrack' }, seen: new Set() }),
  option,
  finish(d, ctx) {
    // conntrack_mt_check: "At least one option is required".
    if (d.seen.size === 0) ctx.fail('-m conntrack needs at least one option (--ctstate, --ctstatus, --ctproto, ...)');
    return d.part;
  },
  validate,
  render,
  encode,
  decode,
  // One `ct` test per option, as libxt_conntrack 1.8.9's xlate renders them
  // (native/core/nft/native/xlate_conntrack.cc says why the rest is refused).
  nftables(part, family) {
    if (PORTS.some(([key]) => part[key] !== undefined)) return "nft 1.0.6 cannot parse the translation of conntrack's port options (ct original proto-src ...)";
    if (part.state !== undefined) {
      const { value, invert } = unwrap(part.state);
      const nat = value.filter((s) => s === 'SNAT' || s === 'DNAT');
      // `ct status snat|dnat`: libxt_conntrack 1.8.9 drops the other states beside it, and its `!`.
      if (nat.length > 0 && (value.length > 1 || invert)) return '--ctstate SNAT or DNAT translates alone and not negated only';
    }
    if (part.status !== undefined && unwrap(part.status).value.includes('NONE')) return '--ctstatus NONE has no translation';
    if (part.expire !== undefined && rangeBounds(unwrap(part.expire).value)[1] > 4294967) return '--ctexpire over 4294967 seconds has no translation (nft compares milliseconds)';
    for (const [key, option] of ADDRESSES) {
      const a = part[key];
      if (a === undefined) continue;
      const { addr, mask } = parseHostMask(unwrap(a).value, family) as { addr: Buffer; mask: Buffer };
      const bits = [...mask].map((b) => b.toString(2).padStart(8, '0')).join('');
      if (!/^1+0*$/.test(bits)) return `${option} with a mask that is no prefix (or /0) has no translation nft takes`;
      if (addr.some((b, i) => (b & ~mask[i]!) !== 0)) return `${option} with host bits set under its mask has no translation nft keeps`;
    }
    return null;
  },
};
