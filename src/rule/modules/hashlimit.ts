// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m hashlimit`: `struct xt_hashlimit_mtinfo3` (linux/netfilter/xt_hashlimit.h), revision 3, as
 * iptables 1.8.9's libxt_hashlimit writes it (hashlimit_mt4_init/mt6_init, hashlimit_mt_parse,
 * hashlimit_mt_check) and saves it (hashlimit_mt_save). 312 bytes; the same blob on legacy and in
 * iptables-nft's compat `match` expression (NETFILTER-NOTES §10).
 *
 * Layout (host byte order): name 0 (255 bytes, NUL-terminated), then `hashlimit_cfg3` at 256:
 * avg u64 256, burst u64 264, mode 272, size 276, max 280, gc_interval 284, expire 288,
 * interval 292, srcmask 296, dstmask 297; the kernel's private `hinfo` pointer at 304. Only the
 * first 304 bytes are the rule (the extension's userspacesize): the kernel zeroes the pointer in
 * what it returns (its `usersize`), so the 312 bytes we write (zeros there) compare equal.
 *
 * The rate is stored as the CLI computes it, exactly (parse_rate / parse_bytes, then
 * hashlimit_mt_check): packets `avg = 1000000 * unit / N` (unit in seconds), bytes
 * `avg = 0xFFFFFFFF / ((B >> 4) + 1)`; `--hashlimit-rate-match` then divides a packet avg by the
 * unit. iptables-save prints the rate back from avg (print_rate / print_bytes), which may be
 * another spelling of the same bytes (`120/hour` saves as `2/min`); render does the same.
 *
 * Stricter than the CLI: units are `second|sec|s`, `minute|min|m`, `hour|h`, `day|d` (the CLI
 * takes any prefix), a packet burst is a plain number and a byte burst `N[k|m]b`, mode words are
 * separated by commas only, `--hashlimit-htable-size/-max` at most 1048576 (the kernel silently
 * cuts larger values down, so the rule would read back as another), and what the kernel refuses
 * (`--hashlimit-htable-expire 0`, `--hashlimit-htable-gcinterval 0`, a rate-match rate that
 * rounds to 0, a byte rate it overflows on) is refused here, before it.
 */
import { endianness } from 'node:os';
import { quote } from '../../echo';
import type { NativeRule } from '../../native-types';
import type { Family } from '../types';
import { addressBits } from '../names';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ModuleOption, ParseContext, SpecChecker } from './module';
import { get32, has, own, procNameProblem, put32 } from './values';

export type HashlimitMode = 'srcip' | 'srcport' | 'dstip' | 'dstport';
/** `N/second|minute|hour|day` packets (N/second when no unit is given), or `N[k|m]b/s` bytes. */
export type HashlimitRate = `${number}/${'second' | 'minute' | 'hour' | 'day'}` | `${number}${'' | 'k' | 'm'}b/s`;

/**
 * `-m hashlimit`: `rate` is `--hashlimit-upto`, or `--hashlimit-above` with `above: true`.
 *
 * @example { kind: 'hashlimit', rate: '50/second', burst: 20, mode: ['srcip'], name: 'http' }
 * @example { kind: 'hashlimit', rate: '4kb/s', burst: '400kb', above: true, name: 'bytes' }
 */
export interface HashlimitMatch {
  kind: 'hashlimit';
  rate: HashlimitRate;
  /** `--hashlimit-above` (or `! --hashlimit-upto`): match what exceeds the rate. */
  above?: true;
  /** `--hashlimit-burst`: packets 1-1000000 (5 when absent), or bytes `N[k|m]b` for a byte rate. */
  burst?: number | string;
  /** `--hashlimit-mode`: what a bucket is kept for (one bucket for all when absent). */
  mode?: HashlimitMode[];
  /** `--hashlimit-srcmask` / `--hashlimit-dstmask`: prefix lengths grouping addresses (full width when absent). */
  srcMask?: number;
  dstMask?: number;
  /** `--hashlimit-name`: the table, /proc/net/ipt_hashlimit/NAME. */
  name: string;
  /** `--hashlimit-htable-size` / `-max` (1-1048576), `-gcinterval` and `-expire` (milliseconds). */
  htableSize?: number;
  htableMax?: number;
  htableGcInterval?: number;
  htableExpire?: number;
  /** `--hashlimit-rate-match` and `--hashlimit-rate-interval` (seconds). */
  rateMatch?: true;
  rateInterval?: number;
}

