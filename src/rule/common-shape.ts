// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The fast path of rule parsing: the shape nearly every rule of a big transaction has
 * (`-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT`, with addresses,
 * interfaces, a port range, a connlimit mask or key, a verdict, a jump, a goto or a reject type),
 * parsed in one pass over the words with no tokens, builders or sets: ~1 µs a rule instead of
 * several, and a fraction of the garbage.
 *
 * It answers only when it is sure: anything else (a `!`, another module, a duplicate, a
 * value it does not read the common way, anything the full parser would refuse) gives null,
 * and src/rule/parse.ts then runs the full parser, which gives the same rule or the error.
 * So a rule it returns is exactly the rule the full parser returns for the same words
 * (test/10-parse.test.ts proves it on the real-rules corpus, the iptables .t cases and fuzz).
 */
import type { NativeAddress, NativeInterface, NativeMatch, NativePortRange, NativeRule, NativeTarget } from '../native-types';
import type { Family } from './types';
import { isZero, parseAddress } from './address';
import { findModule } from './modules';
import { IPPROTO_TCP, IPPROTO_UDP, MAX_CONNLIMIT, REJECT_TCP_RESET, RESERVED_TARGET_NAMES, SYN_FLAG_COMPARE, SYN_FLAG_MASK, addressBits, defaultRejectWith, isVerdict, rejectSaveName } from './names';
import { jumpChainProblem, parseInterface } from './validate';

interface L4 {
  kind: 'tcp' | 'udp';
  sport: NativePortRange | null;
  dport: NativePortRange | null;
  syn: boolean;
}

interface Connlimit {
  limit: number | null;
  invert: boolean;
  daddr: boolean;
  keySeen: boolean;
  maskBits: number | null;
  maskSeen: boolean;
}

/**
 * `text[from, to)` as parseDecimal (src/rule/numbers.ts) reads a decimal 0..max (no sign, no
 * leading zero, at most 10 digits), without a regex or a substring; null otherwise.
 */
function decimal(text: string, from: number, to: number, max: number): number | null {
  const n = to - from;
  if (n === 0 || n > 10 || (n > 1 && text.charCodeAt(from) === 48)) return null;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return v <= max ? v : null;
}

/** `N` or `N:M` in decimal, as the full parser reads them; null for every other spelling. */
function portRange(text: string): NativePortRange | null {
  const colon = text.indexOf(':');
  if (colon === -1) {
    const p = decimal(text, 0, text.length, 65535);
    return p === null ? null : [p, p];
  }
  const from = decimal(text, 0, colon, 65535);
  const to = decimal(text, colon + 1, text.length, 65535);
  return from === null || to === null || from > to ? null : [from, to];
}

let shadowed: boolean | undefined;
/** Whether a registry module (src/rule/modules) took the name of tcp, udp or connlimit: the full parser would load it instead. */
function builtinMatchesShadowed(): boolean {
  shadowed ??= ['tcp', 'udp', 'connlimit'].some((name) => findModule('match', name) !== undefined);
  return shadowed;
}

/** A value word the full parser takes as it stands: present, no `!`, not an option. */
function plainValue(v: string | undefined): v is string {
  return v !== undefined && v !== '' && v !== '!' && !(v.length > 1 && v.charCodeAt(0) === 45 /* - */ && !(v.charCodeAt(1) >= 48 && v.charCodeAt(1) <= 57));
}

function address(text: string, family: Family): NativeAddress | null | undefined {
  const r = parseAddress(text, family);
  if ('error' in r) return undefined;
  // 0.0.0.0/0 is the same bytes as no address, as in the full parser.
  return isZero(r.mask) ? null : { addr: r.addr, mask: r.mask, invert: false };
}

function iface(text: string): NativeInterface | null | undefined {
  const r = parseInterface(text, false);
  return r !== null && 'error' in r ? undefined : r;
}

function target(name: string, family: Family): NativeTarget | null {
  if (isVerdict(name)) return { kind: 'verdict', verdict: name };
  if (name === 'REJECT') return { kind: 'reject', with: defaultRejectWith(family) };
  if (RESERVED_TARGET_NAMES.has(name) || findModule('target', name) || jumpChainProblem(name, 'jump') !== null) return null;
  return { kind: 'jump', chain: name };
}

function l4Match(b: L4): NativeMatch {
  const sport = b.sport ?? [0, 65535];
  const dport = b.dport ?? [0, 65535];
  if (b.kind === 'udp') return { kind: 'udp', sport, dport, invSport: false, invDport: false };
  return {
    kind: 'tcp', sport, dport, option: 0, flagMask: b.syn ? SYN_FLAG_MASK : 0, flagCompare: b.syn ? SYN_FLAG_COMPARE : 0,
    invSport: false, invDport: false, invFlags: false, invOption: false,
  };
}

/**
 * The rule the words say, when they have the common shape; else null (the full parser decides).
 * @param words - the rule split on spaces (empty words are skipped where an option may stand;
 *   a tab or any character the tokenizer treats specially is in no word this path accepts, so
 *   the words are the tokens the full parser would read)
 * @example parseCommonShape('-p tcp --dport 22 -j ACCEPT'.split(' '), 'ipv4')?.matches[0] // { kind: 'tcp', dport: [22, 22], ... }
 */
