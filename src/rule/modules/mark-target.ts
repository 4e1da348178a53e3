// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j MARK`: `struct xt_mark_tginfo2` (linux/netfilter/xt_mark.h), revision 2, as iptables
 * 1.8.9's libxt_MARK writes it (mark_tg_parse) and saves it (mark_tg_save: always
 * `--set-xmark 0xV/0xM`). Layout: mark 0, mask 4, host order; 8 bytes. The kernel sets
 * `skb->mark = (skb->mark & ~mask) ^ mark`. The same blob on legacy and in iptables-nft's compat
 * `target` expression (NETFILTER-NOTES §10). The kernel takes it in any table. The native
 * nftables form writes `meta mark set ...` in place of the verdict (xlate_targets.cc).
 *
 * Stricter than the CLI: values are decimal or 0x hex (the CLI's strtoul also reads octal).
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get32, has, own, put32 } from './values';
import { FULL_MASK, XMARK_OPTIONS, badMark, checkMark, markHex, xmarkOf } from './marks';

declare module '../types' {
  interface ModuleTargetParts {
    mark: MarkTarget;
  }
}

/**
 * `-j MARK --set-xmark VALUE/MASK`: clear the bits of `mask` in the packet mark, then xor
 * `value` in. The CLI's other spellings are this pair: `--set-mark V` is `V/0xffffffff`,
 * `--and-mark V` is `0/~V`, `--or-mark V` is `V/V`, `--xor-mark V` is `V/0`.
 *
 * @example { kind: 'mark', value: 0x1, mask: 0xffffffff }
 */
export interface MarkTarget {
  kind: 'mark';
  value: number;
  /** Default 0xffffffff (set the whole mark to `value`). */
  mask?: number;
}

const SIZE = 8;

interface Draft {
  xmark: { value: number; mask: number } | null;
}

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.xmark !== null) ctx.fail(`${opt}: MARK takes one of ${XMARK_OPTIONS.join(', ')}, once`);
  const v = xmarkOf(opt, values[0]!);
  if (v === null) return ctx.fail(badMark(values[0]!, opt.startsWith('--set-') ? 'a mark or mark/mask' : `a mark (${quote(opt)} takes no mask)`), 0);
  d.xmark = v;
}

const KEYS = new Set(['kind', 'value', 'mask']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): MarkTarget | undefined {
  c.keys(o, KEYS, path);
  const value = checkMark(c, own(o, 'value'), `${path}.value`);
  const mask = has(o, 'mask') ? checkMark(c, own(o, 'mask'), `${path}.mask`, 'a mask') : FULL_MASK;
  return value === undefined || mask === undefined ? undefined : { kind: 'mark', value, mask };
}

function encode(p: MarkTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  put32(b, 0, p.value);
  put32(b, 4, p.mask ?? FULL_MASK);
  return b;
}

function decode(d: Buffer, _family: Family): MarkTarget | null {
  return d.length === SIZE ? { kind: 'mark', value: get32(d, 0), mask: get32(d, 4) } : null;
}

export const markTarget: CompatModule<MarkTarget, Draft> = {
  name: 'MARK',
  kind: 'mark',
  type: 'target',
  xtName: 'MARK',
  revision: 2,
  families: ['ipv4', 'ipv6'],
  options: XMARK_OPTIONS.map((name) => ({ name, args: 1 as const, invertible: false })),
  start: () => ({ xmark: null }),
  option,
  finish(d, ctx) {
    if (d.xmark === null) return ctx.fail(`-j MARK needs one of ${XMARK_OPTIONS.join(', ')}`);
    return { kind: 'mark', value: d.xmark.value, mask: d.xmark.mask };
  },
  validate,
  render: (p) => ['-j', 'MARK', '--set-xmark', `${markHex(p.value)}/${markHex(p.mask ?? FULL_MASK)}`],
  encode,
  decode,
  nftables: () => null,
};
