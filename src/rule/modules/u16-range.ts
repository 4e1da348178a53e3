// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What `-m length --length` and `-m tcpmss --mss` share: one option taking a 16-bit value or range
 * (XTTYPE_UINT16RC: `N`, `N:M`, `:M`, `N:`), `!` before it, and a struct of `__u16 min, max;
 * __u8 invert` (xt_length_info, xt_tcpmss_match_info), 5 bytes XT_ALIGNed to 8, host byte order,
 * saved as `[!] --OPTION N` or `N:M` (length_save, tcpmss_save). Each module's file gives its names.
 */
import type { Family, Negatable } from '../types';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { checkRange, get16, neg, own, parseOpenRangeText, put16, rangeBounds, rangeSpec, unwrap, type RangeSpec } from './values';

const INFO_SIZE = 8;
const OFF_INVERT = 4;

export interface U16RangeModule<K extends string, F extends string> {
  /** `-m NAME`, the kernel extension (revision 0) and the part's kind. */
  name: K;
  /** The part's field, e.g. `length`. */
  field: F;
  /** `--length`. */
  option: string;
  /** For messages: `a packet length`. */
  what: string;
  protocols?: readonly number[];
}

type Part<K extends string, F extends string> = { kind: K } & { [key in F]: Negatable<RangeSpec> };

export function u16RangeModule<K extends string, F extends string>(m: U16RangeModule<K, F>): CompatModule<Part<K, F>, { value: Negatable<RangeSpec> | null }> {
  const make = (value: Negatable<RangeSpec>): Part<K, F> => ({ kind: m.name, [m.field]: value }) as Part<K, F>;
  const keys = new Set(['kind', m.field]);
  return {
    name: m.name,
    type: 'match',
    xtName: m.name,
    revision: 0,
    families: ['ipv4', 'ipv6'],
    options: [{ name: m.option, args: 1, invertible: true }],
    ...(m.protocols ? { protocols: m.protocols } : {}),
    start: () => ({ value: null }),
    option(d, _opt, values, invert, ctx: ParseContext) {
      if (d.value !== null) ctx.fail(`${m.option} given twice`);
      const r = parseOpenRangeText(values[0]!, 0xffff, m.what);
      if ('error' in r) return ctx.fail(r.error, 0);
      d.value = neg(r.range, invert);
    },
    finish(d, ctx) {
      if (d.value === null) return ctx.fail(`-m ${m.name} needs ${m.option}`);
      return make(d.value);
    },
    validate(o: Record<string, unknown>, path: string, c: SpecChecker) {
      c.keys(o, keys, path);
      const n = c.negatable(own(o, m.field), `${path}.${m.field}`);
      const r = checkRange(c, n.value, n.path, 0xffff, m.what);
      return r === undefined ? undefined : make(neg(r, n.invert));
    },
    render(part) {
      const { value, invert } = unwrap(part[m.field] as Negatable<RangeSpec>);
      const [from, to] = rangeBounds(value);
      return ['-m', m.name, ...(invert ? ['!'] : []), m.option, from === to ? String(from) : `${from}:${to}`];
    },
    encode(part) {
      const b = Buffer.alloc(INFO_SIZE);
      const { value, invert } = unwrap(part[m.field] as Negatable<RangeSpec>);
      const [from, to] = rangeBounds(value);
      put16(b, 0, from);
      put16(b, 2, to);
      b[OFF_INVERT] = invert ? 1 : 0;
      return b;
    },
    // `meta length N-M`, `tcp option maxseg size N-M`.
    nftables: () => null,
    decode(d: Buffer, _family: Family) {
      const from = get16(d, 0);
      const to = get16(d, 2);
      // A backwards range never matches: the CLI's tcpmss refuses it, and we refuse it for both.
      if (d.length !== INFO_SIZE || d[OFF_INVERT]! > 1 || from > to) return null;
      return make(neg(rangeSpec(from, to), d[OFF_INVERT] === 1));
    },
  };
}
