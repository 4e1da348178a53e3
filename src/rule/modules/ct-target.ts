// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j CT`: `struct xt_ct_target_info_v1` (linux/netfilter/xt_CT.h), revision 2, as iptables
 * 1.8.9's libxt_CT writes it (ct_parse_v1) and saves it (ct_save_v1: `--notrack --helper N
 * --timeout N --ctevents L --expevents L --zone[-orig|-reply] ID|mark`, in that order). Layout:
 * flags 0 (u16), zone 2 (u16), ct_events 4 (u32), exp_events 8 (u32), helper[16] 12,
 * timeout[32] 28, then the kernel's conntrack pointer at 64 (left out of comparisons:
 * userspacesize 64); 72 bytes. Host order. The same blob on legacy and in iptables-nft's compat
 * `target` expression. The kernel declares it for the raw table only.
 *
 * `-j NOTRACK` is the same revision with flags NOTRACK|NOTRACK_ALIAS (notrack-target.ts).
 *
 * Stricter than the CLI: one zone option per rule (the CLI lets `--zone-orig` and
 * `--zone-reply` overwrite each other's id); no direction on zone 0 (iptables-save drops it);
 * zone ids are decimal; helper and timeout names
 * keep to A-Z a-z 0-9 _ . - (they are printed unquoted by iptables-save).
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { get16, get32, has, isObject, own, put16, put32 } from './values';

declare module '../types' {
  interface ModuleTargetParts {
    ct: CtTarget;
  }
}

/** Conntrack events a `--ctevents` list names, in the order iptables-save prints them (bit = index, IPCT_*). */
export const CT_EVENTS = ['new', 'related', 'destroy', 'reply', 'assured', 'protoinfo', 'helper', 'mark', 'natseqinfo', 'secmark'] as const;
export type CtEvent = (typeof CT_EVENTS)[number];

/**
 * `-j CT`: set up the connection tracking of the packet's connection before it is tracked.
 *
 * @example { kind: 'ct', notrack: true }
 * @example { kind: 'ct', helper: 'ftp' }
 * @example { kind: 'ct', zone: { id: 'mark', direction: 'original' } }
 */
export interface CtTarget {
  kind: 'ct';
  /** `--notrack`: don't track the connection (the other options are then kept but unused). */
  notrack?: true;
  /** `--helper NAME`: the conntrack helper (`ftp`, `sip`, ...); the rule needs `-p`. 1-15 characters. */
  helper?: string;
  /** `--timeout NAME`: a timeout policy made with `nfct timeout add`. 1-31 characters. */
  timeout?: string;
  /** `--ctevents`: only these conntrack events are sent for the connection. */
  ctevents?: CtEvent[];
  /** `--expevents new`: only these expectation events are sent. */
  expevents?: Array<'new'>;
  /**
   * `--zone ID|mark` (0-65535; `mark`: the packet mark's low 16 bits), or with a direction
   * `--zone-orig`/`--zone-reply`. A zone of 0 in both directions is the default and left out.
   */
  zone?: number | 'mark' | { id: number | 'mark'; direction: 'original' | 'reply' };
}

export const SIZE = 72;
export const USERSPACE_SIZE = 64;
export const F_NOTRACK = 1 << 0;
export const F_NOTRACK_ALIAS = 1 << 1;
const F_ZONE_ORIG = 1 << 2;
const F_ZONE_REPLY = 1 << 3;
const F_ZONE_MARK = 1 << 4;
const OFF_HELPER = 12;
const HELPER_BYTES = 16;
const OFF_TIMEOUT = 28;
const TIMEOUT_BYTES = 32;
const MAX_ZONE = 0xffff;

/** Why a helper or timeout policy name can't be, or null; `size` counts the NUL. */
function nameProblem(name: string, what: string, size: number): string | null {
  if (name === '') return `an empty ${what} name`;
  if (Buffer.byteLength(name) >= size) return `a ${what} name of ${Buffer.byteLength(name)} bytes: the kernel takes at most ${size - 1}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `${quote(name)} has characters outside A-Z a-z 0-9 _ . - (a ${what} name)`;
  return null;
}

/** The bits of an event list; null (with the word) for an unknown event. */
function eventBits(names: readonly string[], table: readonly string[]): number | string {
  let bits = 0;
  for (const n of names) {
    const i = table.indexOf(n);
    if (i === -1) return n;
    bits |= 1 << i;
  }
  return bits;
}

function eventNames<T extends string>(bits: number, table: readonly T[]): T[] {
  return table.filter((_, i) => bits & (1 << i));
}

interface Draft {
  part: Omit<CtTarget, 'kind'>;
  seen: Set<string>;
}

// iptables-save prints no zone of 0, so a direction on it would be lost in the save (and the
// zone is the default one anyway).
const ZONE_0 = 'zone 0 is the default zone: leave the option out';

