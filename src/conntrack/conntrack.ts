// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Conntrack: the connection tracking table of one network namespace, read and trimmed over
 * ctnetlink (libmnl), fork-free. TypeScript validates and normalizes filters (filter.ts); the
 * addon (native/core/ct/*) pushes what the running kernel can apply into the dump request,
 * checks every entry again in C++, and aggregates while decoding, all in the libuv pool.
 */
import { debuglog } from 'node:util';
import { binding } from '../binding';
import { ClosedError, fromNative, invalid, type NativeErrorContext } from '../errors';
import type { NativeConntrack, NativeCtEntry, NativeCtFilter } from '../native-types';
import { resolveNetns } from '../netns';
import type { Family, ListedRule, RuleSpec } from '../rule/types';
import { describe } from '../rule/validate';
import { toEntry, type ConntrackEntry } from './entry';
import { keyOption, keyPrefixes, onlyKeys, ownObject, toNativeFilter, type ConntrackFilter, type KeyOptions } from './filter';
import { ruleCountQuery, ruleWatchOptions, type RuleCount, type RuleWatchOptions } from './rule-filter';
import { followNftablesSet, type SetNotice } from '../sets/set-follow';
import { checkSetRef, readSetRef } from '../sets/set-ref';
import type { SetRef } from '../sets/types';
import { countsInSet } from './set-counts';
import { ConntrackWatch } from './watch';
import { normalizeWatchOptions, setFilterOptions, type WatchOptions } from './watch-options';

const debug = debuglog('connlimit');

/** The addon's flat [key, count, key, count, ...] as pairs. */
function* pairs(keys: readonly (string | number)[]): Generator<[string, number]> {
  for (let i = 0; i < keys.length; i += 2) yield [keys[i] as string, keys[i + 1] as number];
}

/** {@link Conntrack.countBy}: a filter, and how to key the counts. */
export interface CountByOptions extends ConntrackFilter, KeyOptions {
  /** Only the N largest counts (ties: lower address first). */
  top?: number;
  /**
   * Only connections whose key address (the source unless `key: 'destination'`) is a member
   * of this set, hash:ip or hash:net, as `-m set --match-set NAME src` matches it: a name is an
   * ipset set, `{ name, backend: 'nftables', family }` one of the native form's. The
   * set is read once when the call starts (a snapshot, streamed), so the count is of one
   * consistent membership; changes made while the call runs are not seen.
   */
  set?: string | SetRef;
}

export interface ConntrackOptions {
  /** A network namespace: a name under /run/netns or a path such as /proc/PID/ns/net. Default: the caller's own. */
  netns?: string;
}

export interface ListOptions {
  /** Entries per native batch (each batch is whole kernel messages, so a batch may be somewhat larger). Default 256. */
  batchSize?: number;
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
    onlyKeys(options, ['netns']);
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
    onlyKeys(options, ['batchSize']);
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
    const { key, mask, mask6, top, set, ...filter } = options;
    const byKey = keyOption(key);
    const nf = toNativeFilter(filter);
    const prefixes = keyPrefixes(nf, mask, mask6);
    if (top !== undefined && (!Number.isInteger(top) || top < 1 || top > 0xffffffff)) invalid('top', `must be a positive integer, got ${describe(top)}`);
    const inSet = set === undefined ? null : checkSetRef(set, 'set');
    this.assertOpen();
    if (inSet !== null) {
      const members = await readSetRef(this.netns, inSet);
      const all = await this.call(() => this.native.countBy(nf, byKey, 32, 128, 0));
      return countsInSet(pairs(all.keys), members, prefixes.mask4, prefixes.mask6, top ?? 0);
    }
    const r = await this.call(() => this.native.countBy(nf, byKey, prefixes.mask4, prefixes.mask6, top ?? 0));
    return new Map(pairs(r.keys));
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
    const { filters, key, mask4, mask6, limit } = ruleCountQuery(rule, options);
    // One count per filter (a multiport list is several port ranges); no entry passes two, so the sums are exact.
    const counts = new Map<string, number>();
    for (const filter of filters) {
      const r = await this.call(() => this.native.countBy(filter, key, mask4, mask6, 0));
      for (let i = 0; i < r.keys.length; i += 2) counts.set(r.keys[i] as string, (counts.get(r.keys[i] as string) ?? 0) + (r.keys[i + 1] as number));
    }
    const out = new Map<string, RuleCount>();
    for (const [k, count] of counts) out.set(k, { count, limit, headroom: limit - count });
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
    const native = normalizeWatchOptions(this.netns, options);
    const bySet = setFilterOptions(options, native);
    const membership = bySet && {
      read: () => readSetRef(this.netns, bySet.ref),
      refreshMs: bySet.refreshMs,
      // nf_tables announces element changes; ipset does not.
      ...(bySet.ref.backend === 'nftables' && { follow: (changed: (notice: SetNotice | null) => void, failed: (e: unknown) => void) => followNftablesSet(this.netns, bySet.ref, changed, failed) }),
    };
    return new ConntrackWatch(this.netns, native, null, membership);
  }

  /**
   * A live watch of what a connlimit rule counts, per key (see {@link Conntrack.countFor} for
   * how that view relates to the kernel's private count): the rule's filter, mask and
   * saddr/daddr, TCP entries leaving for TIME_WAIT/CLOSE uncounted as they go. `threshold`
   * defaults to the rule's limit, so 'above' fires when a client holds more than the rule allows.
   * @throws {ERR_CONNLIMIT_INVALID} a malformed rule, one without connlimit, or a bad option
   * @example const watch = ct.watchFor('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT');
   */
  watchFor(rule: string | RuleSpec | ListedRule, options: RuleWatchOptions = {}): ConntrackWatch {
    this.assertOpen();
    const { options: native, limit } = ruleWatchOptions(this.netns, rule, options);
    return new ConntrackWatch(this.netns, native, limit);
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

