// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m time`: `struct xt_time_info` (linux/netfilter/xt_time.h), revision 0, as iptables 1.8.9's
 * libxt_time writes it (time_init, time_parse) and saves it (time_save). 22 bytes, XT_ALIGNed to
 * 24; the same blob on legacy and in iptables-nft's compat `match` expression. The native
 * nftables form writes its translation, `meta time`/`meta hour`/`meta day` (`nftables` below).
 *
 * Layout (host byte order): date_start 0, date_stop 4 (seconds since the epoch, UTC),
 * daytime_start 8, daytime_stop 12 (seconds into the day), monthdays_match 16 (bit N = day N),
 * weekdays_match 20 (bit N = ISO weekday N, Monday 1), flags 21 (1 kerneltz, 2 contiguous).
 *
 * `! --weekdays` and `! --monthdays` are stored as the complement (time_parse), so the part
 * holds the positive list and iptables-save prints that. Stricter than the CLI: weekday names
 * whole (the CLI compares the first two letters), day lists decimal, real calendar dates (the
 * CLI lets mktime roll `2001-02-31` over), no day list that leaves no day, and no `--localtz`
 * (the CLI's deprecated spelling of `--kerneltz`).
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import { parseDecimal } from '../numbers';
import type { CompatModule, ModuleOption, ParseContext, SpecChecker } from './module';
import { get32, has, own, put32, unwrap } from './values';

export type Weekday = 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat' | 'Sun';

/**
 * `-m time`: times of day `HH:MM:SS` (UTC unless `kernelTz`), dates `YYYY-MM-DDTHH:MM:SS` (UTC).
 * Lists are the days that match, in iptables-save's order; `{ not: [...] }` is taken as input
 * and comes back as the complement.
 *
 * @example { kind: 'time', timeStart: '09:00:00', timeStop: '17:00:00', weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] }
 */
export interface TimeMatch {
  kind: 'time';
  /** `--timestart` (00:00:00 when absent) */
  timeStart?: string;
  /** `--timestop` (23:59:59 when absent) */
  timeStop?: string;
  /** `--monthdays`: days 1-31 */
  monthdays?: Negatable<number[]>;
  /** `--weekdays` */
  weekdays?: Negatable<Weekday[]>;
  /** `--datestart` (the epoch when absent) */
  dateStart?: string;
  /** `--datestop` (2038-01-19T03:14:07 when absent) */
  dateStop?: string;
  /** `--kerneltz`: times of day in the kernel's time zone instead of UTC */
  kernelTz?: true;
  /** `--contiguous`: a window past midnight (start after stop) counts as the start day's */
  contiguous?: true;
}

declare module '../types' {
  interface ModuleParts {
    time: TimeMatch;
  }
}

const INFO_SIZE = 24;
const WEEKDAYS: readonly Weekday[] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const ALL_MONTHDAYS = 0xfffffffe;
const ALL_WEEKDAYS = 0xfe;
const MAX_DAYTIME = 24 * 60 * 60 - 1;
const DATE_STOP_DEFAULT = 0x7fffffff;
const LOCAL_TZ = 1 << 0;
const CONTIGUOUS = 1 << 1;

const OPTIONS: readonly ModuleOption[] = [
  { name: '--timestart', args: 1, invertible: false },
  { name: '--timestop', args: 1, invertible: false },
  { name: '--monthdays', args: 1, invertible: true },
  { name: '--weekdays', args: 1, invertible: true },
  { name: '--datestart', args: 1, invertible: false },
  { name: '--datestop', args: 1, invertible: false },
  { name: '--kerneltz', args: 0, invertible: false },
  { name: '--utc', args: 0, invertible: false },
  { name: '--contiguous', args: 0, invertible: false },
];

const TWO = (n: number): string => String(n).padStart(2, '0');

/** `hh:mm[:ss]` to seconds into the day, or null. */
function parseDaytime(text: string): number | null {
  const m = /^([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2}))?$/.exec(text);
  if (!m) return null;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return h > 23 || mi > 59 || s > 59 ? null : h * 3600 + mi * 60 + s;
}

function daytimeText(sec: number): string {
  return `${TWO(Math.floor(sec / 3600))}:${TWO(Math.floor(sec / 60) % 60)}:${TWO(sec % 60)}`;
}

