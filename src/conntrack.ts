// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Conntrack: the connection tracking table of one network namespace, read and trimmed over
 * ctnetlink (libmnl), fork-free. TypeScript validates and normalizes filters; the addon
 * (native/core/ct/*) pushes what the running kernel can apply into the dump request, checks
 * every entry again in C++, and aggregates while decoding, all in the libuv pool.
 */
import { debuglog } from 'node:util';
import { binding } from './binding';
import { ClosedError, fromNative, invalid, ValidationError, type NativeErrorContext, type ValidationIssue } from './errors';
import type { NativeConntrack, NativeCtEntry, NativeCtFilter, NativeCtTuple, NativeRule } from './native-types';
import { maskToPrefix, parseAddress } from './rule/address';
import { toNativeRule } from './rule/index';
import { isProtocolName, protocolNumber, protocolWord } from './rule/names';
import type { Family, ListedRule, Negatable, PortSpec, Protocol, RuleSpec } from './rule/types';
import { snapshot } from './rule/snapshot';
import { describe } from './rule/validate';
import { ConntrackWatch, deliveryOptions, normalizeWatchOptions, type WatchOptions } from './conntrack-watch';
import { resolveNetns } from './netns';
import { quote } from './echo';

const debug = debuglog('connlimit');

/** TCP states as conntrack prints them (`enum tcp_conntrack`, include/uapi/linux/netfilter/nf_conntrack_tcp.h). */
export type TcpState =
  | 'NONE' | 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE_WAIT' | 'LAST_ACK' | 'TIME_WAIT' | 'CLOSE' | 'SYN_SENT2';
const TCP_STATES: readonly TcpState[] = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];

/** Status bits (`enum ip_conntrack_status`, include/uapi/linux/netfilter/nf_conntrack_common.h), by bit number. */
export type ConntrackStatus =
  | 'EXPECTED' | 'SEEN_REPLY' | 'ASSURED' | 'CONFIRMED' | 'SRC_NAT' | 'DST_NAT' | 'SEQ_ADJUST' | 'SRC_NAT_DONE'
  | 'DST_NAT_DONE' | 'DYING' | 'FIXED_TIMEOUT' | 'TEMPLATE' | 'NAT_CLASH' | 'HELPER' | 'OFFLOAD' | 'HW_OFFLOAD';
const STATUS_BITS: readonly ConntrackStatus[] = [
  'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED', 'SRC_NAT', 'DST_NAT', 'SEQ_ADJUST', 'SRC_NAT_DONE',
  'DST_NAT_DONE', 'DYING', 'FIXED_TIMEOUT', 'TEMPLATE', 'NAT_CLASH', 'HELPER', 'OFFLOAD', 'HW_OFFLOAD',
];

/** nf_conncount drops TCP entries in these states (`already_closed()` in net/netfilter/nf_conncount.c). */
const CONNCOUNT_CLOSED = (1 << 7) | (1 << 8); // TIME_WAIT, CLOSE
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]); // tcp udp dccp sctp udplite

/**
 * Which entries to take. Everything given must hold; addresses and ports are those of the
 * original direction (the connection as its initiator opened it), as connlimit sees them.
 */
export interface ConntrackFilter {
  /** Default: both. Implied by an address. */
  family?: Family;
  protocol?: Negatable<Protocol>;
  /** An address or CIDR ('10.1.2.3', '10.1.2.0/24', '2001:db8::/32'). */
  source?: Negatable<string>;
  destination?: Negatable<string>;
  /** A port or inclusive range; needs a protocol with ports (tcp, udp, udplite, sctp, dccp). */
  sport?: Negatable<PortSpec>;
  dport?: Negatable<PortSpec>;
  /** TCP state(s); entries of other protocols never match a state filter. */
  state?: TcpState | TcpState[];
  /** The connection mark: a value, or `{ value, mask }` for `(mark & mask) == value`. */
  mark?: number | { value: number; mask: number };
  /** Conntrack zone (0 is the default zone). */
  zone?: number;
  /** Entries with all these status bits set. */
  status?: ConntrackStatus | ConntrackStatus[];
  /**
   * Live connections only: skip TCP entries in TIME_WAIT and CLOSE, which the table keeps for
   * up to two minutes after a connection closed, as connlimit (nf_conncount) skips them.
   * Default false: every entry, as `conntrack -L` shows them.
   */
  live?: boolean;
}