export function parseCommonShape(words: readonly string[], family: Family): NativeRule | null {
  let protocol = 0;
  let protocolSeen = false;
  let src: NativeAddress | null | undefined;
  let dst: NativeAddress | null | undefined;
  let inInterface: NativeInterface | null | undefined;
  let outInterface: NativeInterface | null | undefined;
  let l4: L4 | null = null;
  let connlimit: Connlimit | null = null;
  let l4First = false;
  let tgt: NativeTarget | null = null;
  let rejectWith = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '') continue;
    if (w === '--syn') {
      if (l4 === null) {
        if (protocol !== IPPROTO_TCP) return null;
        l4 = { kind: 'tcp', sport: null, dport: null, syn: false };
        l4First = connlimit === null;
      }
      if (l4.kind !== 'tcp' || l4.syn) return null;
      l4.syn = true;
      continue;
    }
    if (w === '--connlimit-saddr' || w === '--connlimit-daddr') {
      if (connlimit === null || connlimit.keySeen) return null;
      connlimit.keySeen = true;
      connlimit.daddr = w === '--connlimit-daddr';
      continue;
    }
    const v = words[++i];
    if (!plainValue(v)) return null;
    switch (w) {
      case '-p':
      case '--protocol':
        if (protocolSeen) return null;
        protocolSeen = true;
        if (v === 'tcp') protocol = IPPROTO_TCP;
        else if (v === 'udp') protocol = IPPROTO_UDP;
        else if (v !== 'all') return null;
        break;
      case '-s':
      case '--source':
      case '--src':
        if (src !== undefined || (src = address(v, family)) === undefined) return null;
        break;
      case '-d':
      case '--destination':
      case '--dst':
        if (dst !== undefined || (dst = address(v, family)) === undefined) return null;
        break;
      case '-i':
      case '--in-interface':
        if (inInterface !== undefined || (inInterface = iface(v)) === undefined) return null;
        break;
      case '-o':
      case '--out-interface':
        if (outInterface !== undefined || (outInterface = iface(v)) === undefined) return null;
        break;
      case '-m':
      case '--match':
        if (v === 'tcp' || v === 'udp') {
          if (l4 !== null || builtinMatchesShadowed()) return null;
          l4 = { kind: v, sport: null, dport: null, syn: false };
          l4First = connlimit === null;
        } else if (v === 'connlimit') {
          if (connlimit !== null || builtinMatchesShadowed()) return null;
          connlimit = { limit: null, invert: false, daddr: false, keySeen: false, maskBits: null, maskSeen: false };
        } else {
          return null;
        }
        break;
      case '--sport':
      case '--source-port':
      case '--dport':
      case '--destination-port': {
        if (l4 === null) {
          if (protocol !== IPPROTO_TCP && protocol !== IPPROTO_UDP) return null;
          l4 = { kind: protocol === IPPROTO_TCP ? 'tcp' : 'udp', sport: null, dport: null, syn: false };
          l4First = connlimit === null;
        }
        const range = portRange(v);
        if (range === null) return null;
        if (w === '--sport' || w === '--source-port') {
          if (l4.sport !== null) return null;
          l4.sport = range;
        } else {
          if (l4.dport !== null) return null;
          l4.dport = range;
        }
        break;
      }
      case '--connlimit-above':
      case '--connlimit-upto':
        if (connlimit === null || connlimit.limit !== null) return null;
        if ((connlimit.limit = decimal(v, 0, v.length, MAX_CONNLIMIT)) === null) return null;
        connlimit.invert = w === '--connlimit-upto';
        break;
      case '--connlimit-mask':
        if (connlimit === null || connlimit.maskSeen) return null;
        connlimit.maskSeen = true;
        if ((connlimit.maskBits = decimal(v, 0, v.length, addressBits(family))) === null) return null;
        break;
      case '-j':
      case '--jump':
        if (tgt !== null || (tgt = target(v, family)) === null) return null;
        break;
      case '-g':
      case '--goto':
        if (tgt !== null || isVerdict(v) || RESERVED_TARGET_NAMES.has(v) || jumpChainProblem(v, 'goto') !== null) return null;
        tgt = { kind: 'goto', chain: v };
        break;
      case '--reject-with': {
        if (tgt === null || tgt.kind !== 'reject' || rejectWith) return null;
        const name = rejectSaveName(family, v);
        if (name === undefined) return null;
        tgt.with = name;
        rejectWith = true;
        break;
      }
      default:
        return null;
    }
  }
  if (l4 !== null && protocol !== (l4.kind === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP)) return null;
  if (connlimit !== null && connlimit.limit === null) return null;
  if (tgt !== null && tgt.kind === 'reject' && tgt.with === REJECT_TCP_RESET && protocol !== IPPROTO_TCP) return null;
  const matches: NativeMatch[] = [];
  const limit: NativeMatch | null =
    connlimit === null ? null : { kind: 'connlimit', limit: connlimit.limit as number, invert: connlimit.invert, daddr: connlimit.daddr, maskBits: connlimit.maskBits };
  if (l4 !== null && l4First) matches.push(l4Match(l4));
  if (limit !== null) matches.push(limit);
  if (l4 !== null && !l4First) matches.push(l4Match(l4));
  return {
    protocol, invProtocol: false, src: src ?? null, dst: dst ?? null, inInterface: inInterface ?? null, outInterface: outInterface ?? null,
    fragment: null, matches, target: tgt ?? { kind: 'none' },
  };
}