declare module '../types' {
  interface ModuleParts {
    hashlimit: HashlimitMatch;
  }
}

const INFO_SIZE = 312;
/** offsetof(struct xt_hashlimit_mtinfo3, hinfo): the part of the blob that is the rule. */
const USERSPACE_SIZE = 304;
const NAME_SIZE = 255;
const CFG = 256;
const SCALE = 1_000_000; // XT_HASHLIMIT_SCALE_v2
const U32 = 0xffffffff;
const DEFAULT_BURST = 5;
const BURST_MAX = 1_000_000;
const GC_DEFAULT = 1000;
const BYTE_EXPIRE = 15; // XT_HASHLIMIT_BYTE_EXPIRE, seconds
const BYTE_EXPIRE_BURST = 60;
const HTABLE_MAX = 1_048_576; // the kernel's HASHLIMIT_MAX_SIZE
const BYTES_MAX = 2 ** 52; // keeps byte arithmetic exact in doubles

const MODE_BITS: readonly (readonly [HashlimitMode, number])[] = [
  ['srcip', 1 << 2], ['srcport', 1 << 3], ['dstip', 1 << 0], ['dstport', 1 << 1],
];
const INVERT = 1 << 4;
const BYTES = 1 << 5;
const RATE_MATCH = 1 << 6;

const UNITS: readonly (readonly [string, number, readonly string[]])[] = [
  ['second', 1, ['second', 'sec', 's']],
  ['minute', 60, ['minute', 'min', 'm']],
  ['hour', 3600, ['hour', 'h']],
  ['day', 86400, ['day', 'd']],
];
/** print_rate's table, largest first. */
const SAVE_UNITS: readonly (readonly [string, number])[] = [['day', 86400], ['hour', 3600], ['min', 60], ['sec', 1]];
const BYTE_UNITS: readonly (readonly [string, number])[] = [['m', 1 << 20], ['k', 1 << 10], ['', 1]];

/** The raw cfg3 fields and the name. */
interface Fields {
  name: string;
  avg: number;
  burst: number;
  mode: number;
  size: number;
  max: number;
  gc: number;
  expire: number;
  interval: number;
  srcmask: number;
  dstmask: number;
}

/** A rate word: packets with its unit in seconds, or bytes per second. */
type Rate = { packets: number; unit: number; unitName: string } | { bytes: number; text: string };

function parseRate(text: string): Rate | { error: string } {
  const b = /^([0-9]{1,10})([km]?)b\/s$/.exec(text);
  if (b) {
    const n = parseDecimal(b[1]!, 9_999_999_999);
    const bytes = (n ?? 0) * (b[2] === 'm' ? 1 << 20 : b[2] === 'k' ? 1 << 10 : 1);
    if (!n) return { error: `${quote(text)}: the byte rate must be at least 1` };
    // cost = 0xFFFFFFFF / ((bytes >> 4) + 1) must be 2 or more: the kernel's byte credits overflow below that.
    if (Math.floor(bytes / 16) > 0x7ffffffe) return { error: `byte rate ${quote(text)} is too high (at most 32767mb/s)` };
    return { bytes, text: `${n}${b[2]}b/s` };
  }
  const [num, unit, extra] = text.split('/');
  const u = unit === undefined ? UNITS[0] : UNITS.find(([, , words]) => words.includes(unit.toLowerCase()));
  const n = parseDecimal(num ?? '', U32);
  if (extra !== undefined || !u || n === null || n === 0) {
    return { error: `${quote(text)} is not a rate: give N/second, N/minute, N/hour or N/day (N from 1), or N[k|m]b/s${numberHint(num ?? '')}` };
  }
  if (Math.floor((SCALE * u[1]) / n) === 0) return { error: `rate ${quote(text)} is too fast (at most ${SCALE * u[1]}/${u[0]})` };
  return { packets: n, unit: u[1], unitName: u[0] };
}