/** One direction of a connection. ICMP entries carry type/code/id instead of ports. */
export interface ConntrackTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
}

/** One conntrack entry, as `conntrack -L` shows it. */
export interface ConntrackEntry {
  family: Family;
  /** Our protocol word ('tcp', 'udp', 'icmp', ...) or the number when there is none. */
  protocol: Protocol;
  /** The original direction (the connection as opened) and the expected reply. */
  orig: ConntrackTuple;
  reply: ConntrackTuple | null;
  /** TCP only. */
  state: TcpState | null;
  /** Seconds before the entry expires. */
  timeout: number | null;
  mark: number;
  zone: number;
  /** The kernel's id of the entry (CTA_ID). */
  id: number;
  status: ConntrackStatus[];
  /** Only when accounting is on (`net.netfilter.nf_conntrack_acct=1`). */
  counters: { origPackets: bigint; origBytes: bigint; replyPackets: bigint; replyBytes: bigint } | null;
}

/** {@link Conntrack.countBy}: a filter, and how to key the counts. */
export interface CountByOptions extends ConntrackFilter {
  /** Key by the original source (default) or destination address. */
  key?: 'source' | 'destination';
  /** Prefix length of IPv4 keys (default 32), or of IPv6 keys when `family` is 'ipv6' and `mask6` is absent. */
  mask?: number;
  /** Prefix length of IPv6 keys (default 128). */
  mask6?: number;
  /** Only the N largest counts (ties: lower address first). */
  top?: number;
}

/** {@link Conntrack.countFor}: one key's count next to the rule's limit. */
export interface RuleCount {
  /** Open connections conntrack shows for this key that the rule would count. */
  count: number;
  /** The rule's `--connlimit-above`/`--connlimit-upto` number. */
  limit: number;
  /** How many more new connections the rule would let through: `limit - count` (negative when over). */
  headroom: number;
}

export interface ConntrackOptions {
  /** A network namespace: a name under /run/netns or a path such as /proc/PID/ns/net. Default: the caller's own. */
  netns?: string;
}

export interface ListOptions {
  /** Entries per native batch (each batch is whole kernel messages, so a batch may be somewhat larger). Default 256. */
  batchSize?: number;
}


const FILTER_KEYS = ['family', 'protocol', 'source', 'destination', 'sport', 'dport', 'state', 'mark', 'zone', 'status', 'live'];

/**
 * A private copy of a caller's filter or options object, taken before anything reads it: a
 * getter or Proxy trap that throws becomes ERR_CONNLIMIT_INVALID naming the field instead of
 * escaping as a bare Error, and cannot answer differently to the validator and the encoder.
 * Arrays are refused: `[]` has no keys and would pass as the empty filter, which delete()
 * takes as "every entry".
 * @internal
 */
export function ownObject<T>(value: T, path: string): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(path, `must be an object, got ${describe(value)}`);
  return snapshot(value, path);
}

/** The rule of countFor/watchFor: iptables syntax, a spec, or a listed rule's spec (copied first, as above). */
function ruleInput(rule: string | RuleSpec | ListedRule): string | RuleSpec {
  const r = typeof rule === 'object' && rule !== null ? snapshot(rule, 'rule') : rule;
  return typeof r === 'object' && r !== null && 'text' in r && 'rule' in r ? (r as ListedRule).rule : (r as string | RuleSpec);
}

function unwrap<T>(v: Negatable<T>): { value: T; not: boolean } {
  if (typeof v === 'object' && v !== null && 'not' in (v as object) && Object.keys(v as object).length === 1) {
    return { value: (v as { not: T }).not, not: true };
  }
  return { value: v as T, not: false };
}

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function familyCode(f: Family | undefined): 0 | 2 | 10 {
  return f === 'ipv4' ? 2 : f === 'ipv6' ? 10 : 0;
}

/**
 * Validate a filter and normalize it for the addon. Collects every problem (with its field
 * path) before throwing, and touches no kernel.
 * @internal
 */
