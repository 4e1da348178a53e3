// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-j SET`: `struct xt_set_info_target_v3` (linux/netfilter/xt_set.h), revision 3 for IPv4 and
 * IPv6, as iptables 1.8.9's libxt_SET writes it (set_target_parse_v3, set_target_check_v3) and
 * saves it (set_target_save_v3: add-set, exist, timeout, del-set, map-set, map-mark, map-prio,
 * map-queue). 20 bytes, XT_ALIGNed to 24; the same blob on legacy and in iptables-nft's compat
 * `target` expression. iptables-translate 1.8.9 has no translation (libxt_SET has no xlate).
 *
 * Layout (host byte order): add_set 0, del_set 4, map_set 8, each { index u16, dim u8, flags u8
 * (bit i: dimension i is src) }; flags u32 12 (IPSET_FLAG_EXIST 1<<0, MAP_SKBMARK 1<<8,
 * MAP_SKBPRIO 1<<9, MAP_SKBQUEUE 1<<10); timeout u32 16 (UINT32_MAX: the set's default).
 * A set not named keeps IPSET_INVALID_ID and dim 0. The indexes are the namespace's: the
 * firewall writes them at commit from the names (setNames: '' where no set is named) and names
 * a listing's back (src/rule/set-refs.ts), as for `-m set`.
 *
 * The kernel takes --map-set only in the mangle table, and --map-prio and --map-queue only in
 * FORWARD, OUTPUT and POSTROUTING.
 * Stricter than the CLI: `src`/`dst` exactly, the timeout decimal, and each flag once.
 */
import { quote } from '../../echo';
import type { Family } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ParseContext, SpecChecker } from './module';
import { MAX_DIMS, type SetDirection, parseSetDirs, setNameProblem } from './set';
import { get16, get32, has, isObject, own, put16, put32 } from './values';

declare module '../types' {
  interface ModuleTargetParts {
    set: SetTarget;
  }
}

/** A set and the packet's address (or port) each of its dimensions is taken from. */
export interface SetTargetRef {
  set: string;
  dirs: SetDirection[];
}

/**
 * `-j SET`: add the packet's address (or port) to an ipset set, delete it from one, or set the
 * packet's mark, priority or queue from the entry it matches in one (`--map-set`). At least one
 * of `add`, `del`, `map`; every set named must exist in the firewall's namespace when the rule
 * is written.
 *
 * @example { kind: 'set', add: { set: 'banned', dirs: ['src'] } }
 * @example { kind: 'set', add: { set: 'seen', dirs: ['src', 'dst'], exist: true, timeout: 600 } }
 * @example { kind: 'set', map: { set: 'qos', dirs: ['dst'], mark: true, prio: true } }
 */
export interface SetTarget {
  kind: 'set';
  /** `--add-set`; `exist` (`--exist`): refresh the timeout of an entry already there; `timeout` (`--timeout`, seconds, 0 = never expires). */
  add?: SetTargetRef & { exist?: true; timeout?: number };
  /** `--del-set`. */
  del?: SetTargetRef;
  /** `--map-set` with at least one of `--map-mark`, `--map-prio`, `--map-queue` (skbinfo of the matching entry). */
  map?: SetTargetRef & { mark?: true; prio?: true; queue?: true };
}

const SIZE = 24;
const OFF_ADD = 0;
const OFF_DEL = 4;
const OFF_MAP = 8;
const OFF_FLAGS = 12;
const OFF_TIMEOUT = 16;
const NO_INDEX = 0xffff;
const NO_TIMEOUT = 0xffffffff;
const MAX_TIMEOUT = NO_TIMEOUT - 1;
const EXIST = 1 << 0;
const MAP_MARK = 1 << 8;
const MAP_PRIO = 1 << 9;
const MAP_QUEUE = 1 << 10;
const MAP_FLAGS = { mark: MAP_MARK, prio: MAP_PRIO, queue: MAP_QUEUE } as const;
const MAP_KEYS = ['mark', 'prio', 'queue'] as const;
const PRIO_OR_QUEUE_CHAINS = ['FORWARD', 'OUTPUT', 'POSTROUTING'];

const SET_OPTIONS = { '--add-set': 'add', '--del-set': 'del', '--map-set': 'map' } as const;

/** The part with its keys in one order, whatever order the options came in. */
function ordered(p: SetTarget): SetTarget {
  const out: SetTarget = { kind: 'set' };
  if (p.add) {
    out.add = { set: p.add.set, dirs: [...p.add.dirs] };
    if (p.add.exist) out.add.exist = true;
    if (p.add.timeout !== undefined) out.add.timeout = p.add.timeout;
  }
  if (p.del) out.del = { set: p.del.set, dirs: [...p.del.dirs] };
  if (p.map) {
    out.map = { set: p.map.set, dirs: [...p.map.dirs] };
    for (const k of MAP_KEYS) if (p.map[k]) out.map[k] = true;
  }
  return out;
}

