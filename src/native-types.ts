// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The private interface of the raw addon (build/Release/connlimit.node).
 *
 * Everything here is the normalized, validated form that crosses into C++: TypeScript owns
 * user syntax and validation (src/rule/*), C++ owns kernel structs, sizes and alignment
 * (native/core/*). Public types live in src/rule/types.ts; nothing here is exported from
 * the package.
 */

/** An address with its mask, as `struct ipt_ip`/`ip6t_ip6` hold them: 4 bytes (IPv4) or 16 (IPv6). */
export interface NativeAddress {
  /** Already masked (`-s 10.1.2.3/24` is stored as 10.1.2.0, as the CLI does). */
  addr: Buffer;
  mask: Buffer;
  invert: boolean;
}

/** `-i`/`-o`: `eth+` is `{ name: 'eth', wildcard: true }`. */
export interface NativeInterface {
  name: string;
  wildcard: boolean;
  invert: boolean;
}

/** An inclusive port range in host order; `[0, 65535]` means "any". */
export type NativePortRange = [number, number];

export type NativeMatch =
  /** struct xt_tcp; flag bits as in the kernel (FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20). */
  | {
      kind: 'tcp';
      sport: NativePortRange;
      dport: NativePortRange;
      /** --tcp-option N, 0 = none. */
      option: number;
      flagMask: number;
      flagCompare: number;
      invSport: boolean;
      invDport: boolean;
      invFlags: boolean;
      invOption: boolean;
    }
  /** struct xt_udp. */
  | { kind: 'udp'; sport: NativePortRange; dport: NativePortRange; invSport: boolean; invDport: boolean }
  /**
   * struct xt_connlimit_info, revision 1. `invert` is XT_CONNLIMIT_INVERT (i.e. --connlimit-upto),
   * `daddr` is XT_CONNLIMIT_DADDR. `maskBits` null means no --connlimit-mask was given: the
   * CLI then writes 16 bytes of 0xFF, which for IPv4 differs from an explicit /32
   * (NETFILTER-NOTES.md §1.4); we keep the two spellings apart so bytes match the CLI's.
   */
  | { kind: 'connlimit'; limit: number; invert: boolean; daddr: boolean; maskBits: number | null }
  /** struct xt_comment_info: at most 255 bytes of UTF-8. */
  | { kind: 'comment'; comment: string }
  /**
   * A match we don't model, kept byte-for-byte (its data after the 32-byte xt_entry_match header).
   * `sets`: the ipset sets whose kernel indexes the data holds (src/rule/set-refs.ts), JS only.
   */
  | { kind: 'opaque'; name: string; revision: number; data: Buffer; sets?: string[] };

export type NativeTarget =
  /** No -j: the rule only counts. */
  | { kind: 'none' }
  | { kind: 'verdict'; verdict: 'ACCEPT' | 'DROP' | 'RETURN' | 'QUEUE' }
  | { kind: 'jump'; chain: string }
  /** -g CHAIN (IPT_F_GOTO / IP6T_F_GOTO). */
  | { kind: 'goto'; chain: string }
  /** REJECT; `with` is the name iptables-save prints, e.g. 'icmp-port-unreachable', 'tcp-reset', 'icmp6-adm-prohibited'. */
  | { kind: 'reject'; with: string }
  /** `sets`: as a match's (`-j SET`), JS only. */
  | { kind: 'opaque'; name: string; revision: number; data: Buffer; sets?: string[] };

/** One rule in the normalized form. Matches keep their command-line order (it is part of the rule's bytes). */
export interface NativeRule {
  /** IP protocol number; 0 = any (`-p all` or no -p). */
  protocol: number;
  invProtocol: boolean;
  src: NativeAddress | null;
  dst: NativeAddress | null;
  inInterface: NativeInterface | null;
  outInterface: NativeInterface | null;
  /** IPv4 only: -f (true) / ! -f (false) / absent (null). Always null for IPv6. */
  fragment: boolean | null;
  matches: NativeMatch[];
  target: NativeTarget;
}

/** One change inside a commit. Positions are 0-based here (the public API is 1-based, as the CLI). */
export type NativeOp =
  | { op: 'append'; chain: string; rule: NativeRule }
  | { op: 'insert'; chain: string; index: number; rule: NativeRule }
  | { op: 'replace'; chain: string; index: number; rule: NativeRule }
  /** Delete the first rule equal in meaning (not bytes) to `rule`; ENOENT when there is none. */
  | { op: 'delete'; chain: string; rule: NativeRule }
  | { op: 'deleteAt'; chain: string; index: number }
  /** Append unless a rule equal in meaning is already in the chain. */
  | { op: 'ensure'; chain: string; rule: NativeRule }
  /** chain null: every chain of the table. */
  | { op: 'flush'; chain: string | null }
  | { op: 'zero'; chain: string | null }
  | { op: 'createChain'; chain: string }
  | { op: 'deleteChain'; chain: string }
  | { op: 'renameChain'; chain: string; to: string }
  | { op: 'setPolicy'; chain: string; policy: 'ACCEPT' | 'DROP' }
  /**
   * Legacy only, for restore, which then plans without reading the table (the commit's read is
   * the only one): every user chain deleted, after a flush of every chain in the same commit.
   */
  | { op: 'deleteUserChains'; chain: null }
  /** Legacy only, for restore --noflush: the chain created when the table lacks it, else flushed. */
  | { op: 'declareChain'; chain: string };

/**
 * What each op of a commit did, as flat pairs: `[changed, index]` per op. `changed` is 0 for an
 * ensure that found its rule, else 1; `index` is where a rule went or was found (0-based), -1
 * for an append. Flat, so a 10k-op commit settles with one allocation on the main thread.
 */
export type NativeOpResults = Int32Array;

/**
 * The ops of one commit, packed into bytes by src/op-pack.ts (written a slice at a time, so the
 * caller can yield to the event loop between slices) and decoded by the addon in the libuv pool.
 */
export type PackedOps = Uint8Array;

/** One rule packed by src/op-pack.ts packRule, as check() and sameRule() take it. */
export type PackedRule = Uint8Array;

export interface NativeListedRule {
  rule: NativeRule;
  packets: bigint;
  bytes: bigint;
}

export interface NativeChain {
  name: string;
  builtin: boolean;
  /** 'ACCEPT' | 'DROP' for built-in chains, null for user chains. */
  policy: string | null;
  /** Policy counters of a built-in chain (0 for user chains). */
  packets: bigint;
  bytes: bigint;
  /** How many rules jump to this user chain. */
  references: number;
  rules: NativeListedRule[];
}

export interface NativeLegacyTableOptions {
  family: 'ipv4' | 'ipv6';
  table: string;
  /** A path to a network namespace file (/run/netns/NAME, /proc/PID/ns/net), or null for the caller's own. */
  netnsPath: string | null;
  /** The xtables lock file, as `iptables -w` takes it. */
  lockPath: string;
  /** How long a write waits for the lock before failing with EWOULDBLOCK (op 'xtables lock'). */
  lockTimeoutMs: number;
}

/** The error shape native code rejects with (native/js/errors.cc); src/errors.ts gives it meaning. */
/**
 * What a native failure is about, as the native code that made it says (native/core/error_kind.h,
 * named in native/js/errors.cc). src/errors.ts maps each to its class; code decides on the kind
 * and the errno, never on the op.
 */
export type NativeErrorKind =
  /** Nothing beyond the errno (EPERM, EEXIST, EMLINK, ENOTEMPTY, ... say it all). */
  | 'none'
  /** The handle was closed before the call. */
  | 'closed'
  /** The netns path names something that is no network namespace (found without opening it). */
  | 'netnsPathInvalid'
  /** The xtables lock path names something that is no regular file. */
  | 'lockPathInvalid'
  /** Opening the netns file failed. */
  | 'netnsOpen'
  /** setns(2) into the namespace failed. */
  | 'netnsEnter'
  /** The path no longer names the namespace the handle opened (ENOENT: deleted, ESTALE: another one now). */
  | 'netnsGone'
  /** Opening or taking the xtables lock failed (EWOULDBLOCK: still held at the timeout). */
  | 'xtablesLock'
  /** Reading a legacy table failed (iptc_init). */
  | 'tableInit'
  /** The kernel refused a legacy table replace (iptc_commit). */
  | 'legacyCommit'
  /** An nf_tables socket or its generation-id request failed. */
  | 'nftSocket'
  /** The kernel refused an nf_tables batch: on a message other than a rule, or as a whole. */
  | 'nftCommit'
  /** The kernel refused a rule message of an nf_tables batch. */
  | 'nftCommitRule'
  /** The nf_tables table has the 'owner' flag and another socket owns it. */
  | 'tableOwned'
  /** The chain an op names does not exist. */
  | 'chainNotFound'
  /** No rule in the chain matches the one an op names. */
  | 'ruleNotFound'
  /** No rule at the position an op names. */
  | 'positionNotFound'
  /** Opening a ctnetlink socket failed. */
  | 'ctSocket'
  /** A ctnetlink request failed: sending, receiving, or the kernel's answer. */
  | 'conntrack'
  /** The conntrack table kept changing during a dump. */
  | 'ctDumpInterrupted'
  /** Bytes from the kernel that do not read as they must. */
  | 'malformed'
  /** An ipset socket could not be opened, or a send or receive on it failed. */
  | 'ipsetSocket'
  /** The kernel refused the PROTOCOL request every ipset session starts with. */
  | 'ipsetHandshake'
  /** The kernel refused the TYPE query for a set type (detail: the type). */
  | 'ipsetType'
  /** The kernel refused a request about a set (detail: the set). */
  | 'ipset'
  /** ... a delete of elements (IPSET_ERR_EXIST there: the element is absent). */
  | 'ipsetDelete'
  /** ... a swap (IPSET_ERR_EXIST_SETNAME2 there: the second set is absent). */
  | 'ipsetSwap'
  | 'nftSet'
  | 'nftSetElement'
  /** A native-form rule would land in a table after the first, which can't see the client set it names (detail: the set). */
  | 'setOutsideTable'
  /** A native-form rule's hashlimit meter is named as another meter of its table (detail: the name). */
  | 'meterNameTaken';

export interface NativeErrorShape extends Error {
  /** Positive errno. */
  errno: number;
  /** What the failure is about: the only fact besides the errno that decides its class. */
  kind: NativeErrorKind;
  /** What failed, for people: 'iptc_init', 'iptc_commit', 'xtables lock', 'setns', 'netns gone', 'chain', ... */
  op: string;
  /** Extra facts: the chain or path concerned, libiptc's own text. */
  detail: string;
  /** For failures inside a commit: which op (0-based) of the batch failed. */
  opIndex?: number;
}

/**
 * One table in one family and network namespace, whichever backend writes it: what
 * src/firewall.ts drives (native/js/table_wrap.h). Every method runs in the libuv pool.
 */
export interface NativeTable {
  /** Enter the namespace once, check that the table can be read (permissions, kernel support). */
  open(): Promise<void>;
  /** Apply every op of the batch in one commit, all or nothing (legacy: under the xtables lock; nf_tables: one batch). */
  commit(ops: PackedOps): Promise<NativeOpResults>;
  /**
   * Read the table. Takes no lock (a libiptc read is a consistent snapshot). `chainsOnly`: the
   * chains without their rules (and, on nf_tables, references 0), for callers that plan from
   * the chains alone (restore): decoding 10,000 rules costs ~150 ms (legacy) to ~400 ms (nft).
   */
  list(chainsOnly?: boolean): Promise<NativeChain[]>;
  /** 0-based index of the first rule equal in meaning, or -1. */
  check(chain: string, rule: PackedRule): Promise<number>;
  /** Close the namespace fd. Idempotent; later calls reject with op 'closed'. */
  close(): void;
  /** A decimal number that changes whenever the table may have (nf_tables: the generation id; legacy: a hash of its entries without counters). */
  version(): Promise<string>;
  /** Whether the netns path now names another namespace or nothing (false without a netns). */
  netnsChanged(): Promise<boolean>;
  /** The opened namespace's identity ("dev:ino" of its nsfs inode), or "" for the caller's own (or before open()); no I/O. */
  netnsId(): string;
}

/**
 * A restore's table replace staged while its ops are packed (native/core/legacy/staged_image.h):
 * an opaque handle, freed by the garbage collector.
 */
export type NativeStagedReplace = { readonly __brand: 'NativeStagedReplace' };

/** LegacyTable: a commit that empties the table can also be staged, its ops handed over slice by slice. */
export interface NativeLegacyTable extends NativeTable {
  /** A staged replace of `table` (this handle's), empty, with room for `rules` rules' entries. */
  stageReplace(table: string, rules: number): NativeStagedReplace;
  /** Whole ops `packed[from, to)` of a batch packed from its start (from ≥ 2, past the header), applied in the pool meanwhile. */
  stageOps(staged: NativeStagedReplace, packed: Uint8Array, from: number, to: number): void;
  /** As commit() of the whole batch staged (which must start by emptying the table: flush, deleteUserChains). */
  commitStaged(staged: NativeStagedReplace): Promise<NativeOpResults>;
}

/** What each backend holds for one table in one namespace (native/core/backend_probe). */
export interface NativeBackendUsage {
  /** The x_tables table exists (listed in /proc/net/ip{,6}_tables_names of the namespace). */
  legacyTable: boolean;
  /** Its rules plus its user chains. */
  legacyRules: number;
  /** The iptables-nft table exists in nf_tables. */
  nftTable: boolean;
  nftRules: number;
}

/** One table in nf_tables as iptables-nft writes it (family ip/ip6), backend 'nft': a {@link NativeTable} and more. */
export interface NativeIptablesNftTable extends NativeTable {
  /** Read-only probe of both backends, for `backend: 'auto'`. */
  usage(): Promise<NativeBackendUsage>;
  /** Test only: commit with a stale generation id in the first `staleAttempts` attempts; resolves to the attempts made. */
  _commitStale(ops: PackedOps, staleAttempts: number): Promise<number>;
  /** The netlink port id of the handle's socket (0 before its first call): ruleset notifications of its commits carry it. */
  port(): number;
  /** The generation id the handle's last commit produced, as the kernel echoed it; 0 when unknown. */
  committedGeneration(): number;
}

export interface NativeIptablesNftTableOptions {
  family: 'ipv4' | 'ipv6';
  table: string;
  netnsPath: string | null;
  /** How long a commit keeps retrying while other writers keep changing the ruleset. */
  lockTimeoutMs: number;
}

export interface NativeBinding {
  LegacyTable: new (options: NativeLegacyTableOptions) => NativeLegacyTable;
  /** nf_tables as iptables-nft writes it; no lock (batches are atomic, the generation id guards them). */
  IptablesNftTable: new (options: NativeIptablesNftTableOptions) => NativeIptablesNftTable;
  /** Test only: the ipt_entry/ip6t_entry bytes our encoder builds (counters and comefrom zero). */
  _encodeLegacyRule(family: 'ipv4' | 'ipv6', rule: PackedRule): Buffer;
  /** Test only (benchmarks): one async round trip through the libuv pool that does no work. */
  _ping(): Promise<void>;
  /** Test only (benchmarks): a synchronous call into the addon that does nothing. */
  _pingSync(): void;
  /**
   * Test only: decode entry bytes with the decoder list() uses, without a libiptc handle:
   * standard targets are read from their verdict number, and a standard-sized target whose
   * name is in `chains` is taken for a jump to that user chain.
   */
  _decodeLegacyRule(family: 'ipv4' | 'ipv6', entry: Buffer, chains?: string[]): NativeRule;
  /** Test only: every NativeErrorKind the addon can report, in its enum's order. */
  _errorKinds: readonly string[];
  /** The semantic comparison delete/check/ensure use (xt::SameRule); apply's planner too. Pure, synchronous. */
  sameRule(family: 'ipv4' | 'ipv6', a: PackedRule, b: PackedRule): boolean;
  /** The native form's rule as it reads back once written (its encoder, then its decoder); null when the form cannot encode it. Pure, synchronous. */
  nftablesReadBack(family: 'ipv4' | 'ipv6', rule: PackedRule): NativeRule | null;
  /** Test only: the NFT_MSG_NEWRULE message (sequence 0, append) our nf_tables encoder builds. */
  _encodeNftRule(family: 'ipv4' | 'ipv6', table: string, chain: string, rule: PackedRule): Buffer;
  /** Test only: what the calling thread's NEWRULE shapes did: rules written from one, shapes learned, shapes found unusable. */
  _nftRuleShapes(): { written: number; learned: number; unusable: number };
  /** Test only: NEWTABLE + NEWCHAIN (sequence 0) as a first write to a built-in chain sends them. */
  _encodeNftCreate(family: 'ipv4' | 'ipv6', table: string, chain: string): Buffer;
  /** Test only: decode one NEWRULE message with the decoder list() uses on the nft backend. */
  _decodeNftRule(family: 'ipv4' | 'ipv6', message: Buffer): { table: string; chain: string; handle: bigint; rule: NativeRule };
  /** The native nftables form (backend 'nftables'): our own table `connlimit`, no lock (the generation id guards batches). */
  NftablesTable: new (options: NativeNftablesTableOptions) => NativeNftablesTable;
  /** Test only: NEWSET `setName` (default connlimit0; set id 1, when the rule has a connlimit match) + NEWRULE (append, sequence 0) of the native form. */
  _encodeNftables(family: 'ipv4' | 'ipv6', chain: string, rule: PackedRule, setName?: string): Buffer;
  /**
   * Test only: the same through one rule writer, libnftnl objects or written directly (null: a
   * rule it leaves to libnftnl), placed by [position, handle, id, position id] when given.
   */
  _encodeNftables(
    family: 'ipv4' | 'ipv6',
    chain: string,
    rule: PackedRule,
    setName: string,
    writing: 'objects' | 'direct',
    placement?: [number, number, number, number],
  ): Buffer | null;
  /** Test only: NEWTABLE connlimit + NEWCHAIN (sequence 0) as the first write to a base chain of the native form sends them. */
  _encodeNftablesCreate(family: 'ipv4' | 'ipv6', chain: string): Buffer;
  /**
   * Test only: DELRULE (by handle, or by rule `id`) + DELSET (sequence 0) as deleting a native-form rule sends them,
   * written directly, or ('objects') through libnftnl's objects, the reference.
   */
  _encodeNftablesDelete(family: 'ipv4' | 'ipv6', chain: string, handle: bigint, setName: string, how?: 'objects', id?: number): Buffer;
  /** Test only: decode one native-form NEWRULE message with the decoder list() uses. */
  _decodeNftablesRule(family: 'ipv4' | 'ipv6', message: Buffer): { table: string; chain: string; handle: bigint; setName: string; rule: NativeRule };
  /**
   * Test only: the commit driver and planner of a form ('nft': iptables-nft's, 'nftables': the
   * native one) on recorded replies, no kernel. Each attempt reads the next recording; the
   * newest is the kernel's, which refuses a batch under any other generation id (ERESTART).
   */
  _planNft(
    form: 'nft' | 'nftables',
    family: 'ipv4' | 'ipv6',
    table: string,
    recordings: Buffer[],
    ops: PackedOps,
  ): { batches: Buffer[]; attempts: number; results: NativeOpResults };
}

/** The native nftables form's tables in one family: the methods of {@link NativeTable}, and destroy(). */
export interface NativeNftablesTable extends NativeTable {
  /** Deletes every table of the form in this family (connlimit, connlimit_N) in one batch; resolves to how many. */
  destroy(): Promise<number>;
  /** Test only: what the handle's netlink socket has sent so far (each attempt of a dump counts once). */
  _ioCounts(): Promise<{ requests: number; dumps: number; batches: number }>;
  /** The netlink port id of the handle's socket (0 before its first call): every commit of the handle goes through it, so ruleset notifications of its commits carry it. */
  port(): number;
}

export interface NativeNftablesTableOptions {
  family: 'ipv4' | 'ipv6';
  netnsPath: string | null;
  /** How long a commit keeps retrying while other writers keep changing the ruleset. */
  lockTimeoutMs: number;
}

/**
 * A conntrack filter, validated and normalized by src/conntrack/filter.ts; native/js/conntrack.cc
 * reads it into core::ct::Filter. Everything present must hold; all on the original tuple.
 */
export interface NativeCtFilter {
  /** 0 (both), 2 (AF_INET) or 10 (AF_INET6). Always set when an address is. */
  family: 0 | 2 | 10;
  /** IP protocol number, -1 = any. */
  protocol: number;
  invertProtocol: boolean;
  /** `addr` is 4 or 16 bytes as the family says, already masked. */
  src: { addr: Buffer; prefix: number; invert: boolean } | null;
  dst: { addr: Buffer; prefix: number; invert: boolean } | null;
  /** [lo, hi, invert], host order. */
  sport: [number, number, boolean] | null;
  dport: [number, number, boolean] | null;
  /** Bit (1 << enum tcp_conntrack): keep only TCP entries in these states; 0 = any. */
  tcpStates: number;
  /** TCP entries in these states are dropped; other protocols are kept. */
  tcpStatesExcluded: number;
  /** [value, mask]: (ct mark & mask) == value. */
  mark: [number, number] | null;
  zone: number | null;
  /** [value, mask] of enum ip_conntrack_status bits. */
  status: [number, number] | null;
}

export interface NativeCtTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
}