export function toNativeFilter(filter: ConntrackFilter, allowed: readonly string[] = FILTER_KEYS): NativeCtFilter {
  const issues: ValidationIssue[] = [];
  const bad = (p: string, message: string) => issues.push({ path: p, message });
  filter = ownObject(filter, 'filter');
  for (const k of Object.keys(filter)) if (!allowed.includes(k)) bad(k, `unknown filter field (known: ${allowed.join(', ')})`);

  const out: NativeCtFilter = {
    family: 0, protocol: -1, invertProtocol: false, src: null, dst: null, sport: null, dport: null,
    tcpStates: 0, tcpStatesExcluded: 0, mark: null, zone: null, status: null,
  };
  let family: Family | undefined;
  if (filter.family !== undefined) {
    if (filter.family !== 'ipv4' && filter.family !== 'ipv6') bad('family', `must be 'ipv4' or 'ipv6', got ${describe(filter.family)}`);
    else family = filter.family;
  }

  if (filter.protocol !== undefined) {
    const { value, not } = unwrap(filter.protocol);
    let num: number | undefined;
    if (typeof value === 'number') num = Number.isInteger(value) && value >= 0 && value <= 255 ? value : undefined;
    else if (typeof value === 'string') num = isProtocolName(value) ? protocolNumber(value) : undefined;
    if (num === undefined) bad('protocol', `must be a protocol name ('tcp', 'udp', ...) or a number 0-255, got ${describe(value)}`);
    else if (num === 0) {
      if (not) bad('protocol', "'! all' matches nothing");
    } else {
      out.protocol = num;
      out.invertProtocol = not;
    }
  }

  for (const field of ['source', 'destination'] as const) {
    const raw = filter[field];
    if (raw === undefined) continue;
    const { value, not } = unwrap(raw);
    if (typeof value !== 'string') {
      bad(field, `must be an address or CIDR string, got ${describe(value)}`);
      continue;
    }
    const inferred: Family = family ?? (value.includes(':') ? 'ipv6' : 'ipv4');
    const parsed = parseAddress(value, inferred);
    if ('error' in parsed) {
      bad(field, parsed.error);
      continue;
    }
    const prefix = maskToPrefix(parsed.mask);
    if (prefix < 0) {
      bad(field, `${quote(value)}: the mask is not a prefix (its ones are not contiguous)`);
      continue;
    }
    if (family !== undefined && family !== inferred) bad(field, `${quote(value)} is not an ${family} address`);
    family = inferred;
    out[field === 'source' ? 'src' : 'dst'] = { addr: parsed.addr, prefix, invert: not };
  }
  if (out.src && out.dst && out.src.addr.length !== out.dst.addr.length) bad('destination', 'source and destination are of different families');
  out.family = familyCode(family);

  for (const field of ['sport', 'dport'] as const) {
    const raw = filter[field];
    if (raw === undefined) continue;
    const { value, not } = unwrap(raw);
    const port = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 65535;
    let range: [number, number] | null = null;
    if (typeof value === 'number' && port(value)) range = [value, value];
    else if (typeof value === 'object' && value !== null && port((value as { from: number }).from) && port((value as { to: number }).to)) {
      const r = value as { from: number; to: number };
      if (r.from > r.to) bad(field, `range ${r.from}-${r.to} is empty (from > to)`);
      range = [r.from, r.to];
    } else bad(field, `must be a port 0-65535 or { from, to }, got ${describe(value)}`);
    if (out.protocol < 0 || out.invertProtocol || !PORT_PROTOCOLS.has(out.protocol)) {
      bad(field, 'ports need protocol tcp, udp, udplite, sctp or dccp');
    }
    if (range) out[field] = [range[0], range[1], not];
  }

  if (filter.state !== undefined) {
    const states = Array.isArray(filter.state) ? filter.state : [filter.state];
    if (states.length === 0) bad('state', 'an empty list matches nothing');
    states.forEach((s, i) => {
      const bit = TCP_STATES.indexOf(s);
      if (bit < 0) bad(Array.isArray(filter.state) ? `state[${i}]` : 'state', `must be one of ${TCP_STATES.join(', ')}, got ${describe(s)}`);
      else out.tcpStates |= 1 << bit;
    });
    if (out.protocol >= 0 && (out.protocol !== 6 || out.invertProtocol)) bad('state', 'TCP states need protocol tcp');
  }

  if (filter.mark !== undefined) {
    const m = filter.mark;
    if (isU32(m)) out.mark = [m, 0xffffffff];
    else if (typeof m === 'object' && m !== null && isU32(m.value) && isU32(m.mask)) {
      if ((m.value & ~m.mask) >>> 0 !== 0) bad('mark.value', 'has bits outside the mask: it can never match');
      out.mark = [m.value >>> 0, m.mask >>> 0];
    } else bad('mark', `must be a 32-bit unsigned integer or { value, mask }, got ${describe(m)}`);
  }

  if (filter.zone !== undefined) {
    if (!Number.isInteger(filter.zone) || filter.zone < 0 || filter.zone > 65535) bad('zone', `must be an integer 0-65535, got ${describe(filter.zone)}`);
    else out.zone = filter.zone;
  }

  if (filter.status !== undefined) {
    const list = Array.isArray(filter.status) ? filter.status : [filter.status];
    let bits = 0;
    list.forEach((s, i) => {
      const bit = STATUS_BITS.indexOf(s);
      if (bit < 0) bad(Array.isArray(filter.status) ? `status[${i}]` : 'status', `must be one of ${STATUS_BITS.join(', ')}, got ${describe(s)}`);
      else bits |= 1 << bit;
    });
    if (bits) out.status = [bits >>> 0, bits >>> 0];
  }

  if (filter.live !== undefined) {
    if (typeof filter.live !== 'boolean') bad('live', `must be a boolean, got ${describe(filter.live)}`);
    else if (filter.live) out.tcpStatesExcluded = CONNCOUNT_CLOSED;
  }

  if (issues.length) throw new ValidationError(issues);
  return out;
}

