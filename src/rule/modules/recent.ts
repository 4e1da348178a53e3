// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `-m recent`: `struct xt_recent_mtinfo_v1` (linux/netfilter/xt_recent.h), revision 1, as
 * iptables 1.8.9's libxt_recent writes it (recent_init_v1, recent_parse) and saves it
 * (recent_save). 228 bytes, XT_ALIGNed to 232; the same blob on legacy and in iptables-nft's
 * compat `match` expression (NETFILTER-NOTES §10). No translation to native nftables exists.
 *
 * Layout (host byte order): seconds 0, hit_count 4, check_set 8, invert 9, name 10 (200 bytes,
 * NUL-terminated), side 210, mask 212 (`union nf_inet_addr`, 16 bytes).
 *
 * The mask is two different byte patterns for IPv4: without `--mask` the CLI fills all 16 bytes
 * with 0xFF (recent_init), with `--mask A.B.C.D` it writes the 4 bytes and zeros the other 12
 * (xtopt_parse_host). Both save as `--mask 255.255.255.255`; the part keeps them apart (`mask`
 * absent vs given) so that each writes the bytes the CLI writes for the same words.
 *
 * Refused here rather than by the kernel (recent_mt_check): `--seconds`, `--hitcount`, `--reap`
 * or `--rttl` with `--set`/`--remove`, and `--hitcount` over 255 (XT_RECENT_MAX_NSTAMPS − 1).
 */
import { quote } from '../../echo';
import type { Family, Negatable } from '../types';
import { formatIp, parseIpv4, parseIpv6 } from '../address';
import { addressBytes } from '../names';
import { numberHint, parseDecimal } from '../numbers';
import type { CompatModule, ModuleOption, ParseContext, SpecChecker } from './module';
import { get32, has, neg, own, procNameProblem, put32, unwrap } from './values';

export type RecentCommand = 'set' | 'rcheck' | 'update' | 'remove';

/**
 * `-m recent`. `name` defaults to `DEFAULT`, `side` to `'source'`; `mask` absent is the CLI's
 * default all-ones mask. `seconds`, `hitCount`, `reap` and `ttl` go with rcheck and update only.
 *
 * @example { kind: 'recent', command: 'set', name: 'SSH' }
 * @example { kind: 'recent', command: 'update', seconds: 60, hitCount: 4, name: 'SSH' }
 */
export interface RecentMatch {
  kind: 'recent';
  /** `--set`, `--rcheck`, `--update` or `--remove`; `{ not: ... }` for `! --update`. */
  command: Negatable<RecentCommand>;
  /** `--seconds`: only entries seen within the last N seconds (1-4294967295). */
  seconds?: number;
  /** `--reap`: purge entries older than `seconds` (needs `seconds`). */
  reap?: true;
  /** `--hitcount`: only entries seen at least N times (1-255). */
  hitCount?: number;
  /** `--rttl`: the packet's TTL must equal the one recorded. */
  ttl?: true;
  /** `--name`: the list (DEFAULT when absent). */
  name?: string;
  /** `--mask`: the netmask applied to addresses of this list, as an address. */
  mask?: string;
  /** `--rsource` (default) or `--rdest`. */
  side?: 'source' | 'dest';
}

declare module '../types' {
  interface ModuleParts {
    recent: RecentMatch;
  }
}

const INFO_SIZE = 232;
const OFF_CHECK_SET = 8;
const OFF_INVERT = 9;
const OFF_NAME = 10;
const NAME_SIZE = 200;
const OFF_SIDE = 210;
const OFF_MASK = 212;
const DEFAULT_NAME = 'DEFAULT';
/** XT_RECENT_MAX_NSTAMPS − 1: the largest hit count the kernel takes. */
const MAX_HITCOUNT = 255;

const COMMAND_BITS: readonly (readonly [RecentCommand, number])[] = [
  ['rcheck', 1 << 0], ['set', 1 << 1], ['update', 1 << 2], ['remove', 1 << 3],
];
const TTL = 1 << 4;
const REAP = 1 << 5;