/** `YYYY[-MM[-DD[Thh[:mm[:ss]]]]]` (UTC, 1970-2038, a real calendar date) to epoch seconds, or null. */
function parseDate(text: string): number | null {
  const m = /^([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2})(?:T([0-9]{1,2})(?::([0-9]{1,2})(?::([0-9]{1,2}))?)?)?)?)?$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i, k) => (m[i] === undefined ? (k === 1 || k === 2 ? 1 : 0) : Number(m[i]))) as [number, number, number, number, number, number];
  if (y < 1970 || y > 2038 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

function dateText(sec: number): string {
  const t = new Date(sec * 1000);
  return `${t.getUTCFullYear()}-${TWO(t.getUTCMonth() + 1)}-${TWO(t.getUTCDate())}T${TWO(t.getUTCHours())}:${TWO(t.getUTCMinutes())}:${TWO(t.getUTCSeconds())}`;
}

function monthdayMask(days: readonly number[]): number {
  return days.reduce((m, d) => (m | (1 << d)) >>> 0, 0);
}
function monthdayList(mask: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= 31; d++) if (mask & (1 << d)) out.push(d);
  return out;
}
function weekdayMask(days: readonly Weekday[]): number {
  return days.reduce((m, d) => m | (1 << (WEEKDAYS.indexOf(d) + 1)), 0);
}
function weekdayList(mask: number): Weekday[] {
  return WEEKDAYS.filter((_, i) => mask & (1 << (i + 1)));
}

/** The raw fields of a part, as time_init and time_parse leave them. */
interface Fields {
  dateStart: number;
  dateStop: number;
  dayStart: number;
  dayStop: number;
  monthdays: number;
  weekdays: number;
  flags: number;
}

function fieldsOf(p: TimeMatch): Fields {
  return {
    dateStart: p.dateStart === undefined ? 0 : parseDate(p.dateStart)!,
    dateStop: p.dateStop === undefined ? DATE_STOP_DEFAULT : parseDate(p.dateStop)!,
    dayStart: p.timeStart === undefined ? 0 : parseDaytime(p.timeStart)!,
    dayStop: p.timeStop === undefined ? MAX_DAYTIME : parseDaytime(p.timeStop)!,
    monthdays: p.monthdays === undefined ? ALL_MONTHDAYS : monthdayMask(unwrap(p.monthdays).value as number[]),
    weekdays: p.weekdays === undefined ? ALL_WEEKDAYS : weekdayMask(unwrap(p.weekdays).value as Weekday[]),
    flags: (p.kernelTz ? LOCAL_TZ : 0) | (p.contiguous ? CONTIGUOUS : 0),
  };
}

/** The normalized part of raw fields (the lists positive, defaults left out), or why it cannot be written. */
function partOf(f: Fields): TimeMatch | { error: string } {
  if (f.monthdays === 0) return { error: 'the --monthdays list leaves no day: the rule would never match' };
  if (f.weekdays === 0) return { error: 'the --weekdays list leaves no day: the rule would never match' };
  // iptables-save leaves a --datestop of 0 out, so it would not read back; no packet is that old.
  if (f.dateStop === 0) return { error: '--datestop at the epoch: the rule would never match' };
  if (f.flags & CONTIGUOUS && f.dayStart < f.dayStop) return { error: '--contiguous only makes sense when --timestop is earlier than --timestart' };
  const p: TimeMatch = { kind: 'time' };
  if (f.dayStart !== 0) p.timeStart = daytimeText(f.dayStart);
  if (f.dayStop !== MAX_DAYTIME) p.timeStop = daytimeText(f.dayStop);
  if (f.monthdays !== ALL_MONTHDAYS) p.monthdays = monthdayList(f.monthdays);
  if (f.weekdays !== ALL_WEEKDAYS) p.weekdays = weekdayList(f.weekdays);
  if (f.dateStart !== 0) p.dateStart = dateText(f.dateStart);
  if (f.dateStop !== DATE_STOP_DEFAULT) p.dateStop = dateText(f.dateStop);
  if (f.flags & LOCAL_TZ) p.kernelTz = true;
  if (f.flags & CONTIGUOUS) p.contiguous = true;
  return p;
}

/** A day list word (`1,15,31` / `Mon,Fri` or `1,5`) to its mask, or the bad word. */
function parseMonthdays(text: string): number | { bad: string } {
  let mask = 0;
  for (const w of text.split(',')) {
    const d = parseDecimal(w, 31);
    if (d === null || d === 0) return { bad: w };
    mask = (mask | (1 << d)) >>> 0;
  }
  return mask;
}
function parseWeekdays(text: string): number | { bad: string } {
  let mask = 0;
  for (const w of text.split(',')) {
    const n = parseDecimal(w, 7);
    const i = n !== null && n > 0 ? n - 1 : WEEKDAYS.indexOf(w as Weekday);
    if (i < 0) return { bad: w };
    mask |= 1 << (i + 1);
  }
  return mask;
}

