// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The one place that maps our words to kernel values: IP protocol names, TCP flag names,
 * REJECT `--reject-with` types, verdict and built-in chain names, and the match modules the
 * rule language models. Every other file of src/rule asks here instead of spelling a number.
 *
 * Sources (iptables 1.8.9 as installed, checked against the CLI in throwaway namespaces):
 * `libxtables/xtables.c` (`xtables_chain_protos`), `extensions/libxt_tcp.c` (`tcp_flag_names`),
 * `extensions/libipt_REJECT.c`, `extensions/libip6t_REJECT.c`, and the kernel uapi headers
 * `linux/netfilter_ipv4/ipt_REJECT.h`, `linux/netfilter_ipv6/ip6t_REJECT.h`.
 */
import type { Family, Ipv4RejectWith, Ipv6RejectWith, ProtocolName, RejectWith, TcpFlag } from './types';
import { quote } from '../echo';

// ---------------------------------------------------------------------------------------------
// Protocols

/** Our protocol words and their IP protocol numbers (`-p` takes either). */
export const PROTOCOL_NUMBERS: Readonly<Record<ProtocolName, number>> = Object.freeze({
  all: 0,
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  'ipv6-icmp': 58,
  sctp: 132,
  mh: 135,
  udplite: 136,
});

/**
 * The keyword column of Debian netbase 6.4 `/etc/protocols` (what glibc's `getprotobynumber`
 * answers on the machines we target), by number.
 *
 * Why a copy: `iptables-save` 1.8.9 prints `-p` through `getprotobynumber()` first and falls
 * back to its own `xtables_chain_protos` table only when that fails; that is why `-p mh`
 * saves as `-p mobility-header` and `-p icmpv6` as `-p ipv6-icmp` (both seen with the CLI).
 * Reading /etc/protocols at run time would make rendering depend on the host; a frozen copy
 * of the file every Debian/Ubuntu host ships keeps `renderRule` pure and identical to the CLI
 * there. Numbers absent here print as decimals, as the CLI prints them (`-p 99`).
 */
const NETBASE_PROTOCOLS: ReadonlyMap<number, string> = new Map<number, string>([
  [0, 'ip'], [1, 'icmp'], [2, 'igmp'], [3, 'ggp'], [4, 'ipencap'], [5, 'st'], [6, 'tcp'], [8, 'egp'],
  [9, 'igp'], [12, 'pup'], [17, 'udp'], [20, 'hmp'], [22, 'xns-idp'], [27, 'rdp'], [29, 'iso-tp4'],
  [33, 'dccp'], [36, 'xtp'], [37, 'ddp'], [38, 'idpr-cmtp'], [41, 'ipv6'], [43, 'ipv6-route'],
  [44, 'ipv6-frag'], [45, 'idrp'], [46, 'rsvp'], [47, 'gre'], [50, 'esp'], [51, 'ah'], [57, 'skip'],
  [58, 'ipv6-icmp'], [59, 'ipv6-nonxt'], [60, 'ipv6-opts'], [73, 'rspf'], [81, 'vmtp'], [88, 'eigrp'],
  [89, 'ospf'], [93, 'ax.25'], [94, 'ipip'], [97, 'etherip'], [98, 'encap'], [103, 'pim'],
  [108, 'ipcomp'], [112, 'vrrp'], [115, 'l2tp'], [124, 'isis'], [132, 'sctp'], [133, 'fc'],
  [135, 'mobility-header'], [136, 'udplite'], [137, 'mpls-in-ip'], [138, 'manet'], [139, 'hip'],
  [140, 'shim6'], [141, 'wesp'], [142, 'rohc'], [143, 'ethernet'],
]);

/** Every name `-p` accepts: our words, iptables' own extra spellings, and the netbase keywords. */
const PROTOCOL_BY_NAME: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (const [num, name] of NETBASE_PROTOCOLS) m.set(name, num);
  m.set('hopopt', 0);
  // xtables_chain_protos spellings that netbase lacks.
  m.set('ipv6-mh', 135);
  for (const [name, num] of Object.entries(PROTOCOL_NUMBERS)) m.set(name, num);
  return m;
})();

/**
 * The number of a protocol name as `-p` takes it (case-insensitive, as iptables lowercases
 * before looking up), or undefined when the name is unknown.
 *
 * @example protocolNumber('TCP') // 6
 */
