// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-p ipv6-icmp --icmpv6-type echo-request` (IPv6): `struct ip6t_icmp`
 * (linux/netfilter_ipv6/ip6_tables.h), revision 0, as iptables 1.8.9's libip6t_icmp6 writes it
 * (icmp6_parse) and saves it (icmp6_save: numbers; unlike IPv4 there is no `any`, type 255 is a
 * type). icmp-types.ts has the layout, the names and the strictness; the same blob on legacy
 * and in iptables-nft's compat `match` expression. `-p icmpv6` (58) loads it without `-m icmp6`.
 */
import type { Family, Negatable } from '../types';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { ICMPV6_NAMES, type IcmpTypeCode, checkIcmpType, codeRange, decodeIcmp, encodeIcmp, icmpSaveText, parseIcmpText } from './icmp-types';
import { neg, own, unwrap } from './values';

declare module '../types' {
  interface ModuleParts {
    icmp6: Icmp6Match;
  }
}

/**
 * `-m icmp6 --icmpv6-type T[/C]`: a type number (every code) or `{ type, code }`; names are taken
 * and come back as these (`'echo-request'` is 128).
 *
 * @example { kind: 'icmp6', type: 128 }
 * @example { kind: 'icmp6', type: { type: 1, code: 0 } }
 */
export interface Icmp6Match {
  kind: 'icmp6';
  type: Negatable<IcmpTypeCode>;
}

interface Draft {
  type: Negatable<IcmpTypeCode> | null;
}

function option(d: Draft, _opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.type !== null) ctx.fail('--icmpv6-type given twice');
  const r = parseIcmpText(values[0]!, ICMPV6_NAMES, 'ICMPv6');
  if (typeof r === 'object' && 'error' in r) return ctx.fail(r.error, 0);
  // ICMPV6_NAMES has no 'any'.
  d.type = neg(r as IcmpTypeCode, invert);
}

const KEYS = new Set(['kind', 'type']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): Icmp6Match | undefined {
  c.keys(o, KEYS, path);
  const n = c.negatable(own(o, 'type'), `${path}.type`);
  const v = checkIcmpType(c, n.value, n.path, ICMPV6_NAMES, 'ICMPv6');
  return v === undefined ? undefined : { kind: 'icmp6', type: neg(v as IcmpTypeCode, n.invert) };
}

export const icmp6: CompatModule<Icmp6Match, Draft> = {
  name: 'icmp6',
  type: 'match',
  xtName: 'icmp6',
  revision: 0,
  families: ['ipv6'],
  options: [{ name: '--icmpv6-type', args: 1, invertible: true }],
  protocols: [58],
  implicitFor: 58,
  start: () => ({ type: null }),
  option,
  finish(d, ctx) {
    // XTOPT_MAND, as for IPv4.
    if (d.type === null) return ctx.fail('-m icmp6 needs --icmpv6-type');
    return { kind: 'icmp6', type: d.type };
  },
  validate,
  render(part) {
    const { value, invert } = unwrap(part.type);
    return ['-m', 'icmp6', ...(invert ? ['!'] : []), '--icmpv6-type', icmpSaveText(value)];
  },
  encode(part) {
    const { value, invert } = unwrap(part.type);
    return encodeIcmp(...codeRange(value), invert);
  },
  // `icmpv6 type T`; libip6t_icmp6 1.8.9 translates no code.
  nftables: (part) => (typeof unwrap(part.type).value === 'number' ? null : 'an ICMPv6 type with a code has no translation in ip6tables-translate 1.8.9'),
  decode(d: Buffer, _family: Family) {
    const r = decodeIcmp(d);
    return r ? { kind: 'icmp6', type: neg(r.value, r.invert) } : null;
  },
};