interface Draft {
  fields: Fields;
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  if ((opt === '--utc' && d.seen.has('--kerneltz')) || (opt === '--kerneltz' && d.seen.has('--utc'))) ctx.fail('give one of --utc or --kerneltz');
  d.seen.add(opt);
  const v = values[0] ?? '';
  const f = d.fields;
  switch (opt) {
    case '--timestart':
    case '--timestop': {
      const s = parseDaytime(v);
      if (s === null) ctx.fail(`${opt} takes hh:mm[:ss] between 00:00:00 and 23:59:59, not ${quote(v)}`, 0);
      if (opt === '--timestart') f.dayStart = s;
      else f.dayStop = s;
      return;
    }
    case '--datestart':
    case '--datestop': {
      const s = parseDate(v);
      if (s === null) ctx.fail(`${opt} takes a UTC date YYYY[-MM[-DD[Thh[:mm[:ss]]]]] from 1970 to 2038, not ${quote(v)}`, 0);
      if (opt === '--datestart') f.dateStart = s;
      else f.dateStop = s;
      return;
    }
    case '--monthdays': {
      const m = parseMonthdays(v);
      if (typeof m !== 'number') ctx.fail(`bad --monthdays day ${quote(m.bad)}: give days 1-31, comma-separated`, 0);
      f.monthdays = invert ? (m ^ ALL_MONTHDAYS) >>> 0 : m;
      return;
    }
    case '--weekdays': {
      const m = parseWeekdays(v);
      if (typeof m !== 'number') ctx.fail(`bad --weekdays day ${quote(m.bad)}: give ${WEEKDAYS.join(', ')} or 1-7 (Monday is 1), comma-separated`, 0);
      f.weekdays = invert ? m ^ ALL_WEEKDAYS : m;
      return;
    }
    case '--kerneltz':
      f.flags |= LOCAL_TZ;
      return;
    case '--contiguous':
      f.flags |= CONTIGUOUS;
      return;
  }
}

const KEYS = new Set(['kind', 'timeStart', 'timeStop', 'monthdays', 'weekdays', 'dateStart', 'dateStop', 'kernelTz', 'contiguous']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): TimeMatch | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  const f = fieldsOf({ kind: 'time' });
  const bad = (key: string, message: string): void => {
    c.add(`${path}.${key}`, message);
    ok = false;
  };
  for (const key of ['timeStart', 'timeStop'] as const) {
    if (!has(o, key)) continue;
    const s = c.string(own(o, key), `${path}.${key}`, 'a time of day');
    const t = s === undefined ? null : parseDaytime(s);
    if (t === null) {
      if (s !== undefined) bad(key, 'expected hh:mm[:ss] between 00:00:00 and 23:59:59');
      else ok = false;
    } else if (key === 'timeStart') f.dayStart = t;
    else f.dayStop = t;
  }
  for (const key of ['dateStart', 'dateStop'] as const) {
    if (!has(o, key)) continue;
    const s = c.string(own(o, key), `${path}.${key}`, 'a date');
    const t = s === undefined ? null : parseDate(s);
    if (t === null) {
      if (s !== undefined) bad(key, 'expected a UTC date YYYY[-MM[-DD[Thh[:mm[:ss]]]]] from 1970 to 2038');
      else ok = false;
    } else if (key === 'dateStart') f.dateStart = t;
    else f.dateStop = t;
  }
  if (has(o, 'monthdays')) {
    const n = c.negatable(own(o, 'monthdays'), `${path}.monthdays`);
    const days = Array.isArray(n.value) && n.value.length > 0 ? n.value : null;
    if (!days) bad('monthdays', 'expected a non-empty array of days 1-31');
    else {
      const nums = days.map((d: unknown, i) => c.int(d, `${n.path}[${i}]`, 1, 31, 'a day of the month'));
      if (nums.some((x) => x === undefined)) ok = false;
      else f.monthdays = n.invert ? (monthdayMask(nums as number[]) ^ ALL_MONTHDAYS) >>> 0 : monthdayMask(nums as number[]);
    }
  }
  if (has(o, 'weekdays')) {
    const n = c.negatable(own(o, 'weekdays'), `${path}.weekdays`);
    const days = Array.isArray(n.value) && n.value.length > 0 ? n.value : null;
    if (!days) bad('weekdays', `expected a non-empty array of ${WEEKDAYS.join(', ')}`);
    else {
      let dayOk = true;
      days.forEach((d: unknown, i) => {
        if (!(WEEKDAYS as readonly unknown[]).includes(d)) {
          c.add(`${n.path}[${i}]`, `expected one of ${WEEKDAYS.join(', ')}`);
          dayOk = false;
        }
      });
      if (!dayOk) ok = false;
      else f.weekdays = n.invert ? weekdayMask(days as Weekday[]) ^ ALL_WEEKDAYS : weekdayMask(days as Weekday[]);
    }
  }
  for (const [key, flag] of [['kernelTz', LOCAL_TZ], ['contiguous', CONTIGUOUS]] as const) {
    if (!has(o, key)) continue;
    if (own(o, key) !== true) bad(key, 'expected true (or leave it out)');
    else f.flags |= flag;
  }
  if (!ok) return undefined;
  const p = partOf(f);
  if ('error' in p) return c.add(path, p.error);
  return p;
}

