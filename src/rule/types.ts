// SPDX-License-Identifier: GPL-2.0-or-later
/** Public rule types: the typed-object spelling of a rule, and what listings return. */


export type Family = 'ipv4' | 'ipv6';

/**
 * The typed parts of the compat-form modules (src/rule/modules), by kind. Each module's file
 * adds its own row by declaration merging (`declare module '../types' { interface ModuleParts
 * { conntrack: ConntrackMatch } }`), so this file imports no module and the rule types stay
 * below the modules in the import graph.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface ModuleParts {}

/** Every match module's typed part, as it stands in a rule's `matches`. */
export type ModuleMatch = ModuleParts[keyof ModuleParts];

/** The typed parts of the target modules, by kind, added the same way (`{ log: LogTarget }`). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface ModuleTargetParts {}

/** Every target module's typed part, as it stands in a rule's `target`. */
export type ModuleTarget = ModuleTargetParts[keyof ModuleTargetParts];

/** A value, or the same value negated as with iptables' `!`. */
export type Negatable<T> = T | { not: T };

/** Protocol names the library knows (as `-p` takes them), or an IP protocol number 0–255. */
export type ProtocolName =
  | 'all' | 'tcp' | 'udp' | 'udplite' | 'icmp' | 'icmpv6' | 'ipv6-icmp' | 'esp' | 'ah' | 'sctp' | 'mh' | 'gre';
export type Protocol = ProtocolName | number;

/** A single port or an inclusive range (`--dport 1024:65535` is `{ from: 1024, to: 65535 }`). */
export type PortSpec = number | { from: number; to: number };

export type TcpFlag = 'FIN' | 'SYN' | 'RST' | 'PSH' | 'ACK' | 'URG';

/** `--reject-with` types of IPv4 REJECT, as iptables-save prints them. */
export type Ipv4RejectWith =
  | 'icmp-net-unreachable' | 'icmp-host-unreachable' | 'icmp-port-unreachable' | 'icmp-proto-unreachable'
  | 'icmp-net-prohibited' | 'icmp-host-prohibited' | 'icmp-admin-prohibited' | 'tcp-reset';
/** `--reject-with` types of IPv6 REJECT, as ip6tables-save prints them. */
export type Ipv6RejectWith =
  | 'icmp6-no-route' | 'icmp6-adm-prohibited' | 'icmp6-addr-unreachable' | 'icmp6-port-unreachable'
  | 'icmp6-policy-fail' | 'icmp6-reject-route' | 'tcp-reset';
export type RejectWith = Ipv4RejectWith | Ipv6RejectWith;

/**
 * The connlimit match. `above: N` matches the (N+1)th parallel connection of a client;
 * `upTo: N` matches while a client holds at most N (iptables' `! --connlimit-above N`).
 */
export type Connlimit =
  | { kind: 'above'; count: number; maskBits?: number; key?: 'source' | 'destination' }
  | { kind: 'upTo'; count: number; maskBits?: number; key?: 'source' | 'destination' };

/** A match or target the library does not model, kept byte-for-byte as the kernel returned it. */
export interface OpaqueExtension {
  kind: 'opaque';
  name: string;
  revision: number;
  /** The extension's data after its 32-byte header. */
  data: Uint8Array;
}

export type Target =
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'return' }
  | { kind: 'queue' }
  | { kind: 'reject'; with?: RejectWith }
  | { kind: 'jump'; chain: string }
  | { kind: 'goto'; chain: string }
  | ModuleTarget
  | OpaqueExtension;

/**
 * A rule as a typed object; every field is optional, as every iptables option is.
 * `sport`/`dport`/`syn`/`tcpFlags`/`tcpOption` need `protocol: 'tcp'` (ports also `'udp'`).
 *
 * @example
 * { protocol: 'tcp', syn: true, dport: 22, connlimit: { kind: 'above', count: 2 }, target: { kind: 'reject' } }
 */
export interface RuleSpec {
  protocol?: Negatable<Protocol>;
  /** An address or CIDR (`10.0.0.0/8`, `2001:db8::/32`, `10.0.0.0/255.0.0.0`). No host names. */
  source?: Negatable<string>;
  destination?: Negatable<string>;
  /** An interface name; a trailing `+` matches every name with that prefix. */
  inInterface?: Negatable<string>;
  outInterface?: Negatable<string>;
  /** IPv4 only: `true` is `-f` (second and later fragments), `false` is `! -f`. */
  fragment?: boolean;
  sport?: Negatable<PortSpec>;
  dport?: Negatable<PortSpec>;
  /** `true` is `--syn`, `false` is `! --syn`. */
  syn?: boolean;
  /** `--tcp-flags MASK SET`. Use `syn` for the common `FIN,SYN,RST,ACK SYN`. */
  tcpFlags?: Negatable<{ mask: TcpFlag[]; set: TcpFlag[] }>;
  /** `--tcp-option N`. */
  tcpOption?: Negatable<number>;
  connlimit?: Connlimit;
  /** `-m comment --comment TEXT`, at most 255 bytes of UTF-8. */
  comment?: string;
  /**
   * More matches, in rule order after the slots above: the modules of src/rule/modules
   * (`{ kind: 'conntrack', ... }`, `{ kind: 'state', ... }`), and matches the library does not
   * model (from listings), kept and compared byte-for-byte.
   */
  matches?: (ModuleMatch | OpaqueExtension)[];
  /** No target: the rule only counts packets. */
  target?: Target;
}

/** A rule as a listing returns it. */
export interface ListedRule {
  chain: string;
  /** 1-based, as the CLI numbers rules. */
  position: number;
  rule: RuleSpec;
  /** The rule as `iptables-save` prints it, e.g. `-A INPUT -p tcp -m tcp --dport 22 ... -j REJECT ...`. */
  text: string;
  packets: bigint;
  bytes: bigint;
  /** On listed rules (not enumerable): JSON.stringify writes the counters as decimal strings. */
  toJSON?(): unknown;
}

export interface ListedChain {
  name: string;
  builtin: boolean;
  /** Built-in chains only. */
  policy: 'ACCEPT' | 'DROP' | null;
  packets: bigint;
  bytes: bigint;
  /** How many rules jump to this (user) chain. */
  references: number;
  rules: ListedRule[];
  /** On listed chains (not enumerable): JSON.stringify writes the counters as decimal strings. */
  toJSON?(): unknown;
}

/** Anything the rule-taking methods accept: iptables syntax, a typed object, or a listed rule. */
export type RuleInput = string | RuleSpec | ListedRule;
