// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A normalized rule turned back into the typed spelling, for listings.
 *
 * The promise: `normalizeRule(toRuleSpec(r, f), f)` gives back `r` (bytes and match order
 * included) for every rule the typed form can express. The typed form has one slot per
 * modelled match and a fixed order (tcp/udp, connlimit, comment, then opaque matches), so a
 * match that doesn't fit (a second comment, a connlimit placed before the tcp match, a tcp
 * match with no options, a comment with a newline written by another tool) is listed as an
 * opaque extension holding the very bytes the kernel holds. Those bytes are laid out here
 * from the uapi structs, in host byte order as the kernel keeps them.
 */
import { endianness } from 'node:os';
import type { NativeMatch, NativeRule, NativeTarget } from '../native-types';
import type { Family, Negatable, OpaqueExtension, PortSpec, RuleSpec, Target } from './types';
import { formatAddress, maskToPrefix, prefixToMask } from './address';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  SYN_FLAG_COMPARE,
  SYN_FLAG_MASK,
  TCP_FLAGS_ALL,
  addressBits,
  protocolWord,
  tcpFlagNames,
} from './names';
import { commentProblem } from './comment';
import { decodeExtension } from './modules';
import type { ModuleMatch } from './modules';

const LE = endianness() === 'LE';

function neg<T>(value: T, invert: boolean): Negatable<T> {
  return invert ? { not: value } : value;
}

function port(r: [number, number]): PortSpec {
  return r[0] === r[1] ? r[0] : { from: r[0], to: r[1] };
}

function isAny(r: [number, number]): boolean {
  return r[0] === 0 && r[1] === 65535;
}

function u16(buf: Buffer, v: number, off: number): void {
  if (LE) buf.writeUInt16LE(v, off);
  else buf.writeUInt16BE(v, off);
}

function u32(buf: Buffer, v: number, off: number): void {
  if (LE) buf.writeUInt32LE(v, off);
  else buf.writeUInt32BE(v, off);
}

/**
 * The kernel bytes of a modelled match, as an opaque extension (data after the 32-byte header,
 * XT_ALIGNed to 8). Layouts: `struct xt_tcp`/`xt_udp` (linux/netfilter/xt_tcpudp.h),
 * `struct xt_connlimit_info` rev 1 (xt_connlimit.h; NETFILTER-NOTES §1.4 for the mask),
 * `struct xt_comment_info` (xt_comment.h).
 */
export function matchToOpaque(m: Exclude<NativeMatch, { kind: 'opaque' }>): OpaqueExtension {
  switch (m.kind) {
    case 'tcp': {
      const b = Buffer.alloc(16);
      u16(b, m.sport[0], 0);
      u16(b, m.sport[1], 2);
      u16(b, m.dport[0], 4);
      u16(b, m.dport[1], 6);
      b[8] = m.option;
      b[9] = m.flagMask;
      b[10] = m.flagCompare;
      // XT_TCP_INV_SRCPT 0x01, _DSTPT 0x02, _FLAGS 0x04, _OPTION 0x08
      b[11] = (m.invSport ? 1 : 0) | (m.invDport ? 2 : 0) | (m.invFlags ? 4 : 0) | (m.invOption ? 8 : 0);
      return { kind: 'opaque', name: 'tcp', revision: 0, data: b };
    }
    case 'udp': {
      const b = Buffer.alloc(16);
      u16(b, m.sport[0], 0);
      u16(b, m.sport[1], 2);
      u16(b, m.dport[0], 4);
      u16(b, m.dport[1], 6);
      // XT_UDP_INV_SRCPT 0x01, _DSTPT 0x02
      b[8] = (m.invSport ? 1 : 0) | (m.invDport ? 2 : 0);
      return { kind: 'opaque', name: 'udp', revision: 0, data: b };
    }
    case 'connlimit': {
      const b = Buffer.alloc(32);
      // No --connlimit-mask: all 16 bytes 0xFF (connlimit_init); else the plenmask over 16 bytes.
      (m.maskBits === null ? Buffer.alloc(16, 0xff) : prefixToMask(m.maskBits, 16)).copy(b, 0);
      u32(b, m.limit, 16);
      // XT_CONNLIMIT_INVERT 1, XT_CONNLIMIT_DADDR 2; bytes 24..31 are the kernel's pointer (zero).
      u32(b, (m.invert ? 1 : 0) | (m.daddr ? 2 : 0), 20);
      return { kind: 'opaque', name: 'connlimit', revision: 1, data: b };
    }
    case 'comment': {
      const b = Buffer.alloc(256);
      b.write(m.comment, 0, 255, 'utf8');
      return { kind: 'opaque', name: 'comment', revision: 0, data: b };
    }
  }
}

function rd16(buf: Buffer, off: number): number {
  return LE ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
}

function rd32(buf: Buffer, off: number): number {
  return LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
}

