// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m ttl --ttl-eq|--ttl-lt|--ttl-gt N` (IPv4; IPv6 has `-m hl`): `struct ipt_ttl_info`
 * (`__u8 mode, ttl`; IPT_TTL_EQ 0, NE 1, LT 2, GT 3), revision 0, 2 bytes XT_ALIGNed to 8, as
 * iptables 1.8.9's libipt_ttl writes and saves it: `! --ttl-eq` is mode NE, `--ttl` an old
 * spelling of `--ttl-eq`, and only one of them per match. Stricter than the CLI: `--ttl-lt 0`
 * and `--ttl-gt 255`, which never match, are refused.
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { own } from './values';

/** `-m ttl`: `! --ttl-eq 64` is `{ op: 'ne', value: 64 }`. @example { kind: 'ttl', op: 'lt', value: 2 } */
export interface TtlMatch {
  kind: 'ttl';
  op: 'eq' | 'ne' | 'lt' | 'gt';
  value: number;
}

declare module '../types' {
  interface ModuleParts {
    ttl: TtlMatch;
  }
}

/** In the kernel's numbering. */
const OPS: readonly TtlMatch['op'][] = ['eq', 'ne', 'lt', 'gt'];
const INFO_SIZE = 8;

/** Why a test can never match, or undefined. */
function neverProblem(op: TtlMatch['op'], value: number): string | undefined {
  if (op === 'lt' && value === 0) return '--ttl-lt 0 never matches';
  if (op === 'gt' && value === 255) return '--ttl-gt 255 never matches';
  return undefined;
}

function option(d: { part: TtlMatch | null }, opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.part !== null) ctx.fail('give one of --ttl-eq, --ttl-lt or --ttl-gt, once');
  const v = parseDecimal(values[0]!, 255);
  if (v === null) return ctx.fail(`${opt} takes a TTL 0-255, not ${quote(values[0]!)}${numberHint(values[0]!)}`, 0);
  const base = opt === '--ttl' ? 'eq' : (opt.slice('--ttl-'.length) as TtlMatch['op']);
  const op = base === 'eq' && invert ? 'ne' : base;
  const never = neverProblem(op, v);
  if (never) ctx.fail(never, 0);
  d.part = { kind: 'ttl', op, value: v };
}

const KEYS = new Set(['kind', 'op', 'value']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): TtlMatch | undefined {
  c.keys(o, KEYS, path);
  const op = own(o, 'op');
  if (!(OPS as readonly unknown[]).includes(op)) c.add(`${path}.op`, "expected 'eq', 'ne', 'lt' or 'gt'");
  const value = c.int(own(o, 'value'), `${path}.value`, 0, 255, 'a TTL');
  if (value === undefined || !(OPS as readonly unknown[]).includes(op)) return undefined;
  const never = neverProblem(op as TtlMatch['op'], value);
  return never ? c.add(path, never) : { kind: 'ttl', op: op as TtlMatch['op'], value };
}

export const ttl: CompatModule<TtlMatch, { part: TtlMatch | null }> = {
  name: 'ttl',
  type: 'match',
  xtName: 'ttl',
  revision: 0,
  families: ['ipv4'],
  options: [
    { name: '--ttl-eq', args: 1, invertible: true },
    { name: '--ttl-lt', args: 1, invertible: false },
    { name: '--ttl-gt', args: 1, invertible: false },
    { name: '--ttl', args: 1, invertible: false },
  ],
  start: () => ({ part: null }),
  option,
  finish(d, ctx) {
    if (d.part === null) return ctx.fail('-m ttl needs one of --ttl-eq, --ttl-lt or --ttl-gt');
    return d.part;
  },
  validate,
  render(part) {
    return ['-m', 'ttl', ...(part.op === 'ne' ? ['!', '--ttl-eq'] : [`--ttl-${part.op}`]), String(part.value)];
  },
  encode(part) {
    const b = Buffer.alloc(INFO_SIZE);
    b[0] = OPS.indexOf(part.op);
    b[1] = part.value;
    return b;
  },
  nftables: () => null,
  decode(d: Buffer, _family: Family) {
    const op = OPS[d[0]!];
    if (d.length !== INFO_SIZE || !op || neverProblem(op, d[1]!)) return null;
    return { kind: 'ttl', op, value: d[1]! };
  },
};