const ZONE_OPTIONS: Readonly<Record<string, 'original' | 'reply' | undefined>> = { '--zone': undefined, '--zone-orig': 'original', '--zone-reply': 'reply' };

function zoneId(text: string): number | 'mark' | null {
  if (text.toLowerCase() === 'mark') return 'mark';
  return parseDecimal(text, MAX_ZONE);
}

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  const v = values[0] ?? '';
  switch (opt) {
    case '--notrack':
      d.part.notrack = true;
      return;
    case '--helper':
    case '--timeout': {
      const p = opt === '--helper' ? nameProblem(v, 'helper', HELPER_BYTES) : nameProblem(v, 'timeout policy', TIMEOUT_BYTES);
      if (p) ctx.fail(p, 0);
      d.part[opt === '--helper' ? 'helper' : 'timeout'] = v;
      return;
    }
    case '--ctevents':
    case '--expevents': {
      const table = opt === '--ctevents' ? CT_EVENTS : (['new'] as const);
      const bits = eventBits(v.split(','), table);
      if (typeof bits === 'string') ctx.fail(`unknown event ${quote(bits)}: ${opt} takes a list of ${table.join(', ')}`, 0);
      if (opt === '--ctevents') d.part.ctevents = eventNames(bits, CT_EVENTS);
      else d.part.expevents = eventNames(bits, ['new'] as const);
      return;
    }
  }
  if (d.part.zone !== undefined) ctx.fail('CT takes one of --zone, --zone-orig, --zone-reply');
  const id = zoneId(v);
  if (id === null) ctx.fail(`${quote(v)} is not a zone: 0-${MAX_ZONE} or mark${numberHint(v)}`, 0);
  const direction = ZONE_OPTIONS[opt];
  if (direction && id === 0) ctx.fail(ZONE_0, 0);
  d.part.zone = direction ? { id, direction } : id;
}

/** The part with defaults left out, so equal meaning is equal parts. */
function normalized(d: Omit<CtTarget, 'kind'>): CtTarget {
  const p: CtTarget = { kind: 'ct' };
  if (d.notrack) p.notrack = true;
  if (d.helper !== undefined) p.helper = d.helper;
  if (d.timeout !== undefined) p.timeout = d.timeout;
  if (d.ctevents?.length) p.ctevents = eventNames(eventBits(d.ctevents, CT_EVENTS) as number, CT_EVENTS);
  if (d.expevents?.length) p.expevents = ['new'];
  if (d.zone !== undefined && d.zone !== 0) p.zone = d.zone;
  return p;
}

const KEYS = new Set(['kind', 'notrack', 'helper', 'timeout', 'ctevents', 'expevents', 'zone']);
const ZONE_KEYS = new Set(['id', 'direction']);

function checkEvents(c: SpecChecker, v: unknown, path: string, table: readonly string[]): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return c.add(path, `expected a non-empty list of ${table.join(', ')}`);
  const bad = v.findIndex((e) => typeof e !== 'string' || !table.includes(e));
  if (bad !== -1) return c.add(`${path}[${bad}]`, `expected one of ${table.join(', ')}`);
  return v as string[];
}

function checkZone(c: SpecChecker, v: unknown, path: string): CtTarget['zone'] | undefined {
  const id = (x: unknown, p: string): number | 'mark' | undefined => (x === 'mark' ? 'mark' : c.int(x, p, 0, MAX_ZONE, "a zone id or 'mark'"));
  if (!isObject(v)) return id(v, path);
  c.keys(v, ZONE_KEYS, path);
  const direction = own(v, 'direction');
  if (direction !== 'original' && direction !== 'reply') return c.add(`${path}.direction`, "expected 'original' or 'reply'");
  const z = id(own(v, 'id'), `${path}.id`);
  if (z === 0) return c.add(`${path}.id`, ZONE_0);
  return z === undefined ? undefined : { id: z, direction };
}

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): CtTarget | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  const d: Omit<CtTarget, 'kind'> = {};
  if (has(o, 'notrack')) {
    if (own(o, 'notrack') === true) d.notrack = true;
    else ok = c.add(`${path}.notrack`, 'expected true (leave it out for false)') ?? false;
  }
  for (const [key, what, size] of [['helper', 'helper', HELPER_BYTES], ['timeout', 'timeout policy', TIMEOUT_BYTES]] as const) {
    if (!has(o, key)) continue;
    const s = c.string(own(o, key), `${path}.${key}`, `a ${what} name`);
    const p = s === undefined ? null : nameProblem(s, what, size);
    if (p) c.add(`${path}.${key}`, p);
    if (s === undefined || p) ok = false;
    else d[key] = s;
  }
  if (has(o, 'ctevents')) {
    const e = checkEvents(c, own(o, 'ctevents'), `${path}.ctevents`, CT_EVENTS);
    if (e) d.ctevents = e as CtEvent[];
    else ok = false;
  }
  if (has(o, 'expevents')) {
    const e = checkEvents(c, own(o, 'expevents'), `${path}.expevents`, ['new']);
    if (e) d.expevents = ['new'];
    else ok = false;
  }
  if (has(o, 'zone')) {
    d.zone = checkZone(c, own(o, 'zone'), `${path}.zone`);
    ok &&= d.zone !== undefined;
  }
  return ok ? normalized(d) : undefined;
}