/** recent_save's order of the commands. */
const SAVE_ORDER: readonly RecentCommand[] = ['set', 'rcheck', 'update', 'remove'];

const OPTIONS: readonly ModuleOption[] = [
  ...SAVE_ORDER.map((c) => ({ name: `--${c}`, args: 0 as const, invertible: true })),
  { name: '--seconds', args: 1, invertible: false },
  { name: '--reap', args: 0, invertible: false },
  { name: '--hitcount', args: 1, invertible: false },
  { name: '--rttl', args: 0, invertible: false },
  { name: '--name', args: 1, invertible: false },
  { name: '--mask', args: 1, invertible: false },
  { name: '--rsource', args: 0, invertible: false },
  { name: '--rdest', args: 0, invertible: false },
];

function parseIp(text: string, family: Family): Buffer | null {
  return family === 'ipv6' ? parseIpv6(text) : parseIpv4(text);
}

/** The mask as the part keeps it: absent when it is the all-ones default bytes (IPv6 all-ones given). */
function maskSpelling(text: string, family: Family): string | undefined | { error: string } {
  const ip = parseIp(text, family);
  if (!ip) return { error: `${quote(text)} is not an ${family === 'ipv6' ? 'IPv6' : 'IPv4'} netmask (numeric)` };
  if (family === 'ipv6' && ip.every((b) => b === 0xff)) return undefined;
  return formatIp(ip);
}

/** What recent_mt_check and the CLI's option table refuse, as one message, or undefined. */
function comboProblem(p: RecentMatch): string | undefined {
  const cmd = unwrap(p.command).value;
  if (cmd === 'set' || cmd === 'remove') {
    const extra = [p.seconds !== undefined && '--seconds', p.hitCount !== undefined && '--hitcount', p.reap && '--reap', p.ttl && '--rttl'].filter(Boolean);
    if (extra.length) return `${extra.join(', ')}: only with --rcheck or --update, not with --${cmd} (the kernel refuses it)`;
  }
  if (p.reap && p.seconds === undefined) return '--reap needs --seconds';
  return undefined;
}

interface Draft {
  part: Partial<RecentMatch> & { kind: 'recent' };
  seen: Set<string>;
}

function option(d: Draft, opt: string, values: readonly string[], invert: boolean, ctx: ParseContext): void {
  const p = d.part;
  const cmd = SAVE_ORDER.find((c) => `--${c}` === opt);
  if (cmd) {
    if (p.command !== undefined) ctx.fail(`give one of --set, --rcheck, --update or --remove, once`);
    p.command = neg(cmd, invert);
    return;
  }
  if (opt === '--rsource' || opt === '--rdest') {
    if (d.seen.has('side')) ctx.fail('give one of --rsource or --rdest, once');
    d.seen.add('side');
    if (opt === '--rdest') p.side = 'dest';
    return;
  }
  if (d.seen.has(opt)) ctx.fail(`${opt} given twice`);
  d.seen.add(opt);
  const v = values[0]!;
  switch (opt) {
    case '--seconds': {
      const n = parseDecimal(v, 0xffffffff);
      if (n === null || n === 0) ctx.fail(`--seconds takes 1-4294967295, not ${quote(v)}${numberHint(v)}`, 0);
      p.seconds = n;
      return;
    }
    case '--hitcount': {
      const n = parseDecimal(v, 0xffffffff);
      if (n === null || n > MAX_HITCOUNT) ctx.fail(`--hitcount takes 0-${MAX_HITCOUNT} (the kernel's limit), not ${quote(v)}${numberHint(v)}`, 0);
      if (n > 0) p.hitCount = n;
      return;
    }
    case '--reap':
      p.reap = true;
      return;
    case '--rttl':
      p.ttl = true;
      return;
    case '--name': {
      const problem = procNameProblem(v, NAME_SIZE);
      if (problem) ctx.fail(`bad --name: ${problem}`, 0);
      if (v !== DEFAULT_NAME) p.name = v;
      return;
    }
    case '--mask': {
      const m = maskSpelling(v, ctx.family);
      if (typeof m === 'object') ctx.fail(m.error, 0);
      if (m !== undefined) p.mask = m;
      return;
    }
  }
}