interface Draft {
  refs: Partial<Record<'add' | 'del' | 'map', SetTargetRef>>;
  exist: boolean;
  timeout?: number;
  map: Set<(typeof MAP_KEYS)[number]>;
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], _invert: boolean, ctx: ParseContext): void {
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  if (opt in SET_OPTIONS) {
    const problem = setNameProblem(values[0]!);
    if (problem) ctx.fail(problem, 0);
    const dirs = parseSetDirs(values[1]!);
    if (typeof dirs === 'string') ctx.fail(dirs, 1);
    d.refs[SET_OPTIONS[opt as keyof typeof SET_OPTIONS]] = { set: values[0]!, dirs };
  } else if (opt === '--exist') d.exist = true;
  else if (opt === '--timeout') {
    const v = parseDecimal(values[0]!, MAX_TIMEOUT);
    if (v === null) ctx.fail(`--timeout takes seconds 0-${MAX_TIMEOUT}, not ${quote(values[0]!)}${numberHint(values[0]!)}`, 0);
    d.timeout = v;
  } else d.map.add(opt.slice('--map-'.length) as (typeof MAP_KEYS)[number]);
}

function finish(d: Draft, ctx: ParseContext): SetTarget {
  const { add, del, map } = d.refs;
  if (!add && !del && !map) ctx.fail('-j SET needs --add-set, --del-set or --map-set NAME src|dst[,src|dst...]');
  if (!add && (d.exist || d.timeout !== undefined)) ctx.fail('--exist and --timeout go with --add-set only');
  if (!map && d.map.size > 0) ctx.fail('--map-mark, --map-prio and --map-queue go with --map-set only');
  if (map && d.map.size === 0) ctx.fail('--map-set needs --map-mark, --map-prio or --map-queue');
  const p: SetTarget = { kind: 'set' };
  if (add) p.add = { ...add, ...(d.exist ? { exist: true as const } : {}), ...(d.timeout !== undefined ? { timeout: d.timeout } : {}) };
  if (del) p.del = del;
  if (map) p.map = { ...map, ...Object.fromEntries([...d.map].map((k) => [k, true])) };
  return ordered(p);
}

const KEYS = new Set(['kind', 'add', 'del', 'map']);
const REF_KEYS = { add: new Set(['set', 'dirs', 'exist', 'timeout']), del: new Set(['set', 'dirs']), map: new Set(['set', 'dirs', ...MAP_KEYS]) };

function checkTrue(o: Record<string, unknown>, key: string, path: string, c: SpecChecker): boolean | undefined {
  if (!has(o, key)) return false;
  if (own(o, key) === true) return true;
  c.add(`${path}.${key}`, 'expected true (leave it out for false)');
  return undefined;
}

function validateRef(o: unknown, which: 'add' | 'del' | 'map', path: string, c: SpecChecker): SetTarget[typeof which] | undefined {
  if (!isObject(o)) return c.add(path, 'expected { set, dirs }');
  c.keys(o, REF_KEYS[which], path);
  let ok = true;
  const name = c.string(own(o, 'set'), `${path}.set`, 'a set name');
  const problem = name === undefined ? 'x' : setNameProblem(name);
  if (name !== undefined && problem) c.add(`${path}.set`, problem);
  if (problem) ok = false;
  const dirs = own(o, 'dirs');
  if (!Array.isArray(dirs) || dirs.length < 1 || dirs.length > MAX_DIMS || dirs.some((x) => x !== 'src' && x !== 'dst')) {
    c.add(`${path}.dirs`, `expected an array of 1-${MAX_DIMS} of 'src' or 'dst'`);
    ok = false;
  }
  const ref: Record<string, unknown> = { set: name, dirs: ok ? [...(dirs as SetDirection[])] : [] };
  if (which === 'add') {
    const exist = checkTrue(o, 'exist', path, c);
    if (exist === undefined) ok = false;
    else if (exist) ref.exist = true;
    if (has(o, 'timeout')) {
      const t = c.int(own(o, 'timeout'), `${path}.timeout`, 0, MAX_TIMEOUT, 'seconds');
      if (t === undefined) ok = false;
      else ref.timeout = t;
    }
  }
  if (which === 'map') {
    let any = false;
    for (const k of MAP_KEYS) {
      const v = checkTrue(o, k, path, c);
      if (v === undefined) ok = false;
      else if (v) (ref[k] = true), (any = true);
    }
    if (ok && !any) ok = !!c.add(path, 'map needs at least one of mark, prio, queue: true');
  }
  return ok ? (ref as unknown as SetTarget[typeof which]) : undefined;
}

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): SetTarget | undefined {
  c.keys(o, KEYS, path);
  if (!has(o, 'add') && !has(o, 'del') && !has(o, 'map')) return c.add(path, 'expected at least one of add, del, map');
  let ok = true;
  const parts: Record<string, unknown> = { kind: 'set' };
  for (const which of ['add', 'del', 'map'] as const) {
    if (!has(o, which)) continue;
    const ref = validateRef(own(o, which), which, `${path}.${which}`, c);
    if (ref === undefined) ok = false;
    else parts[which] = ref;
  }
  return ok ? ordered(parts as unknown as SetTarget) : undefined;
}