export interface NativeCtEntry {
  family: 'ipv4' | 'ipv6';
  protocol: number;
  orig: NativeCtTuple;
  reply: NativeCtTuple | null;
  /** enum tcp_conntrack, null for other protocols. */
  tcpState: number | null;
  /** enum ip_conntrack_status bits. */
  status: number;
  /** Seconds left, null when the kernel sent none. */
  timeout: number | null;
  mark: number;
  zone: number;
  id: number;
  counters: { origPackets: bigint; origBytes: bigint; replyPackets: bigint; replyBytes: bigint } | null;
  /** Only from _decode: what kind of message carried the entry. */
  kind?: 'entry' | 'new' | 'destroy';
}

export interface NativeConntrack {
  /** Open the namespace, create the ctnetlink socket there and probe it with a stats request. */
  open(): Promise<void>;
  count(): Promise<{ entries: number; maxEntries: number }>;
  /** keys: [key, count, key, count, ...], most first. top 0 = all. */
  countBy(
    filter: NativeCtFilter,
    key: 'source' | 'destination',
    prefix4: number,
    prefix6: number,
    top: number,
  ): Promise<{ keys: Array<string | number>; scanned: number; matched: number; kernelFiltered: boolean; restarts: number }>;
  delete(filter: NativeCtFilter): Promise<{ matched: number; deleted: number; vanished: number; kernelSide: boolean }>;
  /** Idempotent; later calls reject with op 'closed'. */
  close(): void;
  /** Whether the netns path now names another namespace or nothing (false without a netns). */
  netnsChanged(): Promise<boolean>;
}

