// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m multiport --dports 80,443,8000:8080`: `struct xt_multiport_v1`
 * (linux/netfilter/xt_multiport.h), revision 1, as iptables 1.8.9's libxt_multiport writes it
 * (parse_multi_ports_v1) and saves it (__multiport_save_v1). 48 bytes, the same blob on legacy
 * and in iptables-nft's compat `match` expression (NETFILTER-NOTES §10).
 *
 * Layout (host byte order): flags 0 (enum xt_multiport_flags: 0 source, 1 destination, 2 either), count 1, ports[15] 2,
 * pflags[15] 32, invert 47. A range takes two slots: its start with pflags 1, then its end; so
 * the 15 slots hold 15 ports, or fewer with ranges. The kernel keeps the order given and so does
 * the part (iptables-save prints it back in that order).
 *
 * Stricter than the CLI: decimal port numbers only (the CLI also takes /etc/services names).
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ModuleOption, ParseContext, SpecChecker } from './module';
import { type RangeSpec, checkRange, get16, has, isObject, neg, own, put16, rangeBounds, unwrap } from './values';

declare module '../types' {
  interface ModuleParts {
    multiport: MultiportMatch;
  }
}

/**
 * `-m multiport`: exactly one of `sports`, `dports`, `ports` (either direction), each a list of
 * ports and `{ from, to }` ranges (from < to) taking 15 slots at most, a range two.
 *
 * @example { kind: 'multiport', dports: [80, 443] }
 * @example { kind: 'multiport', sports: { not: [53, { from: 1024, to: 65535 }] } }
 */
export interface MultiportMatch {
  kind: 'multiport';
  sports?: Negatable<RangeSpec[]>;
  dports?: Negatable<RangeSpec[]>;
  ports?: Negatable<RangeSpec[]>;
}

/** XT_MULTI_PORTS: the slots of the kernel struct. */
export const MULTIPORT_SLOTS = 15;
const INFO_SIZE = 48;
const OFF_PORTS = 2;
const OFF_PFLAGS = 32;
const OFF_INVERT = 47;

type Direction = 'sports' | 'dports' | 'ports';
/** Typed key, option, the struct's flags value (XT_MULTIPORT_SOURCE, _DESTINATION, _EITHER: an enum, not bits). */
const DIRECTIONS: readonly (readonly [Direction, string, number])[] = [
  ['sports', '--sports', 0],
  ['dports', '--dports', 1],
  ['ports', '--ports', 2],
];
/** iptables' long spellings of the first two, which save as the short ones. */
const ALIASES: Readonly<Record<string, Direction>> = { '--source-ports': 'sports', '--destination-ports': 'dports' };

/** check_proto: tcp, udp, udplite, sctp, dccp. */
const PROTOCOLS = [6, 17, 136, 132, 33];

function slots(list: readonly RangeSpec[]): number {
  return list.reduce<number>((n, r) => n + (typeof r === 'number' ? 1 : 2), 0);
}

/** `80,443,8000:8080` as parse_multi_ports_v1 takes it, or why not. */
function parseList(text: string): RangeSpec[] | string {
  const list: RangeSpec[] = [];
  for (const item of text.split(',')) {
    if (item === '') return `an empty item in the port list ${quote(text)} (the list is one word: no spaces after the commas)`;
    const ends = item.split(':');
    if (ends.length > 2) return `${quote(item)} is not a port or a range FROM:TO`;
    const nums: number[] = [];
    for (const p of ends) {
      const v = parseDecimal(p, 65535);
      if (v !== null) {
        nums.push(v);
        continue;
      }
      if (p === '') return `${quote(item)} has an empty port: give FROM:TO with both ends`;
      if (/^[A-Za-z]/.test(p)) return `${quote(p)} is a service name: give the port number (service names depend on the host's /etc/services)`;
      return `${quote(p)} is not a port 0-65535${numberHint(p)}`;
    }
    const [from, to] = nums as [number, number?];
    if (to === undefined) list.push(from);
    else if (from >= to) return `range ${quote(item)} must go up (FROM < TO), as the CLI requires`;
    else list.push({ from, to });
  }
  if (slots(list) > MULTIPORT_SLOTS) return tooMany(list);
  return list;
}

function tooMany(list: readonly RangeSpec[]): string {
  return `${slots(list)} port slots: the kernel takes ${MULTIPORT_SLOTS} (a port takes one, a range two); split the rule`;
}

const OPTIONS: readonly ModuleOption[] = [
  ...DIRECTIONS.map(([, name]) => ({ name, args: 1 as const, invertible: true })),
  ...Object.keys(ALIASES).map((name) => ({ name, args: 1 as const, invertible: true })),
];

interface Draft {
  part: MultiportMatch | null;
}