function tuple(t: NativeCtTuple): ConntrackTuple {
  return t;
}

function toEntry(n: NativeCtEntry): ConntrackEntry {
  const status: ConntrackStatus[] = [];
  for (let i = 0; i < STATUS_BITS.length; i++) if (n.status & (1 << i)) status.push(STATUS_BITS[i]!);
  return {
    family: n.family,
    protocol: protocolWord(n.protocol) ?? n.protocol,
    orig: tuple(n.orig),
    reply: n.reply ? tuple(n.reply) : null,
    state: n.tcpState === null ? null : (TCP_STATES[n.tcpState] ?? 'NONE'),
    timeout: n.timeout,
    mark: n.mark,
    zone: n.zone,
    id: n.id,
    status,
    counters: n.counters,
  };
}

/** @internal */
export function prefixOption(v: unknown, field: string, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) invalid(field, `must be a prefix length 0-${max}, got ${describe(v)}`);
  return v as number;
}

/**
 * The conntrack table of one network namespace. Open with {@link Conntrack.open}; every method
 * runs its kernel work off the JS thread.
 *
 * @example
 * const ct = await Conntrack.open({ netns: 'edge' });
 * const perNet = await ct.countBy({ key: 'source', mask: 24, protocol: 'tcp', dport: 80 });
 * await ct.close();
 */
export class Conntrack {
  /** The namespace file path, or null for the caller's own namespace. */
  readonly netns: string | null;
  private readonly native: NativeConntrack;
  private closed = false;

  private constructor(netnsPath: string | null) {
    this.netns = netnsPath;
    this.native = new (binding().Conntrack)({ netnsPath });
  }

  /**
   * Open the table: enters the namespace off the main thread, creates a ctnetlink socket there
   * and checks that the kernel answers.
   * @throws {ERR_CONNLIMIT_INVALID} bad options, a netns path that is not a network namespace
   * @throws {ERR_CONNLIMIT_PERMISSION} no CAP_NET_ADMIN in the namespace
   * @throws {ERR_CONNLIMIT_NOT_FOUND} no such namespace
   * @throws {ERR_CONNLIMIT_UNSUPPORTED} ctnetlink is missing (`modprobe nf_conntrack_netlink`)
   * @example const ct = await Conntrack.open({ netns: 'edge' });
   */
  static async open(options: ConntrackOptions = {}): Promise<Conntrack> {
    options = ownObject(options, 'options');
    for (const k of Object.keys(options)) if (k !== 'netns') invalid(k, 'unknown option (known: netns)');
    const ct = new Conntrack(resolveNetns(options.netns));
    try {
      await ct.native.open();
    } catch (e) {
      ct.native.close();
      throw fromNative(e, ct.context());
    }
    return ct;
  }