function rateText(r: Rate): HashlimitRate {
  return ('bytes' in r ? r.text : `${r.packets}/${r.unitName}`) as HashlimitRate;
}

/** floor(0xFFFFFFFF / ((bytes >> 4) + 1)), as bytes_to_cost. */
function bytesToCost(bytes: number): number {
  return Math.floor(U32 / (Math.floor(bytes / 16) + 1));
}
/** ((0xFFFFFFFF / cost) - 1) << 4, as cost_to_bytes. */
function costToBytes(cost: number): number {
  return (Math.floor(U32 / cost) - 1) * 16;
}

function parseByteBurst(text: string): number | null {
  const m = /^([0-9]{1,10})([km]?)b$/.exec(text);
  const n = m ? parseDecimal(m[1]!, 9_999_999_999) : null;
  if (n === null || n === 0) return null;
  const v = n * (m![2] === 'm' ? 1 << 20 : m![2] === 'k' ? 1 << 10 : 1);
  return v > BYTES_MAX ? null : v;
}

/** The CLI's fields for a part (hashlimit_mt_parse + hashlimit_mt_check), or why it cannot be written. */
function fieldsOf(p: HashlimitMatch, family: Family): Fields | { error: string; key: string } {
  const r = parseRate(p.rate);
  if ('error' in r) return { ...r, key: 'rate' };
  const width = addressBits(family);
  const f: Fields = {
    name: p.name, avg: 0, burst: DEFAULT_BURST, mode: p.above ? INVERT : 0, size: p.htableSize ?? 0, max: p.htableMax ?? 0,
    gc: p.htableGcInterval ?? GC_DEFAULT, expire: 0, interval: 0, srcmask: p.srcMask ?? width, dstmask: p.dstMask ?? width,
  };
  for (const m of p.mode ?? []) f.mode |= MODE_BITS.find(([n]) => n === m)![1];
  let mult: number;
  if ('bytes' in r) {
    mult = BYTE_EXPIRE;
    f.mode |= BYTES;
    f.avg = bytesToCost(r.bytes);
    f.burst = 0;
    f.expire = BYTE_EXPIRE * 1000;
    if (p.burst !== undefined) {
      const bb = typeof p.burst === 'string' ? parseByteBurst(p.burst) : null;
      if (bb === null) return { error: `a byte rate takes a byte burst N[k|m]b (1 to 2^52 bytes), not ${quote(String(p.burst))}`, key: 'burst' };
      const unit = costToBytes(f.avg);
      if (bb < unit) return { error: `burst cannot be smaller than ${unit}b for ${r.text}`, key: 'burst' };
      f.burst = Math.ceil(bb / unit);
      f.expire = BYTE_EXPIRE_BURST * 1000;
    }
  } else {
    mult = r.unit;
    f.avg = Math.floor((SCALE * r.unit) / r.packets);
    f.expire = r.unit * 1000;
    if (p.burst !== undefined) {
      if (typeof p.burst !== 'number') return { error: `a packet rate takes a burst of 1-${BURST_MAX} packets, not ${quote(p.burst)}`, key: 'burst' };
      f.burst = p.burst;
    }
  }
  if (p.htableExpire !== undefined) f.expire = p.htableExpire;
  if (p.rateMatch) {
    f.mode |= RATE_MATCH;
    if (!('bytes' in r)) f.avg = Math.floor(f.avg / mult);
    f.interval = p.rateInterval ?? ('bytes' in r ? 1 : mult);
    // hashlimit_mt_check_common: "invalid rate" (ERANGE).
    if (f.avg === 0) return { error: `rate ${quote(p.rate)} is too fast for --hashlimit-rate-match (at most ${SCALE}/second)`, key: 'rate' };
  } else if (p.rateInterval !== undefined) {
    return { error: '--hashlimit-rate-interval goes with --hashlimit-rate-match', key: 'rateInterval' };
  }
  return f;
}