function finish(d: Draft, ctx: ParseContext): RecentMatch {
  if (d.part.command === undefined) ctx.fail('-m recent needs one of --set, --rcheck, --update or --remove');
  const part = ordered(d.part as RecentMatch);
  const problem = comboProblem(part);
  if (problem) ctx.fail(problem);
  return part;
}

/** The part with its keys in one order, whatever order the options came in. */
function ordered(p: RecentMatch): RecentMatch {
  const out: RecentMatch = { kind: 'recent', command: p.command };
  if (p.seconds !== undefined) out.seconds = p.seconds;
  if (p.reap) out.reap = true;
  if (p.hitCount !== undefined) out.hitCount = p.hitCount;
  if (p.ttl) out.ttl = true;
  if (p.name !== undefined) out.name = p.name;
  if (p.mask !== undefined) out.mask = p.mask;
  if (p.side !== undefined) out.side = p.side;
  return out;
}

const KEYS = new Set(['kind', 'command', 'seconds', 'reap', 'hitCount', 'ttl', 'name', 'mask', 'side']);

function validate(o: Record<string, unknown>, path: string, c: SpecChecker): RecentMatch | undefined {
  c.keys(o, KEYS, path);
  let ok = true;
  const part: Partial<RecentMatch> & { kind: 'recent' } = { kind: 'recent' };
  const n = c.negatable(own(o, 'command'), `${path}.command`);
  if (typeof n.value === 'string' && (SAVE_ORDER as readonly string[]).includes(n.value)) part.command = neg(n.value as RecentCommand, n.invert);
  else {
    c.add(n.path, `expected one of ${SAVE_ORDER.map((x) => `'${x}'`).join(', ')}`);
    ok = false;
  }
  if (has(o, 'seconds')) {
    const s = c.int(own(o, 'seconds'), `${path}.seconds`, 1, 0xffffffff, 'a number of seconds');
    if (s === undefined) ok = false;
    else part.seconds = s;
  }
  if (has(o, 'hitCount')) {
    const h = c.int(own(o, 'hitCount'), `${path}.hitCount`, 1, MAX_HITCOUNT, 'a hit count');
    if (h === undefined) ok = false;
    else part.hitCount = h;
  }
  for (const key of ['reap', 'ttl'] as const) {
    if (!has(o, key)) continue;
    if (own(o, key) !== true) {
      c.add(`${path}.${key}`, 'expected true (or leave it out)');
      ok = false;
    } else part[key] = true;
  }
  if (has(o, 'name')) {
    const s = c.string(own(o, 'name'), `${path}.name`, 'a list name');
    const problem = s === undefined ? 'x' : procNameProblem(s, NAME_SIZE);
    if (s !== undefined && problem) c.add(`${path}.name`, problem);
    if (problem) ok = false;
    else if (s !== DEFAULT_NAME) part.name = s;
  }
  if (has(o, 'mask')) {
    const s = c.string(own(o, 'mask'), `${path}.mask`, 'a netmask');
    const m = s === undefined ? { error: '' } : maskSpelling(s, c.family);
    if (typeof m === 'object') {
      if (m.error) c.add(`${path}.mask`, m.error);
      ok = false;
    } else if (m !== undefined) part.mask = m;
  }
  if (has(o, 'side')) {
    const s = own(o, 'side');
    if (s !== 'source' && s !== 'dest') {
      c.add(`${path}.side`, `expected 'source' or 'dest'`);
      ok = false;
    } else if (s === 'dest') part.side = 'dest';
  }
  if (!ok) return undefined;
  const result = ordered(part as RecentMatch);
  const problem = comboProblem(result);
  if (problem) return c.add(path, problem);
  return result;
}