  /**
   * How many entries the table holds (both families), from one stats request: no dump, so it
   * costs the same for 10 entries or a million (`conntrack -C`).
   * @throws {ERR_CONNLIMIT_CLOSED} after close()
   * @example await ct.count(); // 1234
   */
  async count(): Promise<number> {
    return (await this.call(() => this.native.count())).entries;
  }

  /**
   * Entries that match `filter`, as an async iterator fed by native batches: only a batch at a
   * time exists as JS objects. Filter problems throw here, before the kernel is asked. Each
   * listing has its own socket; breaking out of the loop closes it.
   * A listing interrupted by concurrent table changes (NLM_F_DUMP_INTR) throws
   * ERR_CONNLIMIT_BUSY rather than end silently short.
   * @throws {ERR_CONNLIMIT_INVALID} a bad filter (`path` names the field)
   * @example for await (const e of ct.list({ protocol: 'tcp', dport: 80, state: 'ESTABLISHED' })) console.log(e.orig.src);
   */
  list(filter: ConntrackFilter = {}, options: ListOptions = {}): AsyncIterableIterator<ConntrackEntry> {
    const nf = toNativeFilter(filter);
    options = ownObject(options, 'options');
    for (const k of Object.keys(options)) if (k !== 'batchSize') invalid(k, 'unknown option (known: batchSize)');
    const batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000) invalid('batchSize', 'must be an integer 1-1000000');
    this.assertOpen();
    return this.iterate(nf, batchSize);
  }

  /** Everything {@link Conntrack.list} yields, in one array. Same errors. */
  async toArray(filter: ConntrackFilter = {}): Promise<ConntrackEntry[]> {
    const out: ConntrackEntry[] = [];
    for await (const e of this.list(filter, { batchSize: 4096 })) out.push(e);
    return out;
  }

  /**
   * Count matching entries per address key, aggregated in C++ while the dump is decoded (memory
   * grows with the number of keys, not of entries). Keys are CIDR strings ('10.1.2.0/24'); a
   * full-width mask gives the plain address. The Map is ordered by count, largest first.
   * @throws {ERR_CONNLIMIT_INVALID} a bad filter, key, mask or top
   * @throws {ERR_CONNLIMIT_BUSY} the table kept changing during the dump (retried 3 times first)
   * @example await ct.countBy({ key: 'source', mask: 24, protocol: 'tcp', dport: 80 }); // Map { '10.1.2.0/24' => 7 }
   */
  async countBy(options: CountByOptions = {}): Promise<Map<string, number>> {
    options = ownObject(options, 'options');
    const { key = 'source', mask, mask6, top, ...filter } = options;
    if (key !== 'source' && key !== 'destination') invalid('key', `must be 'source' or 'destination', got ${describe(key)}`);
    const nf = toNativeFilter(filter);
    const v6only = nf.family === 10;
    const prefix4 = v6only ? 32 : prefixOption(mask, 'mask', 32, 32);
    const prefix6 = prefixOption(mask6 ?? (v6only ? mask : undefined), mask6 === undefined && v6only ? 'mask' : 'mask6', 128, 128);
    if (top !== undefined && (!Number.isInteger(top) || top < 1 || top > 0xffffffff)) invalid('top', `must be a positive integer, got ${describe(top)}`);
    const r = await this.call(() => this.native.countBy(nf, key, prefix4, prefix6, top ?? 0));
    const out = new Map<string, number>();
    for (let i = 0; i < r.keys.length; i += 2) out.set(r.keys[i] as string, r.keys[i + 1] as number);
    return out;
  }

  /**
   * What a connlimit rule would count, per key, from conntrack: the rule's protocol, ports and
   * addresses as the filter, its `--connlimit-mask` and saddr/daddr as the key, TCP entries in
   * TIME_WAIT and CLOSE skipped as nf_conncount does. Each key comes with the rule's limit and
   * the headroom left.
   *
   * This is the userspace view, not the kernel's private per-rule count (NETFILTER-NOTES.md
   * §6.3): the kernel counts only connections whose packets went through that rule, so it
   * misses connections opened before the rule existed or before the last legacy commit (every
   * legacy commit resets the counts), those accepted by an earlier rule, and entries made with
   * `conntrack -I`, all of which conntrack shows; it prunes dead connections lazily, so it can
   * briefly count more; with DNAT before the rule a `--connlimit-daddr` rule sees the
   * translated address where we key by the original destination; and this is a snapshot, racy
   * against new connections. Interface, TCP flag and other matches of the rule are ignored.
   *
   * @param rule iptables syntax, a typed {@link RuleSpec}, or a listed rule; it must have a connlimit match
   * @param options.family the rule's family (default 'ipv4')
   * @throws {ERR_CONNLIMIT_INVALID} a malformed rule, or one without connlimit
   * @example await ct.countFor('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT'); // Map { '10.0.0.7' => { count: 2, limit: 2, headroom: 0 } }
   */
  async countFor(rule: string | RuleSpec | ListedRule, options: { family?: Family } = {}): Promise<Map<string, RuleCount>> {
    options = ownObject(options, 'options');
    for (const k of Object.keys(options)) if (k !== 'family') invalid(k, 'unknown option (known: family)');
    const family = options.family ?? 'ipv4';
    const input = ruleInput(rule);
    const native = toNativeRule(input, family);
    const { filter, key, prefix, limit } = ruleFilter(native, family);
    const r = await this.call(() => this.native.countBy(filter, key, family === 'ipv4' ? prefix : 32, family === 'ipv6' ? prefix : 128, 0));
    const out = new Map<string, RuleCount>();
    for (let i = 0; i < r.keys.length; i += 2) {
      const count = r.keys[i + 1] as number;
      out.set(r.keys[i] as string, { count, limit, headroom: limit - count });
    }
    return out;
  }

  /**
   * Delete the entries that match `filter` and return how many were removed.
   *
   * Kernel-side in one request where the kernel can apply the whole filter: a family, full
   * addresses, a protocol, single ports (CTA_FILTER) and the mark, none of them negated. Then a
   * kernel-filtered dump counts the matches and one filtered IPCTNL_MSG_CT_DELETE removes them
   * (observed on Linux 6.18; a kernel whose flush does not take CTA_FILTER refuses it, and the
   * call falls back as below). The kernel's ack carries no count: the number returned is what
   * the dump matched an instant before, so an entry that appears or expires in between is
   * deleted or not without being counted.
   *
   * Every other filter (CIDRs, port ranges, negations, TCP states, zone, status, or no family)
   * is applied to a kernel-filtered dump in C++, and the matches are deleted by tuple, zone and
   * entry id, many per message batch; the count is exact, and an entry that reused a tuple
   * since the dump is left alone. An empty filter deletes every entry, as `conntrack -F` does.
   * @throws {ERR_CONNLIMIT_INVALID} a bad filter
   * @example await ct.delete({ source: '10.1.2.3', protocol: 'tcp', dport: 22 }); // 3
   */
  async delete(filter: ConntrackFilter): Promise<number> {
    if (filter === undefined) invalid('filter', 'give a filter ({} deletes every entry)');
    const nf = toNativeFilter(filter);
    const r = await this.call(() => this.native.delete(nf));
    debug('delete %j: %d deleted (%s), %d vanished', filter, r.deleted, r.kernelSide ? 'one kernel flush' : 'by tuple', r.vanished);
    return r.deleted;
  }

  /**
   * Whether the namespace this handle opened is no longer the one its `netns` names (deleted,
   * or the name given to a new namespace): then every call rejects with
   * ERR_CONNLIMIT_NETNS_GONE and watches end with that 'error'. As Firewall.netnsChanged().
   * @throws {ERR_CONNLIMIT_CLOSED} after close()
   */
  netnsChanged(): Promise<boolean> {
    return this.call(() => this.native.netnsChanged());
  }

  /** Release the socket. Idempotent; later calls fail with ERR_CONNLIMIT_CLOSED. Calls in flight finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('the conntrack handle');
  }

  /**
   * A live watch of per-key counts (see {@link ConntrackWatch}): subscribes to conntrack events
   * first, then dumps, so nothing opened during start-up is missed or counted twice. It has a
   * thread and sockets of its own and outlives this object's close(); close it itself.
   * @throws {ERR_CONNLIMIT_INVALID} a bad filter or option (kernel errors come as 'error' and from `ready`)
   * @example const watch = ct.watch({ protocol: 'tcp', dport: 22, threshold: 10 }); await watch.ready;
   */
  watch(options: WatchOptions = {}): ConntrackWatch {
    this.assertOpen();
    return new ConntrackWatch(this.netns, normalizeWatchOptions(this.netns, options));
  }

  /**
   * A live watch of what a connlimit rule counts, per key (see {@link Conntrack.countFor} for
   * how that view relates to the kernel's private count): the rule's filter, mask and
   * saddr/daddr, TCP entries leaving for TIME_WAIT/CLOSE uncounted as they go. `threshold`
   * defaults to the rule's limit, so 'above' fires when a client holds more than the rule allows.
   * @throws {ERR_CONNLIMIT_INVALID} a malformed rule, one without connlimit, or a bad option
   * @example const watch = ct.watchFor('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT');
   */
  watchFor(
    rule: string | RuleSpec | ListedRule,
    options: { family?: Family; threshold?: number; receiveBuffer?: number; reconcileMs?: number } = {},
  ): ConntrackWatch {
    this.assertOpen();
    const raw = options;
    options = ownObject(options, 'options');
    const known = ['family', 'threshold', 'receiveBuffer', 'reconcileMs'];
    for (const k of Object.keys(options)) if (!known.includes(k)) invalid(k, `unknown option (known: ${known.join(', ')})`);
    const family = options.family ?? 'ipv4';
    const input = ruleInput(rule);
    const { filter, key, prefix, limit } = ruleFilter(toNativeRule(input, family), family);
    const delivery = deliveryOptions({ threshold: options.threshold ?? (limit > 0 ? limit : undefined), receiveBuffer: options.receiveBuffer, reconcileMs: options.reconcileMs }, raw);
    return new ConntrackWatch(
      this.netns,
      { netns: this.netns, filter, key, mask4: family === 'ipv4' ? prefix : 32, mask6: family === 'ipv6' ? prefix : 128, updates: true, ...delivery },
      limit,
    );
  }

  private context(): NativeErrorContext {
    return { netns: this.netns };
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await work();
    } catch (e) {
      throw fromNative(e, this.context());
    }
  }

  private async *iterate(filter: NativeCtFilter, batchSize: number): AsyncGenerator<ConntrackEntry> {
    const list = new (binding().ConntrackList)(this.native, filter, batchSize);
    try {
      for (;;) {
        let batch: NativeCtEntry[] | null;
        try {
          batch = await list.next();
        } catch (e) {
          throw fromNative(e, this.context());
        }
        if (batch === null) return;
        for (const n of batch) yield toEntry(n);
      }
    } finally {
      list.close();
    }
  }
}