function encode(p: CtTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  const z = p.zone ?? 0;
  const zone = typeof z === 'object' ? z.id : z;
  let flags = p.notrack ? F_NOTRACK : 0;
  if (zone === 'mark') flags |= F_ZONE_MARK;
  if (typeof z === 'object') flags |= z.direction === 'original' ? F_ZONE_ORIG : F_ZONE_REPLY;
  put16(b, 0, flags);
  put16(b, 2, zone === 'mark' ? 0 : zone);
  put32(b, 4, p.ctevents ? (eventBits(p.ctevents, CT_EVENTS) as number) : 0);
  put32(b, 8, p.expevents ? 1 : 0);
  if (p.helper !== undefined) b.write(p.helper, OFF_HELPER, HELPER_BYTES - 1, 'utf8');
  if (p.timeout !== undefined) b.write(p.timeout, OFF_TIMEOUT, TIMEOUT_BYTES - 1, 'utf8');
  return b;
}

/** A NUL-terminated name field, or null when it isn't one we would write. */
function nameField(d: Buffer, off: number, size: number, what: string): string | undefined | null {
  const field = d.subarray(off, off + size);
  const end = field.indexOf(0);
  if (end === -1) return null;
  if (end === 0) return undefined;
  const name = field.subarray(0, end).toString('utf8');
  return nameProblem(name, what, size) ? null : name;
}

function decode(d: Buffer, _family: Family): CtTarget | null {
  if (d.length !== SIZE) return null;
  const flags = get16(d, 0);
  if (flags & ~(F_NOTRACK | F_ZONE_ORIG | F_ZONE_REPLY | F_ZONE_MARK)) return null;
  const helper = nameField(d, OFF_HELPER, HELPER_BYTES, 'helper');
  const timeout = nameField(d, OFF_TIMEOUT, TIMEOUT_BYTES, 'timeout policy');
  if (helper === null || timeout === null) return null;
  const part: Omit<CtTarget, 'kind'> = {};
  if (flags & F_NOTRACK) part.notrack = true;
  if (helper !== undefined) part.helper = helper;
  if (timeout !== undefined) part.timeout = timeout;
  part.ctevents = eventNames(get32(d, 4), CT_EVENTS);
  if (get32(d, 8) & 1) part.expevents = ['new'];
  const id = flags & F_ZONE_MARK ? 'mark' : get16(d, 2);
  const dir = flags & (F_ZONE_ORIG | F_ZONE_REPLY);
  if (id === 0 && dir !== 0 && dir !== (F_ZONE_ORIG | F_ZONE_REPLY)) return null;
  // Both direction bits is the plain --zone, as ct_print_zone_id prints it.
  part.zone = dir === F_ZONE_ORIG ? { id, direction: 'original' } : dir === F_ZONE_REPLY ? { id, direction: 'reply' } : id;
  return normalized(part);
}

function render(p: CtTarget): string[] {
  const out = ['-j', 'CT'];
  if (p.notrack) out.push('--notrack');
  if (p.helper !== undefined) out.push('--helper', p.helper);
  if (p.timeout !== undefined) out.push('--timeout', p.timeout);
  if (p.ctevents) out.push('--ctevents', p.ctevents.join(','));
  if (p.expevents) out.push('--expevents', 'new');
  if (p.zone !== undefined) {
    const z = p.zone;
    if (typeof z === 'object') out.push(z.direction === 'original' ? '--zone-orig' : '--zone-reply', String(z.id));
    else out.push('--zone', String(z));
  }
  return out;
}

export const ctTarget: CompatModule<CtTarget, Draft> = {
  name: 'CT',
  kind: 'ct',
  type: 'target',
  xtName: 'CT',
  revision: 2,
  families: ['ipv4', 'ipv6'],
  userspaceSize: USERSPACE_SIZE,
  tables: ['raw'],
  options: [
    { name: '--notrack', args: 0, invertible: false },
    ...['--helper', '--timeout', '--ctevents', '--expevents', '--zone', '--zone-orig', '--zone-reply'].map((name) => ({ name, args: 1 as const, invertible: false })),
  ],
  start: () => ({ part: {}, seen: new Set() }),
  option,
  finish: (d) => normalized(d.part),
  // xt_ct_set_helper looks the helper up by the rule's protocol (-ENOENT without one).
  ruleProblem: (part, rule) =>
    part.helper !== undefined && (rule.protocol === 0 || rule.invProtocol) ? '--helper needs -p PROTOCOL, not negated (the kernel looks the helper up by it)' : null,
  validate,
  render,
  encode,
  decode,
};