function encodeFields(f: Fields): Buffer {
  const b = Buffer.alloc(INFO_SIZE);
  b.write(f.name, 0, 'latin1');
  putU64(b, CFG, f.avg);
  putU64(b, CFG + 8, f.burst);
  put32(b, CFG + 16, f.mode);
  put32(b, CFG + 20, f.size);
  put32(b, CFG + 24, f.max);
  put32(b, CFG + 28, f.gc);
  put32(b, CFG + 32, f.expire);
  put32(b, CFG + 36, f.interval);
  b[CFG + 40] = f.srcmask;
  b[CFG + 41] = f.dstmask;
  return b;
}

const LE = endianness() === 'LE';

function putU64(b: Buffer, off: number, v: number): void {
  if (LE) b.writeBigUInt64LE(BigInt(v), off);
  else b.writeBigUInt64BE(BigInt(v), off);
}
function getU64(b: Buffer, off: number): bigint {
  return LE ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off);
}

/** print_rate: the rate iptables-save prints for a packet avg, and its unit in ms (the default expire). */
function saveRate(avg: number): [string, number] {
  let i = 1;
  for (; i < SAVE_UNITS.length; i++) {
    const mult = SCALE * SAVE_UNITS[i]![1];
    if (avg > mult || Math.floor(mult / avg) < mult % avg) break;
  }
  const [name, secs] = SAVE_UNITS[i - 1]!;
  return [`${Math.floor((SCALE * secs) / avg)}/${name}`, secs * 1000];
}

/** print_bytes: the rate (and burst) words iptables-save prints for a byte avg. */
function saveBytes(avg: number, burst: number): { rate: string; burst?: string; quantum: number } {
  const r = costToBytes(avg);
  let i = 0;
  for (; i < BYTE_UNITS.length - 1; i++) {
    const t = BYTE_UNITS[i]![1];
    if (r >= t && bytesToCost(r - (r % t)) === avg) break;
  }
  const rate = `${Math.floor(r / BYTE_UNITS[i]![1])}${BYTE_UNITS[i]![0]}b/s`;
  if (burst === 0) return { rate, quantum: BYTE_EXPIRE * 1000 };
  const total = r * burst;
  let j = 0;
  for (; j < BYTE_UNITS.length - 1; j++) if (total >= BYTE_UNITS[j]![1]) break;
  return { rate, burst: `${Math.floor(total / BYTE_UNITS[j]![1])}${BYTE_UNITS[j]![0]}b`, quantum: BYTE_EXPIRE_BURST * 1000 };
}

function modeList(mode: number): HashlimitMode[] {
  return MODE_BITS.filter(([, bit]) => mode & bit).map(([n]) => n);
}

/** hashlimit_mt_save, from the fields (so it prints what the kernel holds, as the CLI does). */
function renderFields(f: Fields, family: Family): string[] {
  const out = ['-m', 'hashlimit', f.mode & INVERT ? '--hashlimit-above' : '--hashlimit-upto'];
  let quantum: number;
  if (f.mode & BYTES) {
    const s = saveBytes(f.avg, f.burst);
    out.push(s.rate);
    if (s.burst !== undefined) out.push('--hashlimit-burst', s.burst);
    quantum = s.quantum;
  } else {
    const [rate, q] = saveRate(f.avg);
    out.push(rate, '--hashlimit-burst', String(f.burst));
    quantum = q;
  }
  const modes = modeList(f.mode);
  if (modes.length) out.push('--hashlimit-mode', modes.join(','));
  out.push('--hashlimit-name', f.name);
  if (f.size !== 0) out.push('--hashlimit-htable-size', String(f.size));
  if (f.max !== 0) out.push('--hashlimit-htable-max', String(f.max));
  if (f.gc !== GC_DEFAULT) out.push('--hashlimit-htable-gcinterval', String(f.gc));
  if (f.expire !== quantum) out.push('--hashlimit-htable-expire', String(f.expire));
  const width = addressBits(family);
  if (f.srcmask !== width) out.push('--hashlimit-srcmask', String(f.srcmask));
  if (f.dstmask !== width) out.push('--hashlimit-dstmask', String(f.dstmask));
  if (f.mode & RATE_MATCH) {
    out.push('--hashlimit-rate-match');
    if (f.interval !== 1) out.push('--hashlimit-rate-interval', String(f.interval));
  }
  return out;
}