function putRef(b: Buffer, off: number, ref: SetTargetRef | undefined): void {
  put16(b, off, NO_INDEX);
  if (!ref) return;
  b[off + 2] = ref.dirs.length;
  b[off + 3] = ref.dirs.reduce((f, d, i) => (d === 'src' ? f | (1 << (i + 1)) : f), 0);
}

function encode(p: SetTarget): Buffer {
  const b = Buffer.alloc(SIZE);
  putRef(b, OFF_ADD, p.add);
  putRef(b, OFF_DEL, p.del);
  putRef(b, OFF_MAP, p.map);
  let flags = p.add?.exist ? EXIST : 0;
  for (const k of MAP_KEYS) if (p.map?.[k]) flags |= MAP_FLAGS[k];
  put32(b, OFF_FLAGS, flags);
  put32(b, OFF_TIMEOUT, p.add?.timeout ?? NO_TIMEOUT);
  return b;
}

/**
 * The ref at `off` named `name`: undefined when the blob names no set there, null when it can't
 * be modelled. The name, not the index, says whether a set is named: a parsed rule holds
 * IPSET_INVALID_ID until the firewall writes the index, a listed one the kernel's index ('' where
 * the blob holds none).
 */
function readRef(d: Buffer, off: number, name: string | undefined): SetTargetRef | undefined | null {
  const dim = d[off + 2]!;
  const flags = d[off + 3]!;
  if (!name) return name === '' && get16(d, off) === NO_INDEX && dim === 0 && flags === 0 ? undefined : null;
  if (setNameProblem(name) || dim < 1 || dim > MAX_DIMS || flags & 1 || flags >> (dim + 1) !== 0) return null;
  const dirs: SetDirection[] = [];
  for (let i = 1; i <= dim; i++) dirs.push(flags & (1 << i) ? 'src' : 'dst');
  return { set: name, dirs };
}

function decode(d: Buffer, _family: Family, sets?: readonly string[]): SetTarget | null {
  if (d.length !== SIZE || !sets || sets.length !== 3) return null;
  const add = readRef(d, OFF_ADD, sets[0]);
  const del = readRef(d, OFF_DEL, sets[1]);
  const map = readRef(d, OFF_MAP, sets[2]);
  if (add === null || del === null || map === null || (!add && !del && !map)) return null;
  const flags = get32(d, OFF_FLAGS);
  const timeout = get32(d, OFF_TIMEOUT);
  if (flags & ~(EXIST | MAP_MARK | MAP_PRIO | MAP_QUEUE)) return null;
  const p: SetTarget = { kind: 'set' };
  if (add) p.add = { ...add, ...(flags & EXIST ? { exist: true as const } : {}), ...(timeout !== NO_TIMEOUT ? { timeout } : {}) };
  if (del) p.del = del;
  if (map) p.map = { ...map, ...Object.fromEntries(MAP_KEYS.filter((k) => flags & MAP_FLAGS[k]).map((k) => [k, true])) };
  // What encode would not write back (exist without add, ...) stays opaque: decodeExtension compares.
  return ordered(p);
}

function render(p: SetTarget): string[] {
  const out = ['-j', 'SET'];
  const ref = (opt: string, r: SetTargetRef | undefined): void => {
    if (r) out.push(opt, r.set, r.dirs.join(','));
  };
  ref('--add-set', p.add);
  if (p.add?.exist) out.push('--exist');
  if (p.add?.timeout !== undefined) out.push('--timeout', String(p.add.timeout));
  ref('--del-set', p.del);
  ref('--map-set', p.map);
  for (const k of MAP_KEYS) if (p.map?.[k]) out.push(`--map-${k}`);
  return out;
}

export const setTarget: CompatModule<SetTarget, Draft> = {
  name: 'SET',
  kind: 'set',
  type: 'target',
  xtName: 'SET',
  revision: 3,
  families: ['ipv4', 'ipv6'],
  options: [
    { name: '--add-set', args: 2, invertible: false },
    { name: '--del-set', args: 2, invertible: false },
    { name: '--map-set', args: 2, invertible: false },
    { name: '--exist', args: 0, invertible: false },
    { name: '--timeout', args: 1, invertible: false },
    ...MAP_KEYS.map((k) => ({ name: `--map-${k}`, args: 0 as const, invertible: false })),
  ],
  chainsFor: (data) => (data.length >= OFF_FLAGS + 4 && get32(data, OFF_FLAGS) & (MAP_PRIO | MAP_QUEUE) ? PRIO_OR_QUEUE_CHAINS : undefined),
  tablesFor: (data) => (data.length >= OFF_MAP + 4 && data[OFF_MAP + 2] !== 0 ? ['mangle'] : undefined),
  setIndexOffsets: [OFF_ADD, OFF_DEL, OFF_MAP],
  setNames: (p) => [p.add?.set ?? '', p.del?.set ?? '', p.map?.set ?? ''],
  start: () => ({ refs: {}, exist: false, map: new Set(), seen: new Set() }),
  option,
  finish,
  validate,
  render,
  encode,
  decode,
};