function encode(part: RecentMatch, family: Family): Buffer {
  const b = Buffer.alloc(INFO_SIZE);
  const { value: cmd, invert } = unwrap(part.command);
  put32(b, 0, part.seconds ?? 0);
  put32(b, 4, part.hitCount ?? 0);
  b[OFF_CHECK_SET] = COMMAND_BITS.find(([c]) => c === cmd)![1] | (part.ttl ? TTL : 0) | (part.reap ? REAP : 0);
  b[OFF_INVERT] = invert ? 1 : 0;
  // As the CLI: recent_init writes DEFAULT, then --name is copied over it with one NUL after it
  // (xtopt_parse_string), so `foo` leaves `foo\0ULT`; the kernel compares (and -D matches) all of it.
  b.write(DEFAULT_NAME, OFF_NAME, 'latin1');
  const name = part.name ?? DEFAULT_NAME;
  b.write(name, OFF_NAME, 'latin1');
  b[OFF_NAME + name.length] = 0;
  b[OFF_SIDE] = part.side === 'dest' ? 1 : 0;
  if (part.mask === undefined) b.fill(0xff, OFF_MASK, OFF_MASK + 16);
  else parseIp(part.mask, family)!.copy(b, OFF_MASK);
  return b;
}

function decode(d: Buffer, family: Family): RecentMatch | null {
  if (d.length !== INFO_SIZE) return null;
  const set = d[OFF_CHECK_SET]!;
  const cmd = COMMAND_BITS.filter(([, bit]) => set & bit);
  if (cmd.length !== 1 || set & ~0x3f || d[OFF_INVERT]! > 1 || d[OFF_SIDE]! > 1) return null;
  const nameEnd = d.indexOf(0, OFF_NAME);
  if (nameEnd < 0 || nameEnd >= OFF_SIDE) return null;
  const name = d.toString('latin1', OFF_NAME, nameEnd);
  if (procNameProblem(name, NAME_SIZE)) return null;
  const part: RecentMatch = { kind: 'recent', command: neg(cmd[0]![0], d[OFF_INVERT] === 1) };
  const seconds = get32(d, 0);
  const hits = get32(d, 4);
  if (seconds) part.seconds = seconds;
  if (set & REAP) part.reap = true;
  if (hits) part.hitCount = hits;
  if (set & TTL) part.ttl = true;
  if (name !== DEFAULT_NAME) part.name = name;
  const mask = d.subarray(OFF_MASK, OFF_MASK + 16);
  if (!mask.every((x) => x === 0xff)) part.mask = formatIp(mask.subarray(0, addressBytes(family)));
  if (d[OFF_SIDE] === 1) part.side = 'dest';
  return comboProblem(part) ? null : part;
}

/** recent_save: command, seconds, reap, hitcount, rttl, name, mask (always), side (always). */
function render(part: RecentMatch, family: Family): string[] {
  const { value: cmd, invert } = unwrap(part.command);
  const out = ['-m', 'recent', ...(invert ? ['!'] : []), `--${cmd}`];
  if (part.seconds !== undefined) out.push('--seconds', String(part.seconds));
  if (part.reap) out.push('--reap');
  if (part.hitCount !== undefined) out.push('--hitcount', String(part.hitCount));
  if (part.ttl) out.push('--rttl');
  out.push('--name', part.name ?? DEFAULT_NAME);
  out.push('--mask', part.mask ?? (family === 'ipv6' ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255'));
  out.push(part.side === 'dest' ? '--rdest' : '--rsource');
  return out;
}

export const recent: CompatModule<RecentMatch, Draft> = {
  name: 'recent',
  type: 'match',
  xtName: 'recent',
  revision: 1,
  families: ['ipv4', 'ipv6'],
  options: OPTIONS,
  repeatable: true,
  start: () => ({ part: { kind: 'recent' }, seen: new Set() }),
  option,
  finish,
  validate,
  render,
  encode,
  decode,
};