export function protocolNumber(name: string): number | undefined {
  return PROTOCOL_BY_NAME.get(name.toLowerCase());
}

/** True when `name` is one of our {@link ProtocolName} words (exact spelling, as the typed API takes it). */
export function isProtocolName(name: unknown): name is ProtocolName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(PROTOCOL_NUMBERS, name);
}

/**
 * How `iptables-save` 1.8.9 spells a protocol number after `-p`: the netbase keyword, else the
 * decimal number.
 *
 * @example protocolSaveName(135) // 'mobility-header'
 */
export function protocolSaveName(num: number): string {
  return NETBASE_PROTOCOLS.get(num) ?? String(num);
}

/**
 * Our word for a protocol number in listings (`toRuleSpec`): a {@link ProtocolName} when one
 * exists (58 is `icmpv6`, 135 is `mh`), else undefined (the listing then shows the number).
 */
export function protocolWord(num: number): ProtocolName | undefined {
  return PROTOCOL_WORDS.get(num);
}

/** Number to word; the first word listed wins, except that 58 reads as `icmpv6`. */
const PROTOCOL_WORDS: ReadonlyMap<number, ProtocolName> = (() => {
  const m = new Map<number, ProtocolName>();
  for (const [name, num] of Object.entries(PROTOCOL_NUMBERS) as [ProtocolName, number][]) if (!m.has(num)) m.set(num, name);
  return m;
})();

/** IPPROTO_TCP / IPPROTO_UDP (linux/in.h). */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/**
 * IPv6 extension-header numbers that `ip6tables -p` accepts with "Warning: never matched
 * protocol ... use extension match instead" (`is_exthdr()` in iptables/xshared.c: ROUTING 43,
 * FRAGMENT 44, AH 51, DSTOPTS 60). `ip6_packet_match` skips past these headers, so such a rule
 * never matches; we refuse it instead of warning.
 */
export const IPV6_EXTENSION_HEADER_PROTOCOLS: ReadonlySet<number> = new Set([43, 44, 51, 60]);

// ---------------------------------------------------------------------------------------------
// TCP flags

/** TCP flag bits as `struct xt_tcp` holds them (linux/netfilter/xt_tcpudp.h; the TCP header's own bits). */
export const TCP_FLAG_BITS: Readonly<Record<TcpFlag, number>> = Object.freeze({
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
});

/** The order `print_tcpf()` (libxt_tcp.c) prints flags in. */
export const TCP_FLAG_ORDER: readonly TcpFlag[] = Object.freeze(['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG']);

/** Every bit a flag name can set; `ALL` in `--tcp-flags` syntax. */
export const TCP_FLAGS_ALL = 0x3f;

/** `--syn` is `--tcp-flags FIN,SYN,RST,ACK SYN` (libxt_tcp.c `parse_tcp_flags(..., "SYN,RST,ACK,FIN", "SYN")`). */
export const SYN_FLAG_MASK = 0x17;
export const SYN_FLAG_COMPARE = 0x02;

/** True when `name` is one of the six flag names of the typed API. */
export function isTcpFlag(name: unknown): name is TcpFlag {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(TCP_FLAG_BITS, name);
}

/**
 * Parse one `--tcp-flags` list: comma-separated flag names, `ALL` or `NONE`, case-insensitive
 * as libxt_tcp.c takes them. Returns the bits, or an error message.
 *
 * @example parseTcpFlagList('syn,ACK') // 0x12
 */
export function parseTcpFlagList(text: string): number | { error: string } {
  if (text === '') return { error: 'an empty flag list (write NONE for no flags)' };
  let bits = 0;
  for (const part of text.split(',')) {
    const upper = part.toUpperCase();
    if (upper === 'ALL') bits |= TCP_FLAGS_ALL;
    else if (upper === 'NONE') continue;
    else if (isTcpFlag(upper)) bits |= TCP_FLAG_BITS[upper];
    else return { error: `unknown TCP flag ${quote(part)} (known: ${TCP_FLAG_ORDER.join(', ')}, ALL, NONE)` };
  }
  return bits;
}

/** The flag names set in `bits`, in print order. Bits outside {@link TCP_FLAGS_ALL} are ignored. */
export function tcpFlagNames(bits: number): TcpFlag[] {
  return TCP_FLAG_ORDER.filter((f) => (bits & TCP_FLAG_BITS[f]) !== 0);
}

