// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m mark --mark V[/M]`: `struct xt_mark_mtinfo1` (linux/netfilter/xt_mark.h), revision 1, as
 * iptables 1.8.9's libxt_mark writes it (mark_mt_parse) and saves it (mark_mt_save: hex, the
 * mask only when not 0xffffffff). Layout: mark 0, mask 4 (host order), invert 8, 3 bytes of
 * padding; 12 bytes, XT_ALIGNed to 16. The kernel matches `(skb->mark & mask) == mark`.
 *
 * On legacy the blob is the rule's match. iptables-nft writes it natively (`meta load mark`,
 * a `bitwise` when masked, `cmp eq/neq`; NETFILTER-NOTES §10); native/core/nft/compat/native_mark
 * turns this blob into those expressions and back, so to this file both backends are the same bytes.
 *
 * Stricter than the CLI: values are decimal or 0x hex (the CLI's strtoul also reads octal).
 */
import type { Family, Negatable } from '../types';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get32, has, neg, own, put32, unwrap } from './values';
import { FULL_MASK, badMark, checkMark, markHex, parseMarkMask } from './marks';

declare module '../types' {
  interface ModuleParts {
    mark: MarkMatch;
  }
}

/**
 * `-m mark [!] --mark MARK[/MASK]`. Listings leave out a mask of 0xffffffff, as iptables-save does.
 *
 * @example { kind: 'mark', mark: 0x10, mask: 0xf0 }
 * @example { kind: 'mark', mark: { not: 1 } }
 */
export interface MarkMatch {
  kind: 'mark';
  /** The value the masked packet mark must equal: 0-0xffffffff. */
  mark: Negatable<number>;
  /** Bits of the packet mark compared; default 0xffffffff. */
  mask?: number;
}

const SIZE = 16;
const OFF_INVERT = 8;

function part(mark: number, mask: number, invert: boolean): MarkMatch {
  const p: MarkMatch = { kind: 'mark', mark: neg(mark, invert) };
  if (mask !== FULL_MASK) p.mask = mask;
  return p;
}

interface Draft {
  part: MarkMatch | null;
}

function option(d: Draft, _opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.part !== null) ctx.fail('--mark given twice');
  const v = parseMarkMask(values[0]!);
  if (v === null) return ctx.fail(badMark(values[0]!, 'a mark or mark/mask'), 0);
  d.part = part(v.value, v.mask, invert);
}

const KEYS = new Set(['kind', 'mark', 'mask']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): MarkMatch | undefined {
  c.keys(o, KEYS, path);
  const n = c.negatable(own(o, 'mark'), `${path}.mark`);
  const mark = checkMark(c, n.value, n.path);
  const mask = has(o, 'mask') ? checkMark(c, own(o, 'mask'), `${path}.mask`, 'a mask') : FULL_MASK;
  return mark === undefined || mask === undefined ? undefined : part(mark, mask, n.invert);
}

function encode(p: MarkMatch): Buffer {
  const b = Buffer.alloc(SIZE);
  const { value, invert } = unwrap(p.mark);
  put32(b, 0, value);
  put32(b, 4, p.mask ?? FULL_MASK);
  b[OFF_INVERT] = invert ? 1 : 0;
  return b;
}

function decode(d: Buffer, _family: Family): MarkMatch | null {
  // mark_mt tests invert as a boolean; the CLI writes 0 or 1 (the round-trip check keeps other bytes opaque).
  if (d.length !== SIZE || d[OFF_INVERT]! > 1) return null;
  return part(get32(d, 0), get32(d, 4), d[OFF_INVERT] === 1);
}

function render(p: MarkMatch): string[] {
  const { value, invert } = unwrap(p.mark);
  const mask = p.mask ?? FULL_MASK;
  return ['-m', 'mark', ...(invert ? ['!'] : []), '--mark', mask === FULL_MASK ? markHex(value) : `${markHex(value)}/${markHex(mask)}`];
}

export const mark: CompatModule<MarkMatch, Draft> = {
  name: 'mark',
  type: 'match',
  xtName: 'mark',
  revision: 1,
  families: ['ipv4', 'ipv6'],
  options: [{ name: '--mark', args: 1, invertible: true }],
  start: () => ({ part: null }),
  option,
  finish(d, ctx) {
    if (d.part === null) return ctx.fail('-m mark needs --mark');
    return d.part;
  },
  validate,
  render,
  encode,
  decode,
  nftables: () => null,
};