export interface NativeConntrackList {
  /** The next batch (whole receive buffers, at least batchSize entries unless the dump ends), or null when over. */
  next(): Promise<NativeCtEntry[] | null>;
  close(): void;
}

export interface NativeConntrackBinding {
  Conntrack: (new (options: { netnsPath: string | null }) => NativeConntrack) & {
    /** Test only: decode one receive buffer; seq -1 = any. Throws the native error shape (op 'ct decode', EBADMSG) on bad bytes. */
    _decode(bytes: Buffer, seq?: number): {
      entries: NativeCtEntry[];
      done: boolean;
      interrupted: boolean;
      filtered: boolean;
      acks: number;
      notFound: number;
      stale: number;
      stats: { entries: number; maxEntries: number } | null;
    };
    /** Test only: the dump request bytes for a filter. */
    _encodeDump(filter: NativeCtFilter, seq: number): Buffer;
  };
  ConntrackList: new (owner: NativeConntrack, filter: NativeCtFilter, batchSize: number) => NativeConntrackList;
}

// Declaration merging keeps this addition apart from the NativeBinding declaration above.
// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface NativeBinding extends NativeConntrackBinding {}

/** The normalized options of `new ConntrackWatch` (src/conntrack/watch-options.ts). */
export interface NativeWatchOptions {
  netns: string | null;
  filter: NativeCtFilter;
  key: 'source' | 'destination';
  mask4: number;
  mask6: number;
  /** 0: no crossings. */
  threshold: number;
  updates: boolean;
  receiveBuffer: number;
  /** How often the thread checks whether a dump must correct what events missed. */
  reconcileMs: number;
  /** Tests only: the thread sleeps this long before reading events (forces an overrun). */
  testStallMs?: number;
}