function option(d: Draft, opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  // The options exclude each other (.excl = F_ANY): one list per match.
  if (d.part) ctx.fail('-m multiport takes one of --sports, --dports or --ports, once');
  const key = ALIASES[opt] ?? DIRECTIONS.find(([, name]) => name === opt)![0];
  const list = parseList(values[0]!);
  if (typeof list === 'string') ctx.fail(list, 0);
  d.part = { kind: 'multiport', [key]: neg(list, invert) };
}

const KEYS = new Set(['kind', ...DIRECTIONS.map(([k]) => k)]);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): MultiportMatch | undefined {
  c.keys(o, KEYS, path);
  const given = DIRECTIONS.filter(([k]) => has(o, k));
  if (given.length !== 1) return c.add(path, 'a multiport match takes exactly one of sports, dports or ports');
  const key = given[0]![0];
  const n = c.negatable(own(o, key), `${path}.${key}`);
  if (!Array.isArray(n.value) || n.value.length === 0) return c.add(n.path, 'expected a non-empty array of ports and { from, to } ranges');
  let ok = true;
  const list: RangeSpec[] = [];
  n.value.forEach((v: unknown, i) => {
    const at = `${n.path}[${i}]`;
    const r = checkRange(c, v, at, 65535, 'port');
    if (r === undefined) ok = false;
    else if (isObject(v) && typeof r === 'number') {
      // { from: 80, to: 80 }: the struct has no one-port range (the CLI refuses 80:80).
      ok = false;
      c.add(at, 'a range must go up (from < to); give a single port as a number');
    } else list.push(r);
  });
  if (!ok) return undefined;
  if (slots(list) > MULTIPORT_SLOTS) return c.add(n.path, tooMany(list));
  return { kind: 'multiport', [key]: neg(list, n.invert) };
}

/** The one direction a part has, its list and whether it is negated. */
export function multiportPorts(part: MultiportMatch): { direction: Direction; list: RangeSpec[]; invert: boolean } {
  const [direction] = DIRECTIONS.find(([k]) => part[k] !== undefined)!;
  const { value, invert } = unwrap(part[direction]!);
  return { direction, list: value, invert };
}

function encode(part: MultiportMatch): Buffer {
  const b = Buffer.alloc(INFO_SIZE);
  const { direction, list, invert } = multiportPorts(part);
  b[0] = DIRECTIONS.find(([k]) => k === direction)![2];
  let i = 0;
  for (const r of list) {
    const [from, to] = rangeBounds(r);
    put16(b, OFF_PORTS + 2 * i, from);
    if (typeof r !== 'number') {
      b[OFF_PFLAGS + i] = 1;
      i++;
      put16(b, OFF_PORTS + 2 * i, to);
    }
    i++;
  }
  b[1] = i;
  b[OFF_INVERT] = invert ? 1 : 0;
  return b;
}

function decode(d: Buffer): MultiportMatch | null {
  if (d.length !== INFO_SIZE) return null;
  const dir = DIRECTIONS.find(([, , flags]) => flags === d[0]);
  const count = d[1]!;
  if (!dir || count === 0 || count > MULTIPORT_SLOTS || d[OFF_INVERT]! > 1) return null;
  const list: RangeSpec[] = [];
  for (let i = 0; i < count; i++) {
    const from = get16(d, OFF_PORTS + 2 * i);
    if (d[OFF_PFLAGS + i] === 0) {
      list.push(from);
      continue;
    }
    // A range: its end is the next slot. Anything the CLI would not write stays opaque (the
    // registry's re-encoding check catches stray bytes after `count`).
    if (d[OFF_PFLAGS + i] !== 1 || i + 1 >= count) return null;
    const to = get16(d, OFF_PORTS + 2 * ++i);
    if (from >= to) return null;
    list.push({ from, to });
  }
  return { kind: 'multiport', [dir[0]]: neg(list, d[OFF_INVERT] === 1) };
}

function render(part: MultiportMatch): string[] {
  const { direction, list, invert } = multiportPorts(part);
  const words = list.map((r) => (typeof r === 'number' ? String(r) : `${r.from}:${r.to}`));
  return ['-m', 'multiport', ...(invert ? ['!'] : []), `--${direction}`, words.join(',')];
}

export const multiport: CompatModule<MultiportMatch, Draft> = {
  name: 'multiport',
  type: 'match',
  xtName: 'multiport',
  revision: 1,
  families: ['ipv4', 'ipv6'],
  options: OPTIONS,
  protocols: PROTOCOLS,
  start: () => ({ part: null }),
  option,
  finish(d, ctx) {
    // multiport_check: "multiport expection an option".
    if (!d.part) return ctx.fail('-m multiport needs --sports, --dports or --ports');
    return d.part;
  },
  validate,
  render,
  encode,
  decode: (d: Buffer, _family: Family) => decode(d),
  // native/core/nft/native/nftables_multiport.h: a list is an anonymous set, one entry a comparison.
  nftables: (part) =>
    part.ports !== undefined
      ? '--ports has no translation that means it: nf_tables has no lookup of either port, and the concatenation iptables-translate 1.8.9 writes drops ! and splits ranges; give --sports and --dports rules'
      : null,
};
