// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j NFLOG`: `struct xt_nflog_info` (linux/netfilter/xt_NFLOG.h), revision 0, as iptables
 * 1.8.9's libxt_NFLOG writes it (NFLOG_parse, NFLOG_check) and saves it (nflog_print). Layout:
 * len 0 (u32), group 4, threshold 6, flags 8 (u16, host order; XT_NFLOG_F_COPY_LEN 0x1 when
 * --nflog-size gave len), padding 10, prefix[64] 12; 76 bytes, XT_ALIGNed to 80.
 *
 * On legacy the blob is the rule's target. iptables-nft writes a native `log` expression instead
 * (NETFILTER-NOTES §10); native/core/nft/compat/native_nflog turns this blob into it and back, so
 * to this file both backends are the same bytes. The native nftables form writes that `log`
 * expression too, in place of the verdict (xlate_targets.cc).
 *
 * Stricter than the CLI: `--nflog-range` is refused (it has never worked, the CLI warns, and
 * iptables-nft drops it: use --nflog-size); a prefix over 63 bytes is refused (legacy cuts it to
 * 63, iptables-nft keeps 127: the backends would differ) and so are control characters in it;
 * numbers are decimal.
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import { freeTextProblem } from '../comment';
import { saveString } from '../save-string';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get16, get32, has, own, put16, put32 } from './values';

/**
 * `-j NFLOG`: hand the packet to nfnetlink_log group `group`. Listings leave out a group and a
 * threshold of 0, as iptables-save does.
 *
 * @example { kind: 'nflog', group: 5, prefix: 'dropped: ', size: 128, threshold: 10 }
 */
export interface NflogTarget {
  kind: 'nflog';
  /** `--nflog-prefix`: 1-63 bytes of UTF-8, no control characters. */
  prefix?: string;
  /** `--nflog-group`: 0-65535, default 0. */
  group?: number;
  /** `--nflog-size`: bytes of the packet copied, 0-4294967295 (without it, the whole packet). */
  size?: number;
  /** `--nflog-threshold`: packets queued in the kernel before a message, 0-65535 (0: the default). */
  threshold?: number;
}

declare module '../types' {
  interface ModuleTargetParts {
    nflog: NflogTarget;
  }
}

const SIZE = 80;
const OFF_PREFIX = 12;
const MAX_PREFIX_BYTES = 63;
const COPY_LEN = 0x1;
const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;

function prefixProblem(text: string): string | null {
  if (text === '') return 'an empty NFLOG prefix (leave it out instead)';
  return freeTextProblem(text, 'an NFLOG prefix', MAX_PREFIX_BYTES);
}

function normalized(prefix: string | undefined, group: number, size: number | undefined, threshold: number): NflogTarget {
  const p: NflogTarget = { kind: 'nflog' };
  if (prefix !== undefined) p.prefix = prefix;
  if (group !== 0) p.group = group;
  if (size !== undefined) p.size = size;
  if (threshold !== 0) p.threshold = threshold;
  return p;
}

interface Draft {
  prefix?: string;
  group: number;
  size?: number;
  threshold: number;
  seen: Set<string>;
}

/** The numeric options: their part key and largest value. */
const NUMBERS: Readonly<Record<string, readonly ['group' | 'size' | 'threshold', number]>> = {
  '--nflog-group': ['group', MAX_U16],
  '--nflog-size': ['size', MAX_U32],
  '--nflog-threshold': ['threshold', MAX_U16],
};

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  const v = values[0]!;
  if (opt === '--nflog-range') ctx.fail('--nflog-range has never worked and iptables-nft drops it: use --nflog-size');
  if (opt === '--nflog-prefix') {
    const p = prefixProblem(v);
    if (p) ctx.fail(p, 0);
    d.prefix = v;
    return;
  }
  const [key, max] = NUMBERS[opt]!;
  const n = parseDecimal(v, max);
  if (n === null) ctx.fail(`${quote(v)} is not a ${opt.slice(8)} 0-${max}${numberHint(v)}`, 0);
  d[key] = n;
}

const KEYS = new Set(['kind', 'prefix', 'group', 'size', 'threshold']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): NflogTarget | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  let prefix: string | undefined;
  if (has(o, 'prefix')) {
    prefix = c.string(own(o, 'prefix'), `${path}.prefix`, 'an NFLOG prefix');
    const p = prefix === undefined ? null : prefixProblem(prefix);
    if (p) c.add(`${path}.prefix`, p);
    ok &&= prefix !== undefined && !p;
  }
  const num = (key: 'group' | 'size' | 'threshold', max: number): number | undefined => {
    if (!has(o, key)) return undefined;
    const n = c.int(own(o, key), `${path}.${key}`, 0, max, `an NFLOG ${key}`);
    if (n === undefined) ok = false;
    return n;
  };
  const group = num('group', MAX_U16);
  const size = num('size', MAX_U32);
  const threshold = num('threshold', MAX_U16);
  return ok ? normalized(prefix, group ?? 0, size, threshold ?? 0) : undefined;
}

function encode(p: NflogTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  put32(b, 0, p.size ?? 0);
  put16(b, 4, p.group ?? 0);
  put16(b, 6, p.threshold ?? 0);
  put16(b, 8, p.size === undefined ? 0 : COPY_LEN);
  if (p.prefix !== undefined) b.write(p.prefix, OFF_PREFIX, MAX_PREFIX_BYTES, 'utf8');
  return b;
}

function decode(d: Buffer, _family: Family): NflogTarget | null {
  if (d.length !== SIZE) return null;
  const flags = get16(d, 8);
  // A length without COPY_LEN is an --nflog-range, which we don't write: it stays opaque.
  if (flags & ~COPY_LEN || (!(flags & COPY_LEN) && get32(d, 0) !== 0)) return null;
  const field = d.subarray(OFF_PREFIX);
  const end = field.indexOf(0);
  if (end === -1) return null;
  const prefix = field.subarray(0, end).toString('utf8');
  if (end > 0 && prefixProblem(prefix)) return null;
  return normalized(end > 0 ? prefix : undefined, get16(d, 4), flags & COPY_LEN ? get32(d, 0) : undefined, get16(d, 6));
}

function render(p: NflogTarget): string[] {
  const out = ['-j', 'NFLOG'];
  if (p.prefix !== undefined) out.push('--nflog-prefix', saveString(p.prefix));
  if (p.group) out.push('--nflog-group', String(p.group));
  if (p.size !== undefined) out.push('--nflog-size', String(p.size));
  if (p.threshold) out.push('--nflog-threshold', String(p.threshold));
  return out;
}

export const nflog: CompatModule<NflogTarget, Draft> = {
  name: 'NFLOG',
  kind: 'nflog',
  type: 'target',
  xtName: 'NFLOG',
  revision: 0,
  families: ['ipv4', 'ipv6'],
  options: ['--nflog-group', '--nflog-prefix', '--nflog-range', '--nflog-size', '--nflog-threshold'].map((name) => ({ name, args: 1 as const, invertible: false })),
  start: () => ({ group: 0, threshold: 0, seen: new Set() }),
  option,
  finish: (d) => normalized(d.prefix, d.group, d.size, d.threshold),
  validate,
  render,
  encode,
  decode,
  nftables: () => null,
};