/**
 * A flag set as `print_tcpf()` prints it: `NONE`, or the names joined with commas.
 * Bits the CLI has no name for (0x40, 0x80: only in rules other tools wrote) print as hex so
 * that they stay visible; the CLI itself walks off its name table there.
 */
export function formatTcpFlags(bits: number): string {
  const names: string[] = tcpFlagNames(bits);
  const unknown = bits & ~TCP_FLAGS_ALL & 0xff;
  if (unknown) names.push(`0x${unknown.toString(16)}`);
  return names.length ? names.join(',') : 'NONE';
}

// ---------------------------------------------------------------------------------------------
// REJECT

/** One `--reject-with` type: the name iptables-save prints, the CLI's alias, the kernel enum value. */
export interface RejectType<N extends string = RejectWith> {
  name: N;
  alias: string;
  /** `enum ipt_reject_with` / `enum ip6t_reject_with`. */
  value: number;
}

/**
 * IPv4 REJECT types, from `reject_table[]` in extensions/libipt_REJECT.c (1.8.9). Values per
 * linux/netfilter_ipv4/ipt_REJECT.h. Absent on purpose: IPT_ICMP_ECHOREPLY (4), which the
 * table of 1.8.9 no longer lists ("--reject-with echo-reply no longer supported") and the
 * kernel's `reject_tg_check` refuses.
 */
export const IPV4_REJECT_TYPES: readonly RejectType<Ipv4RejectWith>[] = Object.freeze([
  { name: 'icmp-net-unreachable', alias: 'net-unreach', value: 0 },
  { name: 'icmp-host-unreachable', alias: 'host-unreach', value: 1 },
  { name: 'icmp-proto-unreachable', alias: 'proto-unreach', value: 2 },
  { name: 'icmp-port-unreachable', alias: 'port-unreach', value: 3 },
  { name: 'icmp-net-prohibited', alias: 'net-prohib', value: 5 },
  { name: 'icmp-host-prohibited', alias: 'host-prohib', value: 6 },
  { name: 'tcp-reset', alias: 'tcp-rst', value: 7 },
  { name: 'icmp-admin-prohibited', alias: 'admin-prohib', value: 8 },
]);

/**
 * IPv6 REJECT types, from `reject_table[]` in extensions/libip6t_REJECT.c (1.8.9). Values per
 * linux/netfilter_ipv6/ip6t_REJECT.h. NOT_NEIGHBOUR (2) and ECHOREPLY (5) have no CLI name.
 * The CLI's alias for tcp-reset is `tcp-reset` itself (so `tcp-rst` is IPv4-only).
 */
export const IPV6_REJECT_TYPES: readonly RejectType<Ipv6RejectWith>[] = Object.freeze([
  { name: 'icmp6-no-route', alias: 'no-route', value: 0 },
  { name: 'icmp6-adm-prohibited', alias: 'adm-prohibited', value: 1 },
  { name: 'icmp6-addr-unreachable', alias: 'addr-unreach', value: 3 },
  { name: 'icmp6-port-unreachable', alias: 'port-unreach', value: 4 },
  { name: 'tcp-reset', alias: 'tcp-reset', value: 6 },
  { name: 'icmp6-policy-fail', alias: 'policy-fail', value: 7 },
  { name: 'icmp6-reject-route', alias: 'reject-route', value: 8 },
]);

/** The REJECT types of a family. */
export function rejectTypes(family: Family): readonly RejectType[] {
  return family === 'ipv6' ? IPV6_REJECT_TYPES : IPV4_REJECT_TYPES;
}

/** What a bare `-j REJECT` sends: port unreachable (`REJECT_init` in both extensions). */
export function defaultRejectWith(family: Family): RejectWith {
  return family === 'ipv6' ? 'icmp6-port-unreachable' : 'icmp-port-unreachable';
}

/** The `tcp-reset` type, which the kernel accepts only with `-p tcp` (`reject_tg_check`). */
export const REJECT_TCP_RESET = 'tcp-reset';

/**
 * The save name for a `--reject-with` word: a save name or its CLI alias, case-insensitive.
 * Unlike the CLI we take no abbreviations (it accepts any prefix, so `icmp-h` silently means
 * icmp-host-unreachable and an empty word means icmp-net-unreachable).
 *
 * @example rejectSaveName('ipv4', 'tcp-rst') // 'tcp-reset'
 */
