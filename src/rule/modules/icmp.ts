// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-p icmp --icmp-type echo-request` (IPv4): `struct ipt_icmp`
 * (linux/netfilter_ipv4/ip_tables.h), revision 0, as iptables 1.8.9's libipt_icmp writes it
 * (icmp_parse) and saves it (icmp_save: numbers, `any` for type 255). icmp-types.ts has the
 * layout, the names and the strictness; the same blob on legacy and in iptables-nft's compat
 * `match` expression (NETFILTER-NOTES §10). `-p icmp` loads it without `-m icmp`, as the CLI does.
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { ICMP_NAMES, type IcmpTypeCode, checkIcmpType, codeRange, decodeIcmp, encodeIcmp, icmpSaveText, parseIcmpText } from './icmp-types';
import { neg, own, unwrap } from './values';

export type { IcmpTypeCode } from './icmp-types';

declare module '../types' {
  interface ModuleParts {
    icmp: IcmpMatch;
  }
}

/**
 * `-m icmp --icmp-type T[/C]`: `'any'`, a type number (every code), or `{ type, code }`. Names
 * are taken and come back as these (`'echo-request'` is 8, `'port-unreachable'` is
 * `{ type: 3, code: 3 }`), as iptables-save prints numbers.
 *
 * @example { kind: 'icmp', type: 8 }
 * @example { kind: 'icmp', type: { not: { type: 3, code: 4 } } }
 */
export interface IcmpMatch {
  kind: 'icmp';
  type: Negatable<IcmpTypeCode | 'any'>;
}

const ANY = 0xff;

/** Type 255 is `any` to the kernel (icmp_type_code_match) and to save, whatever the code says. */
function anyProblem(v: IcmpTypeCode | 'any'): string | null {
  if (typeof v === 'object' && v.type === ANY) return `type 255 is 'any', which takes no code`;
  return null;
}

function normalized(v: IcmpTypeCode | 'any'): IcmpTypeCode | 'any' {
  return v === ANY ? 'any' : v;
}

interface Draft {
  type: Negatable<IcmpTypeCode | 'any'> | null;
}

function option(d: Draft, _opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.type !== null) ctx.fail('--icmp-type given twice');
  const r = parseIcmpText(values[0]!, ICMP_NAMES, 'ICMP');
  if (typeof r === 'object' && 'error' in r) return ctx.fail(r.error, 0);
  const p = anyProblem(r);
  if (p) ctx.fail(`${quote(values[0]!)}: ${p}`, 0);
  d.type = neg(normalized(r), invert);
}

const KEYS = new Set(['kind', 'type']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): IcmpMatch | undefined {
  c.keys(o, KEYS, path);
  const n = c.negatable(own(o, 'type'), `${path}.type`);
  const v = checkIcmpType(c, n.value, n.path, ICMP_NAMES, 'ICMP');
  if (v === undefined) return undefined;
  const p = anyProblem(v);
  if (p) return c.add(n.path, p);
  return { kind: 'icmp', type: neg(normalized(v), n.invert) };
}

function encode(part: IcmpMatch): Buffer {
  const { value, invert } = unwrap(part.type);
  return value === 'any' ? encodeIcmp(ANY, 0, 0xff, invert) : encodeIcmp(...codeRange(value), invert);
}

function decode(d: Buffer): IcmpMatch | null {
  const r = decodeIcmp(d);
  // Type 255 with a code is still `any` to the kernel; only the CLI's bytes for it decode.
  if (!r || (r.type === ANY && (r.codeMin !== 0 || r.codeMax !== 0xff))) return null;
  return { kind: 'icmp', type: neg(normalized(r.value), r.invert) };
}

export const icmp: CompatModule<IcmpMatch, Draft> = {
  name: 'icmp',
  type: 'match',
  xtName: 'icmp',
  revision: 0,
  families: ['ipv4'],
  options: [{ name: '--icmp-type', args: 1, invertible: true }],
  protocols: [1],
  implicitFor: 1,
  start: () => ({ type: null }),
  option,
  finish(d, ctx) {
    // XTOPT_MAND: `-p icmp -m icmp` alone is refused by the CLI.
    if (d.type === null) return ctx.fail('-m icmp needs --icmp-type');
    return { kind: 'icmp', type: d.type };
  },
  validate,
  render(part) {
    const { value, invert } = unwrap(part.type);
    return ['-m', 'icmp', ...(invert ? ['!'] : []), '--icmp-type', value === 'any' ? 'any' : icmpSaveText(value)];
  },
  encode,
  decode: (d: Buffer, _family: Family) => decode(d),
  // `icmp type T`; libipt_icmp 1.8.9 translates no code, and `! any` to its opposite.
  nftables(part) {
    const { value, invert } = unwrap(part.type);
    if (value === 'any') return invert ? "'! --icmp-type any' has no translation: iptables-translate 1.8.9 renders its opposite" : null;
    return typeof value === 'number' ? null : 'an ICMP type with a code has no translation in iptables-translate 1.8.9';
  },
};
