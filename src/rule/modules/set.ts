// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m set`: `struct xt_set_info_match_v4` (linux/netfilter/xt_set.h), revision 4 for IPv4 and
 * IPv6, as iptables 1.8.9's libxt_set writes it (set_parse_v4) and saves it (set_save_v4).
 * 44 bytes, XT_ALIGNed to 48; the same blob on legacy and in iptables-nft's compat `match`
 * expression (NETFILTER-NOTES §10). No translation to native nftables exists.
 *
 * Layout (host byte order): match_set { index u16 0, dim 2, flags 3 (bit 0 `!`, bit i: dimension
 * i is src) }, packets { value u64 8, op 16 }, bytes { value u64 24, op 32 }, flags u32 40.
 *
 * The struct holds the set's kernel index, not its name: only the namespace's ipset knows it
 * (libxt_set asks with getsockopt SO_IP_SET). So `encode` leaves IPSET_INVALID_ID at offset 0
 * (`setIndexOffsets`), the firewall writes the index at commit from the name (`setNames`), and a
 * listing names the index back before `decode` sees it (src/rule/set-refs.ts).
 *
 * Stricter than the CLI: `src`/`dst` exactly (parse_dirs takes any word starting with them),
 * counters decimal and at most 2^53−1, set names of printable characters without spaces, and the
 * deprecated `--set` spelling is refused.
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import type { CompatModule, ModuleOption, ParseContext, SpecChecker } from './module';
import { get32, get64, has, isObject, neg, own, put16, put32, put64, unwrap } from './values';

export type SetDirection = 'src' | 'dst';

/** A counter test (ip_set_counter_match): `--packets-eq 5` is `{ op: 'eq', value: 5 }`, `! --packets-eq 5` is `'ne'`. */
export interface SetCounterMatch {
  op: 'eq' | 'ne' | 'lt' | 'gt';
  value: number;
}

/**
 * `-m set`. `set` is the ipset set's name (`{ not: name }` for `! --match-set`), which must exist
 * in the firewall's namespace when the rule is written; `dirs` the packet's address (or port)
 * each of the set's dimensions is taken from, 1–6 of them.
 *
 * @example { kind: 'set', set: 'connlimit-ban', dirs: ['src'] }
 * @example { kind: 'set', set: { not: 'vip' }, dirs: ['src', 'dst'], packets: { op: 'gt', value: 10 } }
 */
export interface SetMatch {
  kind: 'set';
  set: Negatable<string>;
  dirs: SetDirection[];
  /** `--return-nomatch`: entries added with `nomatch` make the set match. */
  returnNomatch?: true;
  /** `! --update-counters`: leave the matched entry's counters alone. */
  updateCounters?: false;
  /** `! --update-subcounters`: leave a list:set member's counters alone. */
  updateSubcounters?: false;
  /** `--packets-eq/lt/gt` (`! --packets-eq`): the matched entry's packet counter. */
  packets?: SetCounterMatch;
  /** `--bytes-eq/lt/gt` (`! --bytes-eq`): the matched entry's byte counter. */
  bytes?: SetCounterMatch;
}

declare module '../types' {
  interface ModuleParts {
    set: SetMatch;
  }
}

const INFO_SIZE = 48;
const OFF_DIM = 2;
const OFF_FLAGS = 3;
const OFF_PACKETS = 8;
const OFF_BYTES = 24;
const OFF_OPTIONS = 40;
/** IPSET_INVALID_ID: what the blob holds until the firewall writes the set's index. */
const NO_INDEX = 0xffff;
/** IPSET_DIM_MAX. */
export const MAX_DIMS = 6;
/** IPSET_MAXNAMELEN − 1. */
const MAX_NAME = 31;
const INV_MATCH = 1 << 0;
const SKIP_COUNTER_UPDATE = 1 << 3;
const SKIP_SUBCOUNTER_UPDATE = 1 << 4;
const RETURN_NOMATCH = 1 << 7;
/** IPSET_COUNTER_NONE 0, then these, in the kernel's numbering. */
const COUNTER_OPS = ['eq', 'ne', 'lt', 'gt'] as const;

const COUNTERS = ['packets', 'bytes'] as const;
const OPTIONS: readonly ModuleOption[] = [
  { name: '--match-set', args: 2, invertible: true },
  { name: '--return-nomatch', args: 0, invertible: false },
  { name: '--update-counters', args: 0, invertible: true },
  { name: '--update-subcounters', args: 0, invertible: true },
  ...COUNTERS.flatMap((c) => [
    { name: `--${c}-eq`, args: 1 as const, invertible: true },
    { name: `--${c}-lt`, args: 1 as const, invertible: false },
    { name: `--${c}-gt`, args: 1 as const, invertible: false },
  ]),
];

/** Why a set name can't be written (and saved back as one word), or undefined. */
export function setNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a set name must not be empty';
  if (Buffer.byteLength(name) > MAX_NAME) return `set names are at most ${MAX_NAME} bytes (the kernel's limit)`;
  if (!/^[\x21-\x7e]+$/.test(name)) return 'set names here are printable ASCII without spaces';
  return undefined;
}