/** The part's keys in one order, defaults left out (the part the fields decode to). */
function normalized(p: HashlimitMatch, family: Family): HashlimitMatch {
  const bytes = p.rate.endsWith('b/s');
  const out: HashlimitMatch = { kind: 'hashlimit', rate: p.rate, name: p.name };
  if (p.above) out.above = true;
  if (p.burst !== undefined && !(p.burst === DEFAULT_BURST && !bytes)) out.burst = p.burst;
  if (p.mode?.length) out.mode = MODE_BITS.filter(([n]) => p.mode!.includes(n)).map(([n]) => n);
  if (p.srcMask !== undefined && p.srcMask !== addressBits(family)) out.srcMask = p.srcMask;
  if (p.dstMask !== undefined && p.dstMask !== addressBits(family)) out.dstMask = p.dstMask;
  if (p.htableSize) out.htableSize = p.htableSize;
  if (p.htableMax) out.htableMax = p.htableMax;
  if (p.htableGcInterval !== undefined && p.htableGcInterval !== GC_DEFAULT) out.htableGcInterval = p.htableGcInterval;
  if (p.htableExpire !== undefined) {
    const f = fieldsOf({ ...p, htableExpire: undefined }, family);
    if ('error' in f || f.expire !== p.htableExpire) out.htableExpire = p.htableExpire;
  }
  if (p.rateMatch) {
    out.rateMatch = true;
    if (p.rateInterval !== undefined) {
      const f = fieldsOf({ ...p, rateInterval: undefined }, family);
      if ('error' in f || f.interval !== p.rateInterval) out.rateInterval = p.rateInterval;
    }
  }
  return out;
}

const OPTIONS: readonly ModuleOption[] = [
  { name: '--hashlimit-upto', args: 1, invertible: true },
  { name: '--hashlimit-above', args: 1, invertible: true },
  { name: '--hashlimit', args: 1, invertible: true },
  { name: '--hashlimit-burst', args: 1, invertible: false },
  { name: '--hashlimit-mode', args: 1, invertible: false },
  { name: '--hashlimit-srcmask', args: 1, invertible: false },
  { name: '--hashlimit-dstmask', args: 1, invertible: false },
  { name: '--hashlimit-name', args: 1, invertible: false },
  { name: '--hashlimit-htable-size', args: 1, invertible: false },
  { name: '--hashlimit-htable-max', args: 1, invertible: false },
  { name: '--hashlimit-htable-gcinterval', args: 1, invertible: false },
  { name: '--hashlimit-htable-expire', args: 1, invertible: false },
  { name: '--hashlimit-rate-match', args: 0, invertible: false },
  { name: '--hashlimit-rate-interval', args: 1, invertible: false },
];

/** The numeric options: option, part key, min, max. */
const NUMBERS = [
  ['--hashlimit-htable-size', 'htableSize', 1, HTABLE_MAX],
  ['--hashlimit-htable-max', 'htableMax', 1, HTABLE_MAX],
  ['--hashlimit-htable-gcinterval', 'htableGcInterval', 1, U32],
  ['--hashlimit-htable-expire', 'htableExpire', 1, U32],
  ['--hashlimit-rate-interval', 'rateInterval', 1, 0x7fffffff],
] as const;

function parseModes(text: string): HashlimitMode[] | { bad: string } {
  const out: HashlimitMode[] = [];
  for (const w of text.split(',')) {
    if (!MODE_BITS.some(([n]) => n === w)) return { bad: w };
    out.push(w as HashlimitMode);
  }
  return out;
}