export interface NativeWatchBatch {
  changes: { key: string; count: number; delta: number; opened: number; closed: number }[];
  crossings: { key: string; above: boolean; count: number }[];
  crossingsDropped: number;
  events: number;
  initial: boolean;
  resynced: boolean;
  overruns: number;
  overrunsTotal: number;
}

export interface NativeConntrackWatch {
  /**
   * Every key with a count, most first, copied from native memory (no kernel call): key `ids[i]`
   * holds `counts[i]`. `texts` are the texts of ids new since the last call, numbered on from
   * those the caller holds; `reset`: the ids were renumbered from 0, drop the texts held.
   */
  counts(): { reset: boolean; texts: string[]; ids: Uint32Array; counts: Float64Array };
  /** Moves on whenever a count may have changed (read under the watcher's lock): what counts() gave is current while it stays the same. */
  countsVersion(): number;
  /** The count of the key holding this address (family 4 or 6), masked to the watch's prefix; -1 if the address does not parse. */
  count(address: string, family: 4 | 6): number;
  stats(): {
    events: number;
    overruns: number;
    resyncs: number;
    discarded: number;
    receiveBuffer: number;
    reconciles: number;
    reconcileEntries: number;
    reconcileBytes: number;
    unconfirmed: number;
    mode: 'events' | 'poll';
  };
  ref(): void;
  unref(): void;
  close(): Promise<void>;
}