function encode(part: TimeMatch): Buffer {
  const f = fieldsOf(part);
  const b = Buffer.alloc(INFO_SIZE);
  put32(b, 0, f.dateStart);
  put32(b, 4, f.dateStop);
  put32(b, 8, f.dayStart);
  put32(b, 12, f.dayStop);
  put32(b, 16, f.monthdays);
  b[20] = f.weekdays;
  b[21] = f.flags;
  return b;
}

function decode(d: Buffer, _family: Family): TimeMatch | null {
  if (d.length !== INFO_SIZE) return null;
  const f: Fields = {
    dateStart: get32(d, 0), dateStop: get32(d, 4), dayStart: get32(d, 8), dayStop: get32(d, 12),
    monthdays: get32(d, 16), weekdays: d[20]!, flags: d[21]!,
  };
  // What the CLI cannot write (bit 0 of a day mask, unknown flags, times past the day) stays opaque.
  if (f.dayStart > MAX_DAYTIME || f.dayStop > MAX_DAYTIME || f.flags & ~(LOCAL_TZ | CONTIGUOUS) || f.monthdays & 1 || f.weekdays & 1) return null;
  const p = partOf(f);
  return 'error' in p ? null : p;
}

/** time_save: the two times (both, when either differs), days, dates, kerneltz, contiguous. */
function render(part: TimeMatch): string[] {
  const f = fieldsOf(part);
  const out = ['-m', 'time'];
  if (part.timeStart !== undefined || part.timeStop !== undefined) out.push('--timestart', daytimeText(f.dayStart), '--timestop', daytimeText(f.dayStop));
  if (part.monthdays !== undefined) out.push('--monthdays', monthdayList(f.monthdays).join(','));
  if (part.weekdays !== undefined) out.push('--weekdays', weekdayList(f.weekdays).join(','));
  if (f.dateStart !== 0) out.push('--datestart', dateText(f.dateStart));
  out.push('--datestop', dateText(f.dateStop));
  if (part.kernelTz) out.push('--kerneltz');
  if (part.contiguous) out.push('--contiguous');
  return out;
}

/**
 * The native nftables form writes time_xlate's `meta time "D1"-"D2" meta hour "T1"-"T2" meta day D`
 * (several weekdays: `meta day { 1, 6, 0 }`, an anonymous set; native/core/nft/native/xlate_time.cc):
 * null when that says this part, else why not. Where
 * 1.8.9's translation drops an option, the rule would mean something else: refused.
 */
function nftables(part: TimeMatch): string | null {
  if (part.monthdays !== undefined) return "--monthdays: nft's `meta day` is a weekday, and iptables-translate 1.8.9 has no translation";
  if (part.kernelTz) return "--kerneltz: nft's `meta hour` is always UTC (iptables-translate 1.8.9 drops the option)";
  if (part.contiguous) return "--contiguous: nft tests `meta hour` and `meta day` apart (iptables-translate 1.8.9 drops the option; without --weekdays it changes nothing: leave it out)";
  if (Object.keys(part).length === 1) return 'a -m time without options matches every packet and translates to nothing: leave it out';
  return null;
}

export const time: CompatModule<TimeMatch, Draft> = {
  name: 'time',
  type: 'match',
  xtName: 'time',
  revision: 0,
  families: ['ipv4', 'ipv6'],
  options: OPTIONS,
  start: () => ({ fields: fieldsOf({ kind: 'time' }), seen: new Set() }),
  option,
  finish(d, ctx) {
    const p = partOf(d.fields);
    if ('error' in p) return ctx.fail(p.error);
    return p;
  },
  validate,
  render,
  encode,
  decode,
  nftables,
};