/** A connlimit rule as conntrack filter, key and limit (NETFILTER-NOTES.md §6.3). */
function ruleFilter(rule: NativeRule, family: Family) {
  const cl = rule.matches.find((m) => m.kind === 'connlimit');
  if (!cl || cl.kind !== 'connlimit') invalid('rule', 'has no connlimit match (-m connlimit)');
  const width = family === 'ipv4' ? 32 : 128;
  const filter: NativeCtFilter = {
    family: familyCode(family), protocol: -1, invertProtocol: false, src: null, dst: null, sport: null, dport: null,
    tcpStates: 0, tcpStatesExcluded: CONNCOUNT_CLOSED, mark: null, zone: null, status: null,
  };
  if (rule.protocol !== 0) {
    filter.protocol = rule.protocol;
    filter.invertProtocol = rule.invProtocol;
  }
  for (const [from, to] of [['src', rule.src], ['dst', rule.dst]] as const) {
    if (!from || !to) continue;
    const prefix = maskToPrefix(to.mask);
    if (prefix < 0) invalid(from === 'src' ? 'source' : 'destination', 'a non-contiguous mask cannot be a conntrack filter');
    if (prefix === 0 && !to.invert) continue;
    filter[from] = { addr: to.addr, prefix, invert: to.invert };
  }
  for (const m of rule.matches) {
    if (m.kind !== 'tcp' && m.kind !== 'udp') continue;
    const any = (r: [number, number], inv: boolean) => r[0] === 0 && r[1] === 65535 && !inv;
    if (!any(m.sport, m.invSport)) filter.sport = [m.sport[0], m.sport[1], m.invSport];
    if (!any(m.dport, m.invDport)) filter.dport = [m.dport[0], m.dport[1], m.invDport];
  }
  return { filter, key: cl.daddr ? ('destination' as const) : ('source' as const), prefix: cl.maskBits ?? width, limit: cl.limit };
}