export interface NativeWatchBinding {
  ConntrackWatch: new (options: NativeWatchOptions, callback: (error: unknown, batch: NativeWatchBatch | null) => void) => NativeConntrackWatch;
}

// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface NativeBinding extends NativeWatchBinding {}

/** A set's header as the addon lists it (src/sets/). */
export interface NativeSetHeader {
  name: string;
  type: string;
  family: 'ipv4' | 'ipv6';
  revision: number;
  hashsize: number;
  maxelem: number;
  bucketsize: number;
  timeout: number | null;
  counters: boolean;
  comment: boolean;
  references: number;
  memsize: number;
  elements: number;
}

/** One element, normalized by src/sets/ (address text inet_pton reads; proto a number). */
export interface NativeSetElement {
  family: 'ipv4' | 'ipv6';
  address: string;
  cidr?: number;
  port?: number;
  proto?: number;
  address2?: string;
  iface?: string;
  physdev?: boolean;
  wildcard?: boolean;
  nomatch?: boolean;
  timeout?: number;
  comment?: string;
}

/** One element as the addon lists it: an element's fields without its family (the set's), and counters. */
export interface NativeListedElement extends Omit<NativeSetElement, 'family'> {
  packets?: bigint;
  bytes?: bigint;
}

export interface NativeCreateSpec {
  name: string;
  type: string;
  family: 'ipv4' | 'ipv6';
  timeout?: number;
  hashsize?: number;
  maxelem?: number;
  counters: boolean;
  comment: boolean;
  exist: boolean;
}

