// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A rule printed exactly as `iptables-legacy-save`/`ip6tables-legacy-save` 1.8.9 prints it.
 *
 * Order and spelling follow 1.8.9's save path (iptables/iptables.c and ip6tables.c
 * `save_rule`/`print_rule`, iptables/xshared.c, and each extension's `save`):
 * `-s -d -i -o -p`, then `-f` (IPv4), then the matches in rule order, then the target.
 * Every expected string in test/12-render.test.ts was printed by the CLI itself.
 *
 * An opaque match holding the exact bytes of a match we model (tcp, udp, connlimit, comment:
 * what listings use for a match that doesn't fit the typed form's slots) prints as that match.
 * Other opaque (undecoded) extensions have no save function here, and iptables-save would need the
 * extension's library to print their options. We print `-m NAME` (or `-j NAME`) followed by
 * `[undecoded: revision R, N bytes]`: it names the module, and says plainly that its options
 * are not shown, so nobody mistakes the line for a complete, restorable rule. The rule itself
 * still lists, compares and survives byte-for-byte.
 */
import type { NativeAddress, NativeInterface, NativeMatch, NativeRule, NativeTarget } from '../native-types';
import type { Family } from './types';
import { formatAddress, isZero } from './address';
import { formatTcpFlags, protocolSaveName } from './names';
import { opaqueToMatch } from './to-spec';
import { decodeExtension } from './modules';
import { saveString } from './save-string';

export { saveString } from './save-string';

function address(letter: 's' | 'd', a: NativeAddress | null): string[] {
  // save_ipv4_addr/save_ipv6_addr: nothing for a zero mask unless inverted.
  if (!a || (isZero(a.mask) && !a.invert)) return [];
  return [...(a.invert ? ['!'] : []), `-${letter}`, formatAddress(a)];
}

function iface(letter: 'i' | 'o', i: NativeInterface | null): string[] {
  // print_iface: nothing when the mask's first byte is 0, i.e. a bare '+', even with '!'.
  if (!i || i.name === '') return [];
  return [...(i.invert ? ['!'] : []), `-${letter}`, `${i.name}${i.wildcard ? '+' : ''}`];
}

function ports(opt: string, r: [number, number], invert: boolean): string[] {
  // tcp_save/udp_save print a port test only when it isn't the full range (even with '!').
  if (r[0] === 0 && r[1] === 65535) return [];
  return [...(invert ? ['!'] : []), opt, r[0] === r[1] ? String(r[0]) : `${r[0]}:${r[1]}`];
}

function undecoded(revision: number, data: Buffer): string {
  return `[undecoded: revision ${revision}, ${data.length} bytes]`;
}

function match(m: NativeMatch, family: Family): string[] {
  switch (m.kind) {
    case 'tcp': {
      const out = ['-m', 'tcp', ...ports('--sport', m.sport, m.invSport), ...ports('--dport', m.dport, m.invDport)];
      if (m.option || m.invOption) out.push(...(m.invOption ? ['!'] : []), '--tcp-option', String(m.option));
      if (m.flagMask || m.invFlags) {
        out.push(...(m.invFlags ? ['!'] : []), '--tcp-flags', formatTcpFlags(m.flagMask), formatTcpFlags(m.flagCompare));
      }
      return out;
    }
    case 'udp':
      return ['-m', 'udp', ...ports('--sport', m.sport, m.invSport), ...ports('--dport', m.dport, m.invDport)];
    case 'connlimit': {
      // connlimit_save4/6 always print the mask; without --connlimit-mask it is the full width.
      const bits = m.maskBits ?? (family === 'ipv6' ? 128 : 32);
      return [
        '-m', 'connlimit', m.invert ? '--connlimit-upto' : '--connlimit-above', String(m.limit),
        '--connlimit-mask', String(bits), m.daddr ? '--connlimit-daddr' : '--connlimit-saddr',
      ];
    }
    case 'comment':
      return ['-m', 'comment', '--comment', saveString(m.comment)];
    case 'opaque': {
      // The exact bytes of a match we model (a listing's out-of-slot match) print as the CLI prints them.
      const known = opaqueToMatch(m);
      if (known) return match(known, family);
      // A registry module's bytes print as its save function prints them.
      const mod = decodeExtension('match', m, family);
      return mod ? mod.module.render(mod.part, family) : ['-m', m.name, undecoded(m.revision, m.data)];
    }
  }
}

function target(t: NativeTarget, family: Family): string[] {
  switch (t.kind) {
    case 'none':
      return [];
    case 'verdict':
      return ['-j', t.verdict];
    case 'jump':
      return ['-j', t.chain];
    case 'goto':
      return ['-g', t.chain];
    case 'reject':
      return ['-j', 'REJECT', '--reject-with', t.with];
    case 'opaque': {
      const mod = decodeExtension('target', t, family);
      return mod ? mod.module.render(mod.part, family) : ['-j', t.name, undecoded(t.revision, t.data)];
    }
  }
}

/**
 * Print a rule as iptables-save 1.8.9 does, optionally as a whole `-A CHAIN ...` line.
 *
 * @param rule - the normalized rule
 * @param family - 'ipv4' (iptables-save) or 'ipv6' (ip6tables-save)
 * @param chain - when given, the line starts with `-A CHAIN`
 * @example renderRule(parseRule('-p tcp --syn --dport 22', 'ipv4'), 'ipv4', 'INPUT')
 *   // '-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN'
 */
export function renderRule(rule: NativeRule, family: Family, chain?: string): string {
  const out: string[] = chain === undefined ? [] : ['-A', chain];
  out.push(...address('s', rule.src), ...address('d', rule.dst));
  out.push(...iface('i', rule.inInterface), ...iface('o', rule.outInterface));
  if (rule.protocol !== 0 || rule.invProtocol) {
    out.push(...(rule.invProtocol ? ['!'] : []), '-p', rule.protocol === 0 ? 'all' : protocolSaveName(rule.protocol));
  }
  if (family === 'ipv4' && rule.fragment !== null) out.push(...(rule.fragment ? [] : ['!']), '-f');
  for (const m of rule.matches) out.push(...match(m, family));
  out.push(...target(rule.target, family));
  return out.join(' ');
}