export function rejectSaveName(family: Family, word: string): RejectWith | undefined {
  const w = word.toLowerCase();
  return rejectTypes(family).find((t) => t.name === w || t.alias === w)?.name;
}

/** True when `name` is a save name (exact) of a REJECT type of `family`. */
export function isRejectWith(family: Family, name: unknown): name is RejectWith {
  if (typeof name !== 'string') return false;
  // A loop, not some(): a typed rule's REJECT is checked once per rule of a transaction.
  for (const t of rejectTypes(family)) if (t.name === name) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Targets and chains

/** Standard verdicts: libiptc maps these names to verdict numbers (`iptcc_map_target`). */
export const VERDICTS = Object.freeze(['ACCEPT', 'DROP', 'RETURN', 'QUEUE'] as const);
export type Verdict = (typeof VERDICTS)[number];

/** True for ACCEPT, DROP, RETURN, QUEUE. */
export function isVerdict(name: unknown): name is Verdict {
  return typeof name === 'string' && (VERDICTS as readonly string[]).includes(name);
}

/** Built-in chains of the tables we write; libiptc refuses a jump to one with EINVAL. */
export const BUILTIN_CHAINS: ReadonlySet<string> = new Set(['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING']);

/**
 * Names a user chain may not have, because `-j NAME` would mean the target: the verdicts,
 * libiptc's internal ERROR target, and the target extensions iptables 1.8.9 ships. The CLI
 * refuses `-N` of a name that loads as a target; we refuse the whole list so that a chain
 * name means the same on every host whatever extensions are installed.
 */
export const RESERVED_TARGET_NAMES: ReadonlySet<string> = new Set([
  ...VERDICTS, 'REJECT', 'ERROR',
  'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CLUSTERIP', 'CONNMARK', 'CONNSECMARK', 'CT', 'DNAT', 'DNPT', 'DSCP',
  'ECN', 'HL', 'HMARK', 'IDLETIMER', 'LED', 'LOG', 'MARK', 'MASQUERADE', 'MIRROR', 'NETMAP', 'NFLOG',
  'NFQUEUE', 'NOTRACK', 'RATEEST', 'REDIRECT', 'SAME', 'SECMARK', 'SET', 'SNAT', 'SNPT', 'SYNPROXY',
  'TCPMSS', 'TCPOPTSTRIP', 'TEE', 'TOS', 'TPROXY', 'TRACE', 'TTL', 'ULOG',
]);

/** Match modules the rule language models; anything else is refused by the parser and kept opaque in listings. */
export const SUPPORTED_MATCHES = Object.freeze(['tcp', 'udp', 'connlimit', 'comment'] as const);
export type SupportedMatch = (typeof SUPPORTED_MATCHES)[number];

/** Targets the rule language models by name (user chains aside). */
export const SUPPORTED_TARGETS = Object.freeze([...VERDICTS, 'REJECT'] as const);

// ---------------------------------------------------------------------------------------------
// Widths and limits

/** Bytes of an address of each family. */
export function addressBytes(family: Family): 4 | 16 {
  return family === 'ipv6' ? 16 : 4;
}

/** Bits of an address of each family (the widest prefix length). */
export function addressBits(family: Family): 32 | 128 {
  return family === 'ipv6' ? 128 : 32;
}

/** IFNAMSIZ - 1: the longest interface name, counting a trailing `+`. */
export const MAX_INTERFACE_LENGTH = 15;

/** XT_EXTENSION_MAXNAMELEN - 1: the longest chain name a jump target can hold. */
export const MAX_CHAIN_NAME_LENGTH = 28;

/** XT_MAX_COMMENT_LEN - 1: the comment field is 256 bytes with a terminating NUL. */
export const MAX_COMMENT_BYTES = 255;

/**
 * The longest rule text we parse, in characters. The longest rule the language can say (long
 * option names, every option negated, IPv6 addresses with written-out masks, a 255-byte
 * comment with every character escaped: test/10-parse) is about 1,100 characters; 8 KiB
 * leaves room for generous spacing. Longer text is refused before it is split: a 10 MB string would otherwise
 * take a second and hundreds of MB to tokenize.
 */
export const MAX_RULE_CHARS = 8192;

/** `--connlimit-above`/`--connlimit-upto` are XTTYPE_UINT32. */
export const MAX_CONNLIMIT = 0xffffffff;
