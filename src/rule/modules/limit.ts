// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m limit`: `struct xt_rateinfo` (linux/netfilter/xt_limit.h), revision 0, as iptables 1.8.9's
 * libxt_limit writes it (limit_parse) and saves it (limit_save). 40 bytes on 64-bit hosts: avg 0
 * (seconds between packets × XT_LIMIT_SCALE), burst 4, then the kernel's own state, which the
 * CLI leaves zero and a listing reads back zero (the kernel copies only the first 8 bytes, its
 * usersize, out to userspace).
 *
 * On legacy the blob is the rule's match. iptables-nft writes no compat match for it but a native
 * `limit` expression (NETFILTER-NOTES §10); native/core/nft/native_limit turns this blob into
 * that expression and back, so to this file both backends are the same bytes.
 *
 * The kernel keeps only avg, so `120/hour` and `2/minute` are the same rule: the part is
 * normalized to the rate iptables-save prints (print_rate), and the same meaning always gives the
 * same part and bytes.
 *
 * Stricter than the CLI: the rate is a decimal count (the CLI's atoi reads `25abc` as 25), units
 * are `second`, `minute`, `hour`, `day` and the spellings `sec`/`s`, `min`/`m`, `h`, `d` in
 * lower case (the CLI takes any prefix of the word in any case), and a burst of 0, which the
 * legacy kernel refuses, is refused on both backends.
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get32, has, own, put32 } from './values';

export type LimitUnit = 'second' | 'minute' | 'hour' | 'day';

/**
 * `-m limit --limit RATE/PER --limit-burst BURST`. Listings give the rate as iptables-save prints
 * it and leave out a burst of 5 (the default).
 *
 * @example { kind: 'limit', rate: 25, per: 'minute', burst: 100 }
 */
export interface LimitMatch {
  kind: 'limit';
  /** Packets per `per`: without both, 3 per hour (the CLI's default). */
  rate?: number;
  /** Defaults to 'second' when `rate` is given, as `--limit 3` means 3/second. */
  per?: LimitUnit;
  /** `--limit-burst`: 1-10000, default 5. */
  burst?: number;
}

/** XT_LIMIT_SCALE: avg is seconds between packets in units of 1/10000 s. */
const SCALE = 10000;
declare module '../types' {
  interface ModuleParts {
    limit: LimitMatch;
  }
}

const SIZE = 40;
const DEFAULT_BURST = 5;
const MAX_BURST = 10000;
/** Seconds per unit, largest first, as print_rate and iptables-nft's add_nft_limit walk them. */
const UNITS: readonly (readonly [LimitUnit, number, string])[] = [
  ['day', 24 * 60 * 60, 'day'],
  ['hour', 60 * 60, 'hour'],
  ['minute', 60, 'min'],
  ['second', 1, 'sec'],
];
/** The unit words we take after `/`. */
const UNIT_WORDS: Readonly<Record<string, LimitUnit>> = {
  second: 'second', sec: 'second', s: 'second',
  minute: 'minute', min: 'minute', m: 'minute',
  hour: 'hour', h: 'hour',
  day: 'day', d: 'day',
};

function seconds(per: LimitUnit): number {
  return UNITS.find(([u]) => u === per)![1];
}

/** parse_rate: avg for `rate` per `per`; 0 means faster than the kernel can say. */
function avgOf(rate: number, per: LimitUnit): number {
  return Math.floor((SCALE * seconds(per)) / rate);
}

/** print_rate: the rate and unit iptables-save prints for avg (the largest unit that keeps it exact enough). */
function rateOf(avg: number): { rate: number; per: LimitUnit } {
  let i = 1;
  for (; i < UNITS.length; i++) {
    const mult = SCALE * UNITS[i]![1];
    if (avg > mult || Math.floor(mult / avg) < mult % avg) break;
  }
  const [per, secs] = UNITS[i - 1]!;
  return { rate: Math.floor((SCALE * secs) / avg), per };
}

function part(avg: number, burst: number): LimitMatch {
  const p: LimitMatch = { kind: 'limit', ...rateOf(avg) };
  if (burst !== DEFAULT_BURST) p.burst = burst;
  return p;
}