/**
 * The inverse of {@link matchToOpaque}: an opaque match that holds the exact bytes of a
 * modelled match (right name, revision and size, no bits we don't know) decoded back, else
 * null. The renderer uses it so that a rule prints the same whether a match travelled typed
 * or opaque.
 */
export function opaqueToMatch(m: { name: string; revision: number; data: Buffer }): Exclude<NativeMatch, { kind: 'opaque' }> | null {
  const d = m.data;
  if ((m.name === 'tcp' || m.name === 'udp') && m.revision === 0 && d.length === 16) {
    const sport: [number, number] = [rd16(d, 0), rd16(d, 2)];
    const dport: [number, number] = [rd16(d, 4), rd16(d, 6)];
    if (m.name === 'udp') {
      if (d[8]! & ~3 || d.subarray(9).some((b) => b !== 0)) return null;
      return { kind: 'udp', sport, dport, invSport: (d[8]! & 1) !== 0, invDport: (d[8]! & 2) !== 0 };
    }
    const inv = d[11]!;
    if (inv & ~0xf || d.subarray(12).some((b) => b !== 0)) return null;
    return {
      kind: 'tcp', sport, dport, option: d[8]!, flagMask: d[9]!, flagCompare: d[10]!,
      invSport: (inv & 1) !== 0, invDport: (inv & 2) !== 0, invFlags: (inv & 4) !== 0, invOption: (inv & 8) !== 0,
    };
  }
  if (m.name === 'connlimit' && m.revision === 1 && d.length === 32) {
    const flags = rd32(d, 20);
    if (flags & ~3 || d.subarray(24).some((b) => b !== 0)) return null;
    const mask = d.subarray(0, 16);
    let maskBits: number | null = null;
    if (!mask.every((b) => b === 0xff)) {
      maskBits = maskToPrefix(Buffer.from(mask));
      if (maskBits === -1) return null;
    }
    return { kind: 'connlimit', limit: rd32(d, 16), invert: (flags & 1) !== 0, daddr: (flags & 2) !== 0, maskBits };
  }
  if (m.name === 'comment' && m.revision === 0 && d.length === 256) {
    const end = d.indexOf(0);
    if (end === -1 || d.subarray(end).some((b) => b !== 0)) return null;
    const comment = d.subarray(0, end).toString('utf8');
    // Only when the text re-encodes to the same bytes (no invalid UTF-8 was replaced).
    if (Buffer.byteLength(comment, 'utf8') !== end) return null;
    return { kind: 'comment', comment };
  }
  return null;
}

/** Canonical rank of each typed slot: tcp/udp, connlimit, comment; opaque matches come last. */
const RANK = { tcp: 0, udp: 0, connlimit: 1, comment: 2, opaque: 3 } as const;

function fitsTyped(m: NativeMatch, rule: NativeRule, family: Family): boolean {
  switch (m.kind) {
    case 'tcp':
    case 'udp': {
      const proto = m.kind === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
      if (rule.protocol !== proto || rule.invProtocol) return false;
      if ((m.invSport && isAny(m.sport)) || (m.invDport && isAny(m.dport))) return false;
      if (m.kind === 'udp') return !isAny(m.sport) || !isAny(m.dport);
      if ((m.flagMask | m.flagCompare) & ~TCP_FLAGS_ALL) return false;
      if (m.flagCompare & ~m.flagMask) return false;
      if (m.option === 0 && m.invOption) return false;
      // A tcp match with no test at all would vanish from the typed form.
      return !isAny(m.sport) || !isAny(m.dport) || m.option !== 0 || m.flagMask !== 0 || m.invFlags;
    }
    case 'connlimit':
      return m.maskBits === null || m.maskBits <= addressBits(family);
    case 'comment':
      return commentProblem(m.comment) === null;
    case 'opaque':
      return true;
  }
}

function targetSpec(t: NativeTarget, family: Family): Target | undefined {
  switch (t.kind) {
    case 'none':
      return undefined;
    case 'verdict':
      return { kind: t.verdict.toLowerCase() as 'accept' | 'drop' | 'return' | 'queue' };
    case 'jump':
    case 'goto':
      return { kind: t.kind, chain: t.chain };
    case 'reject':
      return { kind: 'reject', with: t.with as Extract<Target, { kind: 'reject' }>['with'] };
    case 'opaque': {
      const mod = decodeExtension('target', t, family);
      if (mod) return mod.part as Target;
      return { kind: 'opaque', name: t.name, revision: t.revision, data: Buffer.from(t.data) };
    }
  }
}

/**
 * A normalized rule in the typed spelling (addresses as `10.1.2.0/24` strings, `syn: true` for
 * the exact `--syn` flags, undecodable or out-of-slot matches as opaque extensions).
 *
 * @param rule - a rule as listings decode it
 * @param family - its family
 * @example toRuleSpec(parseRule('-p tcp --syn --dport 22 -j DROP', 'ipv4'), 'ipv4')
 *   // { protocol: 'tcp', dport: 22, syn: true, target: { kind: 'drop' } }
 */