interface Draft {
  part: Partial<HashlimitMatch> & { kind: 'hashlimit' };
  burstText: string | null;
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  const p = d.part;
  const v = values[0] ?? '';
  if (opt === '--hashlimit-upto' || opt === '--hashlimit-above' || opt === '--hashlimit') {
    if (p.rate !== undefined) ctx.fail('give one of --hashlimit-upto or --hashlimit-above, once');
    const r = parseRate(v);
    if ('error' in r) ctx.fail(r.error, 0);
    p.rate = rateText(r);
    if ((opt === '--hashlimit-above') !== invert) p.above = true;
    return;
  }
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  switch (opt) {
    case '--hashlimit-burst':
      // Packets or bytes depends on the rate, which may come later: finish() reads it.
      d.burstText = v;
      return;
    case '--hashlimit-mode': {
      const m = parseModes(v);
      if (!Array.isArray(m)) ctx.fail(`bad --hashlimit-mode word ${quote(m.bad)}: use srcip, srcport, dstip, dstport, comma-separated`, 0);
      p.mode = m;
      return;
    }
    case '--hashlimit-srcmask':
    case '--hashlimit-dstmask': {
      const width = addressBits(ctx.family);
      const n = parseDecimal(v, width);
      if (n === null) ctx.fail(`${opt} takes a prefix length 0-${width}, not ${quote(v)}${numberHint(v)}`, 0);
      p[opt === '--hashlimit-srcmask' ? 'srcMask' : 'dstMask'] = n;
      return;
    }
    case '--hashlimit-name': {
      const problem = procNameProblem(v, NAME_SIZE);
      if (problem) ctx.fail(`bad --hashlimit-name: ${problem}`, 0);
      p.name = v;
      return;
    }
    case '--hashlimit-rate-match':
      p.rateMatch = true;
      return;
  }
  const [, key, min, max] = NUMBERS.find(([name]) => name === opt)!;
  const n = parseDecimal(v, max);
  if (n === null || n < min) ctx.fail(`${opt} takes ${min}-${max}, not ${quote(v)}${numberHint(v)}`, 0);
  p[key] = n;
}

function finish(d: Draft, ctx: ParseContext): HashlimitMatch {
  const p = d.part;
  if (p.rate === undefined) ctx.fail('-m hashlimit needs --hashlimit-upto or --hashlimit-above');
  if (p.name === undefined) ctx.fail('-m hashlimit needs --hashlimit-name');
  if (d.burstText !== null) {
    if (p.rate.endsWith('b/s')) p.burst = d.burstText;
    else {
      const n = parseDecimal(d.burstText, BURST_MAX);
      if (n === null || n === 0) ctx.fail(`--hashlimit-burst takes 1-${BURST_MAX} packets, not ${quote(d.burstText)}${numberHint(d.burstText)}`);
      p.burst = n;
    }
  }
  const part = p as HashlimitMatch;
  const f = fieldsOf(part, ctx.family);
  if ('error' in f) ctx.fail(f.error);
  return normalized(part, ctx.family);
}

const KEYS = new Set([
  'kind', 'rate', 'above', 'burst', 'mode', 'srcMask', 'dstMask', 'name',
  'htableSize', 'htableMax', 'htableGcInterval', 'htableExpire', 'rateMatch', 'rateInterval',
]);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): HashlimitMatch | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  const bad = (key: string, message: string): undefined => {
    ok = false;
    return c.add(`${path}.${key}`, message);
  };
  const p: Partial<HashlimitMatch> & { kind: 'hashlimit' } = { kind: 'hashlimit' };
  const rate = c.string(own(o, 'rate'), `${path}.rate`, 'a rate such as 10/second or 4kb/s');
  if (rate === undefined) ok = false;
  else {
    const r = parseRate(rate);
    if ('error' in r) bad('rate', r.error);
    else p.rate = rateText(r);
  }
  for (const key of ['above', 'rateMatch'] as const) {
    if (!has(o, key)) continue;
    if (own(o, key) !== true) bad(key, 'expected true (or leave it out)');
    else p[key] = true;
  }
  if (has(o, 'burst')) {
    const b = own(o, 'burst');
    if (typeof b === 'number') {
      const n = c.int(b, `${path}.burst`, 1, BURST_MAX, 'a burst in packets');
      if (n === undefined) ok = false;
      else p.burst = n;
    } else if (typeof b === 'string') p.burst = b;
    else bad('burst', `expected packets 1-${BURST_MAX} or bytes N[k|m]b`);
  }
  if (has(o, 'mode')) {
    const m = own(o, 'mode');
    if (!Array.isArray(m) || m.length === 0) bad('mode', 'expected a non-empty array of srcip, srcport, dstip, dstport');
    else {
      m.forEach((w: unknown, i) => {
        if (!MODE_BITS.some(([n]) => n === w)) {
          ok = false;
          c.add(`${path}.mode[${i}]`, 'expected one of srcip, srcport, dstip, dstport');
        }
      });
      if (ok) p.mode = m as HashlimitMode[];
    }
  }
  for (const key of ['srcMask', 'dstMask'] as const) {
    if (!has(o, key)) continue;
    const n = c.int(own(o, key), `${path}.${key}`, 0, addressBits(c.family), 'a prefix length');
    if (n === undefined) ok = false;
    else p[key] = n;
  }
  const name = c.string(own(o, 'name'), `${path}.name`, 'a table name');
  if (name === undefined) ok = false;
  else {
    const problem = procNameProblem(name, NAME_SIZE);
    if (problem) bad('name', problem);
    else p.name = name;
  }
  for (const [, key, min, max] of NUMBERS) {
    if (!has(o, key)) continue;
    const n = c.int(own(o, key), `${path}.${key}`, min, max);
    if (n === undefined) ok = false;
    else p[key] = n;
  }
  if (!ok) return undefined;
  const part = p as HashlimitMatch;
  const f = fieldsOf(part, c.family);
  if ('error' in f) return bad(f.key, f.error);
  return normalized(part, c.family);
}