export interface NativeIpsetHandle {
  /** Open the namespace, create the ipset socket there and do the PROTOCOL handshake. */
  open(): Promise<void>;
  create(spec: NativeCreateSpec): Promise<void>;
  /**
   * One message for one element; restore-style batches for more. The elements packed
   * (src/sets/packed-calls.ts packElements). Errors carry opIndex (the element).
   */
  elements(cmd: 'add' | 'del', set: string, records: Buffer, objects: NativeSetElement[], exist: boolean): Promise<void>;
  test(set: string, element: NativeSetElement): Promise<boolean>;
  /**
   * Independent one-element calls, packed (src/sets/packed-calls.ts), in one trip to the
   * handle's thread, many messages per sendmsg: null when every call went in, else per call
   * null or its own native error (a test's "not in the set" is errno 4103, IPSET_ERR_EXIST).
   */
  each(records: Buffer, names: string[], objects: NativeSetElement[]): Promise<Array<Error | null> | null>;
  /** `withSize`: count the entries where the kernel reports no count (the native form: a dump); elements 0 without it there. */
  header(set: string, withSize?: boolean): Promise<NativeSetHeader>;
  named(cmd: 'destroy' | 'flush' | 'rename' | 'swap', name: string, name2: string | null, exist: boolean): Promise<void>;
  list(set: string): Promise<{ header: NativeSetHeader; entries: NativeListedElement[] }>;
  names(): Promise<string[]>;
  /** The kernel index a `-m set` rule holds for a set (SO_IP_SET), null when there is no such set. family: NFPROTO_*. */
  setIndex(name: string): Promise<{ index: number; family: number } | null>;
  /** The set an index names, null when none does. */
  setName(index: number): Promise<string | null>;
  /** Idempotent; later calls reject with op 'closed'. */
  close(): void;
}