export function parseSetDirs(text: string): SetDirection[] | string {
  const dirs = text.split(',');
  if (dirs.length > MAX_DIMS) return `at most ${MAX_DIMS} of src/dst (IPSET_DIM_MAX), not ${dirs.length}`;
  if (dirs.some((d) => d !== 'src' && d !== 'dst')) return `expected a comma-separated list of 'src' or 'dst', not ${quote(text)}`;
  return dirs as SetDirection[];
}

/** A counter value: decimal, up to 2^53−1 (the CLI takes up to 2^64−1). */
function parseCounter(text: string): number | null {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) return null;
  const v = Number(text);
  return Number.isSafeInteger(v) ? v : null;
}

interface Draft {
  part: Partial<SetMatch> & { kind: 'set' };
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  const p = d.part;
  const counter = /^--(packets|bytes)-(eq|lt|gt)$/.exec(opt);
  const key = counter ? counter[1]! : opt;
  if (d.seen.has(key)) ctx.fail(counter ? `only one of --${key}-eq, --${key}-lt or --${key}-gt` : `${opt} given twice`);
  d.seen.add(key);
  if (counter) {
    const v = parseCounter(values[0]!);
    if (v === null) ctx.fail(`${opt} takes a decimal counter 0-${Number.MAX_SAFE_INTEGER}, not ${quote(values[0]!)}`, 0);
    const op = counter[2] === 'eq' && invert ? 'ne' : (counter[2] as SetCounterMatch['op']);
    p[counter[1] as 'packets' | 'bytes'] = { op, value: v };
    return;
  }
  switch (opt) {
    case '--match-set': {
      const problem = setNameProblem(values[0]!);
      if (problem) ctx.fail(problem, 0);
      const dirs = parseSetDirs(values[1]!);
      if (typeof dirs === 'string') ctx.fail(dirs, 1);
      p.set = neg(values[0]!, invert);
      p.dirs = dirs;
      return;
    }
    case '--return-nomatch':
      p.returnNomatch = true;
      return;
    // Without `!` these are the default and write nothing, as in the CLI.
    case '--update-counters':
      if (invert) p.updateCounters = false;
      return;
    case '--update-subcounters':
      if (invert) p.updateSubcounters = false;
      return;
  }
}

function finish(d: Draft, ctx: ParseContext): SetMatch {
  if (d.part.set === undefined) ctx.fail('-m set needs --match-set NAME src|dst[,src|dst...]');
  return ordered(d.part as SetMatch);
}

/** The part with its keys in one order, whatever order the options came in. */
function ordered(p: SetMatch): SetMatch {
  const out: SetMatch = { kind: 'set', set: p.set, dirs: [...p.dirs] };
  if (p.returnNomatch) out.returnNomatch = true;
  if (p.updateCounters === false) out.updateCounters = false;
  if (p.updateSubcounters === false) out.updateSubcounters = false;
  if (p.packets) out.packets = { op: p.packets.op, value: p.packets.value };
  if (p.bytes) out.bytes = { op: p.bytes.op, value: p.bytes.value };
  return out;
}

const KEYS = new Set(['kind', 'set', 'dirs', 'returnNomatch', 'updateCounters', 'updateSubcounters', 'packets', 'bytes']);
const COUNTER_KEYS = new Set(['op', 'value']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): SetMatch | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  const part: Partial<SetMatch> & { kind: 'set' } = { kind: 'set' };
  const n = c.negatable(own(o, 'set'), `${path}.set`);
  const name = c.string(n.value, n.path, 'a set name');
  const problem = name === undefined ? 'x' : setNameProblem(name);
  if (name !== undefined && problem) c.add(n.path, problem);
  if (problem) ok = false;
  else part.set = neg(name!, n.invert);
  const dirs = own(o, 'dirs');
  if (!Array.isArray(dirs) || dirs.length < 1 || dirs.length > MAX_DIMS || dirs.some((x) => x !== 'src' && x !== 'dst')) {
    c.add(`${path}.dirs`, `expected an array of 1-${MAX_DIMS} of 'src' or 'dst'`);
    ok = false;
  } else part.dirs = [...dirs] as SetDirection[];
  if (has(o, 'returnNomatch')) {
    if (own(o, 'returnNomatch') !== true) ok = !!c.add(`${path}.returnNomatch`, 'expected true (or leave it out)');
    else part.returnNomatch = true;
  }
  for (const key of ['updateCounters', 'updateSubcounters'] as const) {
    if (!has(o, key)) continue;
    const v = own(o, key);
    if (v === false) part[key] = false;
    else if (v !== true) ok = !!c.add(`${path}.${key}`, 'expected false (or true, the default)');
  }
  for (const key of COUNTERS) {
    if (!has(o, key)) continue;
    const v = own(o, key);
    const p = `${path}.${key}`;
    if (!isObject(v)) {
      ok = !!c.add(p, "expected { op: 'eq' | 'ne' | 'lt' | 'gt', value }");
      continue;
    }
    c.keys(v, COUNTER_KEYS, p);
    const op = own(v, 'op');
    if (!(COUNTER_OPS as readonly unknown[]).includes(op)) ok = !!c.add(`${p}.op`, "expected 'eq', 'ne', 'lt' or 'gt'");
    const value = c.int(own(v, 'value'), `${p}.value`, 0, Number.MAX_SAFE_INTEGER, 'a counter value');
    if (value === undefined) ok = false;
    else if (ok) part[key] = { op: op as SetCounterMatch['op'], value };
  }
  return ok ? ordered(part as SetMatch) : undefined;
}

