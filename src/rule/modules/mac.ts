// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m mac --mac-source 42:01:02:03:04:05`: `struct xt_mac_info` (linux/netfilter/xt_mac.h),
 * revision 0, as iptables 1.8.9's libxt_mac writes it (XTTYPE_ETHERMAC) and saves it
 * (xtables_print_mac: lower-case hex, two digits a byte). Layout: srcaddr[6] 0, 2 bytes of
 * padding, `int invert` 8 (host order); 12 bytes, XT_ALIGNed to 16. The same blob on legacy and
 * in iptables-nft's compat `match` expression. The kernel allows it in PREROUTING, INPUT and
 * FORWARD only: packets elsewhere have no Ethernet header of a sender to read.
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get32, neg, own, put32, unwrap } from './values';

declare module '../types' {
  interface ModuleParts {
    mac: MacMatch;
  }
}

/**
 * `-m mac --mac-source ADDR`: six bytes, in the lower-case form save prints.
 *
 * @example { kind: 'mac', source: '42:01:02:03:04:05' }
 * @example { kind: 'mac', source: { not: '42:01:02:03:04:05' } }
 */
export interface MacMatch {
  kind: 'mac';
  source: Negatable<string>;
}

const INFO_SIZE = 16;
const OFF_INVERT = 8;
/** xtopt_parse_ethermac: six groups of one or two hex digits. */
const MAC = /^[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2}){5}$/;

function macBytes(text: string): Buffer | null {
  if (!MAC.test(text)) return null;
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

function macText(bytes: Buffer): string {
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function canonical(text: string): string | null {
  const b = macBytes(text);
  return b ? macText(b) : null;
}

function badMac(text: string): string {
  return `${quote(text)} is not a MAC address (six hex bytes, e.g. 42:01:02:03:04:05)`;
}

interface Draft {
  source: Negatable<string> | null;
}

function option(d: Draft, _opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.source !== null) ctx.fail('--mac-source given twice');
  const mac = canonical(values[0]!);
  if (mac === null) return ctx.fail(badMac(values[0]!), 0);
  d.source = neg(mac, invert);
}

const KEYS = new Set(['kind', 'source']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): MacMatch | undefined {
  c.keys(o, KEYS, path);
  const n = c.negatable(own(o, 'source'), `${path}.source`);
  const text = c.string(n.value, n.path, 'a MAC address');
  if (text === undefined) return undefined;
  const mac = canonical(text);
  return mac === null ? c.add(n.path, badMac(text)) : { kind: 'mac', source: neg(mac, n.invert) };
}

function encode(part: MacMatch): Buffer {
  const b = Buffer.alloc(INFO_SIZE);
  const { value, invert } = unwrap(part.source);
  macBytes(value)!.copy(b, 0);
  put32(b, OFF_INVERT, invert ? 1 : 0);
  return b;
}

function decode(d: Buffer): MacMatch | null {
  // mac_mt tests `invert` as a boolean; the CLI writes 0 or 1 (the round-trip check keeps other bytes opaque).
  if (d.length !== INFO_SIZE || get32(d, OFF_INVERT) > 1) return null;
  return { kind: 'mac', source: neg(macText(d), get32(d, OFF_INVERT) === 1) };
}

export const mac: CompatModule<MacMatch, Draft> = {
  name: 'mac',
  type: 'match',
  xtName: 'mac',
  revision: 0,
  families: ['ipv4', 'ipv6'],
  options: [{ name: '--mac-source', args: 1, invertible: true }],
  chains: ['PREROUTING', 'INPUT', 'FORWARD'],
  start: () => ({ source: null }),
  option,
  finish(d, ctx) {
    if (d.source === null) return ctx.fail('-m mac needs --mac-source');
    return { kind: 'mac', source: d.source };
  },
  validate,
  render(part) {
    const { value, invert } = unwrap(part.source);
    return ['-m', 'mac', ...(invert ? ['!'] : []), '--mac-source', value];
  },
  encode,
  nftables: () => null,
  decode: (d: Buffer, _family: Family) => decode(d),
};