function encode(part: HashlimitMatch, family: Family): Buffer {
  return encodeFields(fieldsOf(part, family) as Fields);
}

function fieldsFrom(d: Buffer): Fields | null {
  const nameEnd = d.indexOf(0);
  if (nameEnd <= 0 || nameEnd >= NAME_SIZE) return null;
  const avg = getU64(d, CFG);
  const burst = getU64(d, CFG + 8);
  if (avg > BigInt(Number.MAX_SAFE_INTEGER) || burst > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    name: d.toString('latin1', 0, nameEnd), avg: Number(avg), burst: Number(burst), mode: get32(d, CFG + 16),
    size: get32(d, CFG + 20), max: get32(d, CFG + 24), gc: get32(d, CFG + 28), expire: get32(d, CFG + 32),
    interval: get32(d, CFG + 36), srcmask: d[CFG + 40]!, dstmask: d[CFG + 41]!,
  };
}

/** Rate words that may have written `avg` (print_rate's first), for decode to try. */
function rateCandidates(f: Fields): HashlimitRate[] {
  if (f.mode & BYTES) {
    const r = costToBytes(f.avg);
    const out = [saveBytes(f.avg, 0).rate];
    for (const [u, t] of BYTE_UNITS) for (const n of [Math.floor(r / t), Math.floor(r / t) + 1]) if (n > 0) out.push(`${n}${u}b/s`);
    return out as HashlimitRate[];
  }
  const out: string[] = [];
  for (const [name, secs] of UNITS.map(([n, s]) => [n, s] as const)) {
    const per = f.mode & RATE_MATCH ? f.avg * secs : f.avg;
    for (const n of [Math.floor((SCALE * secs) / per), Math.floor((SCALE * secs) / per) + 1]) if (n > 0) out.push(`${n}/${name}`);
  }
  const [saved] = saveRate(f.avg);
  const [n, unit] = saved.split('/');
  out.unshift(`${n}/${UNITS.find(([, , w]) => w.includes(unit!))![0]}`);
  return out as HashlimitRate[];
}

function decode(d: Buffer, family: Family): HashlimitMatch | null {
  if (d.length !== INFO_SIZE) return null;
  const f = fieldsFrom(d);
  if (!f || f.avg === 0 || f.mode & ~0x7f) return null;
  const want = d.subarray(0, USERSPACE_SIZE);
  const bytes = (f.mode & BYTES) !== 0;
  const burstWords: (number | string | undefined)[] = bytes
    ? f.burst === 0 ? [undefined] : [saveBytes(f.avg, f.burst).burst, `${costToBytes(f.avg) * f.burst}b`]
    : [f.burst];
  for (const rate of rateCandidates(f)) {
    for (const burst of burstWords) {
      const p: HashlimitMatch = {
        kind: 'hashlimit', rate, name: f.name, mode: modeList(f.mode), srcMask: f.srcmask, dstMask: f.dstmask,
        htableSize: f.size, htableMax: f.max, htableGcInterval: f.gc, htableExpire: f.expire,
      };
      if (f.mode & INVERT) p.above = true;
      if (burst !== undefined) p.burst = burst;
      if (f.mode & RATE_MATCH) {
        p.rateMatch = true;
        p.rateInterval = f.interval;
      } else if (f.interval !== 0) return null;
      if (!p.mode!.length) delete p.mode;
      if (!p.htableSize) delete p.htableSize;
      if (!p.htableMax) delete p.htableMax;
      const check = fieldsOf(p, family);
      if ('error' in check || check.gc === 0 || check.expire === 0) continue;
      if (check.srcmask > addressBits(family) || check.dstmask > addressBits(family)) return null;
      if (encodeFields(check).subarray(0, USERSPACE_SIZE).equals(want)) return normalized(p, family);
    }
  }
  return null;
}

