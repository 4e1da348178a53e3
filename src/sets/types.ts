// SPDX-License-Identifier: GPL-2.0-or-later
/** The public shapes of client sets (ipset): what a set is made with, an entry, a listing. */
import type { Family } from '../rule/types';

/** The ipset types the library makes and fills. */
export type SetType = 'hash:ip' | 'hash:net' | 'hash:ip,port' | 'hash:net,port' | 'hash:ip,port,ip' | 'hash:net,iface';

/** Protocols of the port types (`hash:ip,port`, `hash:net,port`, `hash:ip,port,ip`). */
export type SetProtocol = 'tcp' | 'udp' | 'sctp' | 'udplite';

export interface SetsOptions {
  /** The family of sets made by this handle unless create() says otherwise. Default 'ipv4'. */
  family?: Family;
  /** A network namespace: a name under /run/netns or a path. Default: the caller's own. */
  netns?: string;
  /**
   * The Firewall backend the sets serve: 'legacy' or 'nft' (default) use ipset; 'nftables'
   * makes nf_tables named sets in the native form's table of `family` (docs/sets.md).
   */
  backend?: 'legacy' | 'nft' | 'nftables';
}

/** A set that filters counts (Conntrack.countBy, watch) beyond a name alone, which means an ipset set. */
export interface SetRef {
  name: string;
  /** As {@link SetsOptions.backend}: 'nftables' is a named set of the native form's table of `family`. Default: ipset. */
  backend?: 'legacy' | 'nft' | 'nftables';
  /** The native form's table the set is in (ip or ip6). Default 'ipv4'; ipset sets say their own. */
  family?: Family;
}

export interface CreateSetOptions {
  type: SetType;
  /** Default: the handle's family. */
  family?: Family;
  /** Timeout support, with this default in seconds (0: entries stay unless added with a timeout). */
  timeout?: number;
  /** Most entries the set takes (kernel default 65536). */
  maxelem?: number;
  /** Initial hash size (the kernel rounds it up to a power of two, at least 64). */
  hashsize?: number;
  /** Per-entry packet and byte counters. */
  counters?: boolean;
  /** Per-entry comments. */
  comment?: boolean;
  /** An equal set already there is no error (ipset -exist create; NLM_F_EXCL cleared). */
  exist?: boolean;
}

/**
 * An entry as ipset writes it: '10.0.0.1', '10.0.0.0/24' (hash:net), '10.0.0.1,tcp:80' or
 * '10.0.0.1,80' (tcp; the port types), '10.0.0.1,udp:53,10.0.0.2' (hash:ip,port,ip),
 * '10.0.0.0/24,eth0' or '10.0.0.0/24,physdev:eth0' (hash:net,iface), '2001:db8::/64'; or the
 * same as an object.
 */
export type SetEntryInput = string | SetEntry;

export interface SetEntry {
  address: string;
  /** Prefix length, hash:net, hash:net,port and hash:net,iface only. */
  cidr?: number;
  /** The port types only; proto defaults to 'tcp'. */
  port?: number;
  proto?: SetProtocol;
  /** hash:ip,port,ip only: the third part, an address of the set's family. */
  address2?: string;
  /** hash:net,iface only: an interface name (1-15 bytes, as the kernel names devices). */
  iface?: string;
  /** hash:net,iface on ipset only: the interface is a bridge port (`physdev:`); no native-form meaning. */
  physdev?: boolean;
  /** hash:net,iface: `iface` is a name prefix (ipset's `wildcard`; nft's `"eth*"` on the native form). */
  wildcard?: boolean;
  /** Seconds; overrides the option of the call and the set's default. */
  timeout?: number;
  comment?: string;
}

export interface AddOptions {
  /** Seconds (0: permanent); needs a set created with `timeout`. Default: the set's. */
  timeout?: number;
  /** Needs a set created with `comment`; at most 255 bytes. */
  comment?: string;
  /** An entry already there is replaced instead of refused (ipset -exist add). */
  exist?: boolean;
  /**
   * ipset's `nomatch`: addresses inside the entry are NOT in the set, an exception carved out of
   * a wider entry (the most specific entry that holds an address decides). hash:net,
   * hash:net,port and hash:net,iface on ipset only: nf_tables sets have no such element.
   */
  nomatch?: boolean;
}

export interface TestOptions {
  /**
   * `ipset test ... nomatch`: whether the entry is in the set as a `nomatch` entry (an address:
   * the most specific entry that holds it is one). Without it such entries count as absent.
   * The types that take add()'s `nomatch`, on ipset only.
   */
  nomatch?: boolean;
}

export interface DeleteOptions {
  /** An entry that isn't there is no error (ipset -exist del). */
  exist?: boolean;
}

/** One listed entry: the fields the set carries. */
export interface ListedSetEntry {
  /** As `ipset save` prints it: '10.0.0.1', '10.0.0.0/24', '10.0.0.1,tcp:80'. */
  text: string;
  address: string;
  cidr?: number;
  port?: number;
  proto?: SetProtocol | number;
  address2?: string;
  iface?: string;
  /** Present (true) on a `physdev:` entry. */
  physdev?: boolean;
  /** Present (true) on an entry added with ipset's `wildcard` (not part of `text`, as in `ipset save`). */
  wildcard?: boolean;
  /** Present (true) on an entry added with `nomatch` (not part of `text`; `ipset save` prints it after the timeout). */
  nomatch?: boolean;
  /** Seconds left (sets with timeout support). */
  timeout?: number;
  packets?: bigint;
  bytes?: bigint;
  comment?: string;
}

/** {@link Sets.entries}. */
export interface ListEntriesOptions {
  /** Entries per native batch (whole kernel messages, so a batch may be somewhat larger). Default 4096. */
  batchSize?: number;
}

export interface SetHeaderInfo {
  name: string;
  type: string;
  family: Family;
  revision: number;
  hashsize: number;
  maxelem: number;
  /** 0 when the kernel reports none. */
  bucketsize: number;
  /** The default timeout, or null without timeout support. */
  timeout: number | null;
  counters: boolean;
  comment: boolean;
  /** Rules (and list:set sets) that refer to the set. */
  references: number;
  /** Kernel memory, bytes. */
  memsize: number;
  /** Entries in the set. */
  size: number;
}

export interface ListedSet {
  header: SetHeaderInfo;
  /** In the kernel's hash order, as `ipset list` shows them. */
  entries: ListedSetEntry[];
}