function putCounter(b: Buffer, off: number, c: SetCounterMatch | undefined): void {
  if (!c) return;
  put64(b, off, BigInt(c.value));
  b[off + 8] = COUNTER_OPS.indexOf(c.op) + 1;
}

function encode(part: SetMatch): Buffer {
  const b = Buffer.alloc(INFO_SIZE);
  const { invert } = unwrap(part.set);
  put16(b, 0, NO_INDEX);
  b[OFF_DIM] = part.dirs.length;
  b[OFF_FLAGS] = part.dirs.reduce((f, d, i) => (d === 'src' ? f | (1 << (i + 1)) : f), invert ? INV_MATCH : 0);
  putCounter(b, OFF_PACKETS, part.packets);
  putCounter(b, OFF_BYTES, part.bytes);
  put32(b, OFF_OPTIONS, (part.returnNomatch ? RETURN_NOMATCH : 0) | (part.updateCounters === false ? SKIP_COUNTER_UPDATE : 0) | (part.updateSubcounters === false ? SKIP_SUBCOUNTER_UPDATE : 0));
  return b;
}

function readCounter(d: Buffer, off: number): SetCounterMatch | undefined | null {
  const op = d[off + 8]!;
  if (op === 0) return undefined;
  if (op > COUNTER_OPS.length) return null;
  const v = get64(d, off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { op: COUNTER_OPS[op - 1]!, value: Number(v) };
}

function decode(d: Buffer, _family: Family, sets?: readonly string[]): SetMatch | null {
  const name = sets?.[0];
  if (d.length !== INFO_SIZE || name === undefined || setNameProblem(name)) return null;
  const dim = d[OFF_DIM]!;
  const flags = d[OFF_FLAGS]!;
  const options = get32(d, OFF_OPTIONS);
  if (dim < 1 || dim > MAX_DIMS || flags >> (dim + 1) !== 0) return null;
  if (options & ~(RETURN_NOMATCH | SKIP_COUNTER_UPDATE | SKIP_SUBCOUNTER_UPDATE)) return null;
  const packets = readCounter(d, OFF_PACKETS);
  const bytes = readCounter(d, OFF_BYTES);
  if (packets === null || bytes === null) return null;
  const dirs: SetDirection[] = [];
  for (let i = 1; i <= dim; i++) dirs.push(flags & (1 << i) ? 'src' : 'dst');
  return ordered({
    kind: 'set',
    set: neg(name, (flags & INV_MATCH) !== 0),
    dirs,
    ...(options & RETURN_NOMATCH ? { returnNomatch: true as const } : {}),
    ...(options & SKIP_COUNTER_UPDATE ? { updateCounters: false as const } : {}),
    ...(options & SKIP_SUBCOUNTER_UPDATE ? { updateSubcounters: false as const } : {}),
    ...(packets ? { packets } : {}),
    ...(bytes ? { bytes } : {}),
  });
}

function renderCounter(name: string, c: SetCounterMatch | undefined): string[] {
  if (!c) return [];
  if (c.op === 'ne') return ['!', `--${name}-eq`, String(c.value)];
  return [`--${name}-${c.op}`, String(c.value)];
}

/** set_save_v4: match-set, return-nomatch, update-counters, update-subcounters, packets, bytes. */
function render(part: SetMatch): string[] {
  const { value: name, invert } = unwrap(part.set);
  const out = ['-m', 'set', ...(invert ? ['!'] : []), '--match-set', name, part.dirs.join(',')];
  if (part.returnNomatch) out.push('--return-nomatch');
  if (part.updateCounters === false) out.push('!', '--update-counters');
  if (part.updateSubcounters === false) out.push('!', '--update-subcounters');
  out.push(...renderCounter('packets', part.packets), ...renderCounter('bytes', part.bytes));
  return out;
}

export const set: CompatModule<SetMatch, Draft> = {
  name: 'set',
  type: 'match',
  xtName: 'set',
  revision: 4,
  families: ['ipv4', 'ipv6'],
  options: OPTIONS,
  setIndexOffsets: [0],
  setNames: (part) => [unwrap(part.set).value],
  start: () => ({ part: { kind: 'set' }, seen: new Set() }),
  option,
  finish,
  validate,
  render,
  encode,
  decode,
};