export function toRuleSpec(rule: NativeRule, family: Family): RuleSpec {
  const spec: RuleSpec = {};
  if (rule.protocol !== 0 || rule.invProtocol) {
    spec.protocol = neg(rule.protocol === 0 ? 'all' : protocolWord(rule.protocol) ?? rule.protocol, rule.invProtocol);
  }
  if (rule.src) spec.source = neg(formatAddress(rule.src), rule.src.invert);
  if (rule.dst) spec.destination = neg(formatAddress(rule.dst), rule.dst.invert);
  if (rule.inInterface) spec.inInterface = neg(rule.inInterface.name + (rule.inInterface.wildcard ? '+' : ''), rule.inInterface.invert);
  if (rule.outInterface) spec.outInterface = neg(rule.outInterface.name + (rule.outInterface.wildcard ? '+' : ''), rule.outInterface.invert);
  if (family === 'ipv4' && rule.fragment !== null) spec.fragment = rule.fragment;

  const opaque: (ModuleMatch | OpaqueExtension)[] = [];
  let rank = 0;
  let l4 = false;
  let connlimit = false;
  let comment = false;
  for (const m of rule.matches) {
    if (m.kind === 'opaque') {
      const mod = decodeExtension('match', m, family);
      opaque.push(mod ? (mod.part as ModuleMatch) : { kind: 'opaque', name: m.name, revision: m.revision, data: Buffer.from(m.data) });
      rank = RANK.opaque;
      continue;
    }
    const free = m.kind === 'connlimit' ? !connlimit : m.kind === 'comment' ? !comment : !l4;
    if (!free || RANK[m.kind] < rank || !fitsTyped(m, rule, family)) {
      opaque.push(matchToOpaque(m));
      rank = RANK.opaque;
      continue;
    }
    rank = RANK[m.kind];
    if (m.kind === 'tcp' || m.kind === 'udp') {
      l4 = true;
      if (!isAny(m.sport) || m.invSport) spec.sport = neg(port(m.sport), m.invSport);
      if (!isAny(m.dport) || m.invDport) spec.dport = neg(port(m.dport), m.invDport);
      if (m.kind === 'tcp') {
        if (m.flagMask === SYN_FLAG_MASK && m.flagCompare === SYN_FLAG_COMPARE) spec.syn = !m.invFlags;
        else if (m.flagMask !== 0 || m.invFlags) {
          spec.tcpFlags = neg({ mask: tcpFlagNames(m.flagMask), set: tcpFlagNames(m.flagCompare) }, m.invFlags);
        }
        if (m.option !== 0) spec.tcpOption = neg(m.option, m.invOption);
      }
    } else if (m.kind === 'connlimit') {
      connlimit = true;
      const cl: NonNullable<RuleSpec['connlimit']> = { kind: m.invert ? 'upTo' : 'above', count: m.limit };
      if (m.maskBits !== null) cl.maskBits = m.maskBits;
      if (m.daddr) cl.key = 'destination';
      spec.connlimit = cl;
    } else {
      comment = true;
      spec.comment = m.comment;
    }
  }
  if (opaque.length) spec.matches = opaque;
  const t = targetSpec(rule.target, family);
  if (t) spec.target = t;
  return spec;
}

/**
 * The match and target extension names a rule uses, in order, without repeats (for
 * "modprobe xt_..." hints). Standard verdicts and chain jumps are not extensions.
 *
 * @example ruleExtensions(parseRule('-p tcp --dport 22 -m connlimit --connlimit-above 2 -j REJECT', 'ipv4'))
 *   // ['tcp', 'connlimit', 'REJECT']
 */
export function ruleExtensions(rule: NativeRule): string[] {
  // One array, no Set and no closure: a 10k-rule transaction calls this per rule.
  const names: string[] = [];
  for (const m of rule.matches) addName(names, m.kind === 'opaque' ? m.name : m.kind);
  if (rule.target.kind === 'reject') addName(names, 'REJECT');
  else if (rule.target.kind === 'opaque') addName(names, rule.target.name);
  return names;
}

/** As {@link ruleExtensions}, into a set (a transaction's, for its error hints): no array a rule. */
export function addRuleExtensions(rule: NativeRule, names: Set<string>): void {
  for (let i = 0; i < rule.matches.length; i++) {
    const m = rule.matches[i] as NativeMatch;
    names.add(m.kind === 'opaque' ? m.name : m.kind);
  }
  if (rule.target.kind === 'reject') names.add('REJECT');
  else if (rule.target.kind === 'opaque') names.add(rule.target.name);
}

function addName(names: string[], name: string): void {
  if (!names.includes(name)) names.push(name);
}