/** The fastest rate of a unit: avg must stay at least 1. */
function maxRate(per: LimitUnit): number {
  return SCALE * seconds(per);
}

const DEFAULT_AVG = avgOf(3, 'hour');

interface Draft {
  avg: number | null;
  burst: number | null;
}

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  const v = values[0]!;
  if (opt === '--limit') {
    if (d.avg !== null) ctx.fail('--limit given twice');
    const [count = '', word, extra] = v.split('/');
    const per = word === undefined ? 'second' : UNIT_WORDS[word];
    if (extra !== undefined || per === undefined) {
      ctx.fail(`bad rate ${quote(v)}: write N/second, N/minute, N/hour or N/day (also N/sec, N/s, N/min, N/m, N/h, N/d)`, 0);
    }
    const rate = parseDecimal(count, maxRate(per));
    if (rate === null || rate === 0) {
      const tooFast = /^[1-9][0-9]*$/.test(count);
      ctx.fail(tooFast ? `rate ${quote(v)} is too fast: at most ${maxRate(per)}/${per}` : `bad rate ${quote(v)}: the count is a decimal number from 1${numberHint(count)}`, 0);
    }
    d.avg = avgOf(rate, per);
  } else {
    if (d.burst !== null) ctx.fail('--limit-burst given twice');
    const burst = parseDecimal(v, MAX_BURST);
    if (burst === null || burst === 0) ctx.fail(`${quote(v)} is not a burst 1-${MAX_BURST}${numberHint(v)}`, 0);
    d.burst = burst;
  }
}

const KEYS = new Set(['kind', 'rate', 'per', 'burst']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): LimitMatch | undefined {
  c.keys(o, KEYS, path);
  let avg: number | undefined = DEFAULT_AVG;
  if (has(o, 'rate') || has(o, 'per')) {
    const perValue = has(o, 'per') ? own(o, 'per') : 'second';
    const per = UNITS.some(([u]) => u === perValue) ? (perValue as LimitUnit) : c.add(`${path}.per`, `expected one of ${UNITS.map(([u]) => u).join(', ')}`);
    const rate = per && c.int(own(o, 'rate'), `${path}.rate`, 1, maxRate(per), `a rate per ${per}`);
    avg = rate === undefined ? undefined : avgOf(rate, per!);
  }
  const burst = has(o, 'burst') ? c.int(own(o, 'burst'), `${path}.burst`, 1, MAX_BURST, 'a burst') : DEFAULT_BURST;
  return avg === undefined || burst === undefined ? undefined : part(avg, burst);
}

function encode(p: LimitMatch): Buffer {
  const b = Buffer.alloc(SIZE);
  put32(b, 0, p.rate === undefined ? DEFAULT_AVG : avgOf(p.rate, p.per ?? 'second'));
  put32(b, 4, p.burst ?? DEFAULT_BURST);
  return b;
}

function decode(d: Buffer, _family: Family): LimitMatch | null {
  if (d.length !== SIZE || d.subarray(8).some((x) => x !== 0)) return null;
  // Values the typed part cannot say (from another tool) stay opaque.
  const avg = get32(d, 0);
  const burst = get32(d, 4);
  return avg === 0 || burst === 0 || burst > MAX_BURST ? null : part(avg, burst);
}

function render(p: LimitMatch): string[] {
  const { rate, per } = rateOf(get32(encode(p), 0));
  const out = ['-m', 'limit', '--limit', `${rate}/${UNITS.find(([u]) => u === per)![2]}`];
  if (p.burst !== undefined && p.burst !== DEFAULT_BURST) out.push('--limit-burst', String(p.burst));
  return out;
}

export const limit: CompatModule<LimitMatch, Draft> = {
  name: 'limit',
  type: 'match',
  xtName: 'limit',
  revision: 0,
  families: ['ipv4', 'ipv6'],
  options: [
    { name: '--limit', args: 1, invertible: false },
    { name: '--limit-burst', args: 1, invertible: false },
  ],
  start: () => ({ avg: null, burst: null }),
  option,
  finish: (d) => part(d.avg ?? DEFAULT_AVG, d.burst ?? DEFAULT_BURST),
  validate,
  render,
  encode,
  decode,
  nftables: () => null,
};
