// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m iprange`: `struct xt_iprange_mtinfo` (linux/netfilter/xt_iprange.h), revision 1, as
 * iptables 1.8.9's libxt_iprange writes it (iprange_mt_parse) and saves it (iprange_mt4_save /
 * iprange_mt6_save). 68 bytes, XT_ALIGNed to 72; the same blob on legacy and in iptables-nft's
 * compat `match` expression (NETFILTER-NOTES §10).
 *
 * Layout: four `union nf_inet_addr` of 16 bytes (src_min 0, src_max 16, dst_min 32, dst_max 48,
 * network byte order, the IPv4 ones in their first 4 bytes), flags at 64.
 *
 * Stricter than the CLI: a reversed range (`10.0.0.9-10.0.0.1`) is refused (the CLI warns that it
 * "will never match" and writes it), and addresses are numeric (no host names).
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import { formatIp, parseIpv4, parseIpv6 } from '../address';
import { addressBytes } from '../names';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { has, neg, own, unwrap } from './values';

/**
 * `-m iprange`: an inclusive address range, `FROM-TO` (a single address is the range of one).
 *
 * @example { kind: 'iprange', source: '10.0.0.1-10.0.0.100' }
 * @example { kind: 'iprange', destination: { not: '2001:db8::1-2001:db8::ff' } }
 */
export interface IprangeMatch {
  kind: 'iprange';
  /** `--src-range FROM-TO` */
  source?: Negatable<string>;
  /** `--dst-range FROM-TO` */
  destination?: Negatable<string>;
}

declare module '../types' {
  interface ModuleParts {
    iprange: IprangeMatch;
  }
}

const INFO_SIZE = 72;
const OFF_FLAGS = 64;
const SRC = 1 << 0;
const DST = 1 << 1;
const SRC_INV = 1 << 4;
const DST_INV = 1 << 5;

/** Typed key, option, flag, inversion flag, offset of the range's low address. */
const SIDES = [
  ['source', '--src-range', SRC, SRC_INV, 0],
  ['destination', '--dst-range', DST, DST_INV, 32],
] as const;

function parseIp(text: string, family: Family): Buffer | null {
  return family === 'ipv6' ? parseIpv6(text) : parseIpv4(text);
}

/** The two addresses of `FROM-TO` (or `ADDR`), or why the text is not a range. */
function parseRange(text: string, family: Family): [Buffer, Buffer] | { error: string } {
  const words = text.split('-');
  if (words.length > 2) return { error: `${quote(text)} is not an address range FROM-TO` };
  const ips: Buffer[] = [];
  for (const w of words) {
    const ip = parseIp(w, family);
    if (!ip) return { error: `${quote(w)} is not an ${family === 'ipv6' ? 'IPv6' : 'IPv4'} address (numeric only)` };
    ips.push(ip);
  }
  const [from, to = from] = ips as [Buffer, Buffer?];
  if (Buffer.compare(from, to) > 0) return { error: `range ${quote(text)} is reversed (FROM > TO) and would never match` };
  return [from, to];
}

/** The canonical spelling: `FROM-TO` with both printed as iptables-save prints them. */
function canonical(text: string, family: Family): string | { error: string } {
  const r = parseRange(text, family);
  return 'error' in r ? r : `${formatIp(r[0])}-${formatIp(r[1])}`;
}

interface Draft {
  part: IprangeMatch;
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  const side = SIDES.find(([, name]) => name === opt)!;
  const t = canonical(values[0]!, ctx.family);
  if (typeof t !== 'string') ctx.fail(t.error, 0);
  d.part[side[0]] = neg(t, invert);
}

const KEYS = new Set(['kind', 'source', 'destination']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): IprangeMatch | undefined {
  c.keys(o, KEYS, path);
  const part: IprangeMatch = { kind: 'iprange' };
  let ok = true;
  for (const [key, name] of SIDES) {
    if (!has(o, key)) continue;
    const n = c.negatable(own(o, key), `${path}.${key}`);
    const text = c.string(n.value, n.path, `an address range for ${name}`);
    const t = text === undefined ? undefined : canonical(text, c.family);
    if (typeof t === 'object') c.add(n.path, t.error);
    if (typeof t !== 'string') ok = false;
    else part[key] = neg(t, n.invert);
  }
  if (ok && part.source === undefined && part.destination === undefined) {
    c.add(path, 'an iprange match needs source or destination');
    return undefined;
  }
  return ok ? part : undefined;
}

function encode(part: IprangeMatch, family: Family): Buffer {
  const b = Buffer.alloc(INFO_SIZE);
  let flags = 0;
  for (const [key, , flag, inv, off] of SIDES) {
    const v = part[key];
    if (v === undefined) continue;
    const { value, invert } = unwrap(v);
    const [from, to] = parseRange(value, family) as [Buffer, Buffer];
    from.copy(b, off);
    to.copy(b, off + 16);
    flags |= flag | (invert ? inv : 0);
  }
  b[OFF_FLAGS] = flags;
  return b;
}

function decode(d: Buffer, family: Family): IprangeMatch | null {
  if (d.length !== INFO_SIZE) return null;
  const flags = d[OFF_FLAGS]!;
  if (flags === 0 || flags & ~(SRC | DST | SRC_INV | DST_INV)) return null;
  const n = addressBytes(family);
  const part: IprangeMatch = { kind: 'iprange' };
  for (const [key, , flag, inv, off] of SIDES) {
    if (!(flags & flag)) continue;
    const from = d.subarray(off, off + n);
    const to = d.subarray(off + 16, off + 16 + n);
    // A reversed range is one we refuse to write: it stays opaque.
    if (Buffer.compare(from, to) > 0) return null;
    part[key] = neg(`${formatIp(from)}-${formatIp(to)}`, (flags & inv) !== 0);
  }
  return part;
}

function render(part: IprangeMatch): string[] {
  const out = ['-m', 'iprange'];
  for (const [key, name] of SIDES) {
    const v = part[key];
    if (v === undefined) continue;
    const { value, invert } = unwrap(v);
    out.push(...(invert ? ['!'] : []), name, value);
  }
  return out;
}

export const iprange: CompatModule<IprangeMatch, Draft> = {
  name: 'iprange',
  type: 'match',
  xtName: 'iprange',
  revision: 1,
  families: ['ipv4', 'ipv6'],
  options: SIDES.map(([, name]) => ({ name, args: 1 as const, invertible: true })),
  start: () => ({ part: { kind: 'iprange' }, seen: new Set() }),
  option,
  finish(d, ctx) {
    // iprange_mt_check: "You must specify `--src-range' or `--dst-range'".
    if (d.seen.size === 0) ctx.fail('-m iprange needs --src-range or --dst-range');
    return d.part;
  },
  validate,
  render,
  encode,
  decode,
  nftables: () => null,
};