const MS_PER_SECOND = 1000;
const TCP = 6;

/**
 * Whether the native nftables form writes this part: where iptables-translate 1.8.9's meter,
 * `meter NAME { ip saddr [and MASK] [. tcp dport] timeout Ns limit rate [over] R/unit [burst B packets] }`,
 * means what hashlimit means (docs/modules.md, "hashlimit on the native form", measured): null,
 * else why not, naming the option that changes the meaning.
 */
function nftables(p: HashlimitMatch, family: Family, rule: NativeRule): string | null {
  const f = fieldsOf(p, family);
  if ('error' in f) return f.error;
  if (f.mode & BYTES) return 'a byte rate: the translation was not measured to mean the same (packets only)';
  if (p.rateMatch) return "--hashlimit-rate-match: iptables-translate 1.8.9 renders it as '(null)'";
  if (!p.mode?.length) return 'no --hashlimit-mode: iptables-translate 1.8.9 has no translation for one bucket for all';
  if (p.htableSize !== undefined) return '--hashlimit-htable-size: the translation drops it (a meter holds up to 65535 entries)';
  if (p.htableMax !== undefined) return '--hashlimit-htable-max: the translation drops it (a meter holds up to 65535 entries)';
  if (p.htableGcInterval !== undefined) return "--hashlimit-htable-gcinterval: the translation drops it (a meter's entries expire on time, with no collector)";
  if (f.expire === MS_PER_SECOND) {
    return "an expiry of 1000 ms (--hashlimit-htable-expire 1000, or a per-second rate's default): the translation leaves the timeout out, so the meter's entries never expire";
  }
  if (f.expire % MS_PER_SECOND) return `--hashlimit-htable-expire ${f.expire}: the translation cuts it to whole seconds`;
  const [printed] = saveRate(f.avg);
  const [n, unit] = printed.split('/') as [string, string];
  const secs = SAVE_UNITS.find(([name]) => name === unit)![1];
  if (Math.floor((SCALE * secs) / Number(n)) !== f.avg) return `--hashlimit-upto/above ${p.rate}: the translation prints it as ${printed}, another rate`;
  const width = addressBits(family);
  const bit = (m: HashlimitMode) => MODE_BITS.find(([n]) => n === m)![1];
  for (const [named, mask, option] of [[bit('srcip'), f.srcmask, '--hashlimit-srcmask'], [bit('dstip'), f.dstmask, '--hashlimit-dstmask']] as const) {
    if (!(f.mode & named) && mask !== width) return `${option} without its address in --hashlimit-mode: the translation drops it`;
    if (mask === 0) return `${option} 0: the translation masks the address to nothing`;
  }
  if (f.mode & (bit('srcport') | bit('dstport')) && (rule.protocol !== TCP || rule.invProtocol)) {
    return "--hashlimit-mode srcport/dstport without -p tcp: the translation keys every protocol's ports as tcp ports";
  }
  return null;
}

export const hashlimit: CompatModule<HashlimitMatch, Draft> = {
  name: 'hashlimit',
  type: 'match',
  xtName: 'hashlimit',
  revision: 3,
  families: ['ipv4', 'ipv6'],
  userspaceSize: USERSPACE_SIZE,
  options: OPTIONS,
  start: () => ({ part: { kind: 'hashlimit' }, burstText: null, seen: new Set() }),
  option,
  finish,
  validate,
  render: (part, family) => renderFields(fieldsOf(part, family) as Fields, family),
  encode,
  decode,
  nftables,
};