/**
 * IpsetHandle's calls on nf_tables named sets of the native form (its table of the handle's
 * family); no set indexes. elements() is one batch (all or nothing); each() takes adds and
 * deletes only (a test goes through test()).
 */
export type NativeNftablesSetHandle = Omit<NativeIpsetHandle, 'setIndex' | 'setName'>;
/** One streamed listing on a socket of its own (see js/ipset_list.h). */
export interface NativeIpsetList {
  /** The next batch, with the set's header each time; `done` on the last. Rejects with op 'closed' after close(). */
  next(): Promise<{ header: NativeSetHeader; entries: NativeListedElement[]; done: boolean }>;
  /** Abandons the listing (its socket closes). Idempotent. */
  close(): void;
}

export interface NativeIpsetBinding {
  /** A listing of `set` in batches of at least `batchSize` entries (whole kernel messages). */
  IpsetList: new (owner: NativeIpsetHandle, set: string, batchSize: number) => NativeIpsetList;
  /** The same listing of a native-form set (its GETSETELEM dump), with the IpsetList calls. */
  NftablesSetList: new (owner: NativeNftablesSetHandle, set: string, batchSize: number) => NativeIpsetList;
  IpsetHandle: (new (options: { netnsPath: string | null }) => NativeIpsetHandle) & {
    /** Test only: the CREATE message (revision and sequence given). */
    _encodeCreate(spec: NativeCreateSpec, revision: number, seq: number): Buffer;
    /** Test only: one element's ADD/DEL/TEST message. */
    _encodeElement(cmd: 'add' | 'del' | 'test', set: string, element: NativeSetElement, exist: boolean, seq: number): Buffer;
    /** Test and bench only: the messages elements() sends for the same packed elements. */
    _encodeElements(cmd: 'add' | 'del', set: string, records: Buffer, objects: NativeSetElement[], exist: boolean, seq: number): Buffer;
  };
  NftablesSetHandle: (new (options: { netnsPath: string | null; family: 'ipv4' | 'ipv6' }) => NativeNftablesSetHandle) & {
    /** Test only: the NEWSET message. */
    _encodeCreate(family: 'ipv4' | 'ipv6', spec: NativeCreateSpec, seq: number): Buffer;
    /** Test only: one element's NEWSETELEM / DELSETELEM / GETSETELEM message for a set of `type`. */
    _encodeElement(family: 'ipv4' | 'ipv6', cmd: 'add' | 'del' | 'test', set: string, type: string, element: NativeSetElement, exist: boolean, seq: number): Buffer;
    /**
     * Test only: the messages each() puts in its batch for the same packed calls (the sets of
     * `types[i]`), back to back, numbered from `seq`: an IPv4 address into a hash:ip set is
     * written straight from its record, anything else as _encodeElement writes it.
     */
    _encodeEach(family: 'ipv4' | 'ipv6', records: Buffer, names: string[], objects: NativeSetElement[], types: string[], seq: number): Buffer;
  };
}

// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface NativeBinding extends NativeIpsetBinding {}

/** The options of `new RulesetWatch` (src/apply/keep.ts): which nf_tables table's notifications count. */
export interface NativeRulesetWatchOptions {
  netns: string | null;
  family: 'ipv4' | 'ipv6';
  table: string;
  /** `table` is a prefix (the native form's connlimit, connlimit_1, ...). */
  tablePrefix: boolean;
  /** Only the messages about this set of the table count (a watch filtered by a native-form set). */
  set?: string;
}

/**
 * What the ruleset watch thread delivers: 'ready' once subscribed; a 'commit' that touched the
 * table (its new generation id, how many of its messages were about the table, and the netlink
 * port ids that sent them); 'overrun' when notifications were lost (ENOBUFS).
 */
export interface NativeRulesetGeneration {
  kind: 'ready' | 'commit' | 'overrun';
  genid: number;
  messages: number;
  ports: number[];
  /** A set watch's commit: its NEWSETELEM / DELSETELEM messages about the set (null: none), and whether a NEWSET or DELSET named it. */
  added: Buffer | null;
  deleted: Buffer | null;
  setChanged: boolean;
}

export interface NativeRulesetWatch {
  close(): Promise<void>;
}

export interface NativeRulesetBinding {
  RulesetWatch: {
    new (options: NativeRulesetWatchOptions, callback: (error: unknown, generation: NativeRulesetGeneration | null) => void): NativeRulesetWatch;
    /** The entries of a set notice's messages (`added` or `deleted`), as list() gives them for a set of that type. */
    decodeElements(family: 'ipv4' | 'ipv6', type: string, timeout: boolean, bytes: Buffer): NativeListedElement[];
  };
}

// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface NativeBinding extends NativeRulesetBinding {}
