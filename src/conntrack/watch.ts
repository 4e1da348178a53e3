// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A live watch over conntrack: per-key counts kept in native memory by a thread of its own,
 * changes delivered as coalesced batches (a flood of connections is a handful of JS calls),
 * overruns reported and repaired. Built by {@link Conntrack.watch}; its options are checked in
 * watch-options.ts.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { binding } from '../binding';
import { fromNative, invalid, type NativeErrorContext } from '../errors';
import type { NativeConntrackWatch, NativeWatchBatch, NativeWatchOptions } from '../native-types';
import { describe } from '../rule/validate';
import type { SetMembers } from '../sets/members';
import { applyNotice, type SetFollow, type SetNotice } from '../sets/set-follow';
import { CountsView } from './counts-view';

/** How a watch filtered by a set reads it (Conntrack.watch's `set`). */
export interface WatchMembership {
  read(): Promise<SetMembers>;
  refreshMs: number;
  /**
   * A native-form set: subscribes to its change notices (calling `changed` per commit, with its
   * elements, or null to read the set again), which are applied to the snapshot; the timer then
   * runs only for sets with timeouts, whose expiries come with no notice. Absent for ipset (no
   * notices): the timer always runs.
   */
  follow?: (changed: (notice: SetNotice | null) => void, failed: (e: unknown) => void) => Promise<SetFollow>;
}

/** One key whose count changed, coalesced over everything since the previous batch. */
export interface WatchChange {
  key: string;
  count: number;
  /** Change since the previous batch. */
  delta: number;
  /** Flows that started and stopped counting since the previous batch. */
  opened: number;
  closed: number;
  /** What moved it: connections opening or closing, a (re)synchronising dump, or (a watch filtered by a set) the key joining or leaving the set. */
  event: 'open' | 'close' | 'initial' | 'resync';
}

export interface WatchCrossing {
  key: string;
  /** The count right after the crossing: threshold + 1 going above, threshold going below. */
  count: number;
}

/** Everything a watch learnt between two deliveries. */
export interface WatchBatch {
  changes: WatchChange[];
  /** In the order they happened. */
  above: WatchCrossing[];
  below: WatchCrossing[];
  /** Crossings beyond the per-batch cap (4096), counted but not listed. */
  crossingsDropped: number;
  /** Event messages decoded since the previous batch, matching the filter or not. */
  events: number;
  /** The first batch: counts from the start-up dump. */
  initial: boolean;
  /** Events were lost (ENOBUFS) and the counts were rebuilt from a dump: exact again. */
  resynced: boolean;
  overruns: number;
  overrunsTotal: number;
}

/** The 'overrun' event: events were lost, and the counts were repaired from a dump. */
export interface OverrunInfo {
  /** ENOBUFS errors since the previous batch, and since the watch began. */
  overruns: number;
  overrunsTotal: number;
  /** Queued events dropped as older than the repairing dump, since the watch began. */
  discarded: number;
}

export interface WatchStats {
  events: number;
  overruns: number;
  resyncs: number;
  discarded: number;
  /** Bytes of receive buffer the kernel granted. */
  receiveBuffer: number;
  /** Periodic dumps taken to correct what events missed, and the entries and netlink bytes they carried. */
  reconciles: number;
  reconcileEntries: number;
  reconcileBytes: number;
  /**
   * Counted flows known only from a dump, whose end the kernel may never report: the watch
   * dumps every `reconcileMs` while this is above 0. It falls as those flows close.
   */
  unconfirmed: number;
  /**
   * 'events': the kernel reports flows as they open and close (`nf_conntrack_events` 1 or 2).
   * 'poll': it reports nothing (`nf_conntrack_events=0`), so the counts come from a dump every
   * `reconcileMs`, and changes arrive at that pace. Read again at every check.
   */
  mode: 'events' | 'poll';
}

const MAX_CROSSINGS = 4096;

/** Merges a batch into one the iterator has not handed out yet: memory stays bounded by keys. */
function mergeBatch(into: WatchBatch, b: WatchBatch): void {
  const byKey = new Map(into.changes.map((c) => [c.key, c]));
  for (const c of b.changes) {
    const seen = byKey.get(c.key);
    if (!seen) {
      byKey.set(c.key, { ...c });
      continue;
    }
    seen.count = c.count;
    seen.delta += c.delta;
    seen.opened += c.opened;
    seen.closed += c.closed;
    seen.event = c.event === 'open' || c.event === 'close' ? (seen.delta >= 0 ? 'open' : 'close') : c.event;
  }
  into.changes = [...byKey.values()].filter((c) => c.delta !== 0 || c.event === 'initial' || c.event === 'resync');
  const room = Math.max(0, MAX_CROSSINGS - into.above.length - into.below.length);
  const above = b.above.slice(0, room);
  const below = b.below.slice(0, room - above.length);
  into.above.push(...above);
  into.below.push(...below);
  into.crossingsDropped += b.crossingsDropped + (b.above.length - above.length) + (b.below.length - below.length);
  into.events += b.events;
  into.initial ||= b.initial;
  into.resynced ||= b.resynced;
  into.overruns += b.overruns;
  into.overrunsTotal = b.overrunsTotal;
}

/**
 * A live count of connections per client. Events: 'ready' (initial counts known), 'change'
 * ({@link WatchChange}, one per key per batch), 'above'/'below' ({@link WatchCrossing}, with a
 * threshold), 'overrun' ({@link OverrunInfo}: events were lost and the counts repaired),
 * 'batch' ({@link WatchBatch}), 'error' (the watch ended), 'close'. Or iterate:
 * `for await (const batch of watch)`.
 *
 * @example
 * const watch = ct.watch({ protocol: 'tcp', dport: 22, key: 'source', threshold: 10 });
 * watch.on('above', ({ key, count }) => console.log(`${key} holds ${count}`));
 * await watch.ready;
 * watch.counts(); // Map { '10.0.0.7' => 3, ... }
 */
export class ConntrackWatch extends EventEmitter implements AsyncIterable<WatchBatch> {
  /** Resolves once the start-up dump is counted; rejects if the watch could not start. */
  readonly ready: Promise<void>;
  private readonly native: NativeConntrackWatch;
  private readonly netns: string | null;
  private closing: Promise<void> | null = null;
  private ended = false;
  private failure: unknown = null;
  /** What the iterators have not taken yet; kept only while one is running. */
  private pending: WatchBatch | null = null;
  private iterators = 0;
  private wake: (() => void) | null = null;
  private settleReady!: (error?: unknown) => void;
  /** Key texts by the native side's key id (see NativeConntrackWatch.counts). */
  private readonly keyTexts: string[] = [];
  /** The counts last built (allCounts), and the native countsVersion() they were read at. */
  private allView: CountsView | null = null;
  private allVersion = -1;
  /** With a set filter: counts() as last built, and the allView it filtered (null: the members changed since). */
  private setView: CountsView | null = null;
  private setViewOf: CountsView | null = null;
  private readonly prefix4: number;
  private readonly prefix6: number;

  /** The connlimit rule's limit, for a watch made by {@link Conntrack.watchFor}; null otherwise. */
  readonly limit: number | null;
  private readonly threshold: number;
  /** With a `set` filter: the set's snapshot (null until first read) and what reads it again. */
  private readonly membership: WatchMembership | null;
  private members: SetMembers | null = null;
  /** Native batches that came before the set's first snapshot, delivered once it is read. */
  private held: NativeWatchBatch[] = [];
  private refreshTimer: NodeJS.Timeout | null = null;
  /** A read in flight, and whether another was asked for meanwhile (one more then, not one per ask). */
  private reading = false;
  private readAgain = false;
  private following: SetFollow | null = null;
  private reads = 0;

  /** @internal Use {@link Conntrack.watch} or {@link Conntrack.watchFor}. */
  constructor(netnsPath: string | null, options: NativeWatchOptions, limit: number | null = null, membership: WatchMembership | null = null) {
    super();
    this.netns = netnsPath;
    this.limit = limit;
    this.threshold = options.threshold;
    this.membership = membership;
    this.prefix4 = options.mask4;
    this.prefix6 = options.mask6;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (error?: unknown) => (error === undefined ? resolve() : reject(error));
    });
    this.ready.catch(() => {}); // the 'error' event reports it too; awaiting is optional
    this.native = new (binding().ConntrackWatch)(options, (error, batch) =>
      error ? this.fail(error) : this.receive(batch as NativeWatchBatch),
    );
    if (membership) void this.startMembership(membership);
  }

  /** @internal Reads of the filtering set so far (whole, not notices applied): for tests. */
  get setReads(): number {
    return this.reads;
  }

  /**
   * Current counts per key, most first, from native memory: no kernel call, no wait. The Map is
   * built again only when a count changed since the last call (or, filtered by a set, its
   * members did); until then every call returns the same one, so it is read-only: set(),
   * delete() and clear() throw a TypeError (src/conntrack/counts-view.ts). Copy it to edit it.
   */
  counts(): ReadonlyMap<string, number> {
    const all = this.allCounts();
    if (!this.membership) return all;
    if (this.setView === null || this.setViewOf !== all) {
      const members = this.members;
      const kept = members ? [...all.keys()].filter((k) => members.has(k)) : [];
      this.setView = new CountsView(kept.length, (i) => kept[i] as string, (i) => all.get(kept[i] as string) as number);
      this.setViewOf = all;
    }
    return this.setView;
  }

  /**
   * The current count of one key, without copying the others: `count(k)` equals
   * `counts().get(k) ?? 0`. The key is spelt as {@link counts} spells it ('10.1.2.0/24', or the
   * bare address when the prefix is the full width), or is any address inside the key's prefix.
   * @throws {ERR_CONNLIMIT_INVALID} not an address, or a prefix other than the watch's
   * @example watch.count('10.1.2.7') // the connections of 10.1.2.0/24 on a watch with mask 24
   */
  count(key: string): number {
    if (typeof key !== 'string') invalid('key', `expected an address string, got ${describe(key)}`);
    const slash = key.indexOf('/');
    const address = slash < 0 ? key : key.slice(0, slash);
    const family = isIP(address);
    if (family !== 4 && family !== 6) invalid('key', `expected an IPv4 or IPv6 address, got ${describe(key)}`);
    const prefix = family === 4 ? this.prefix4 : this.prefix6;
    if (slash >= 0 && key.slice(slash + 1) !== String(prefix)) invalid('key', `this watch keys IPv${family} addresses by /${prefix}, got ${describe(key)}`);
    const n = this.native.count(address, family);
    if (n < 0) invalid('key', `expected an IPv4 or IPv6 address, got ${describe(key)}`);
    return this.membership && !this.members?.has(address) ? 0 : n;
  }

  stats(): WatchStats {
    return this.native.stats();
  }

  /** The watch keeps the process alive (the default). */
  ref(): this {
    this.native.ref();
    return this;
  }

  /** The watch no longer keeps the process alive on its own. */
  unref(): this {
    this.native.unref();
    return this;
  }

  /** Stops the thread, closes the sockets, ends iterators. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.ended = true;
      if (this.refreshTimer) clearTimeout(this.refreshTimer);
      const following = this.following;
      this.following = null;
      this.closing = Promise.all([this.native.close(), following?.close()]).then(() => {
        this.wake?.();
        this.emit('close');
      });
    }
    return this.closing;
  }

  /**
   * Batches as they come. A consumer slower than the kernel gets them merged (one change per
   * key, the latest count), so it never falls behind by more than one batch of memory.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<WatchBatch> {
    this.iterators++;
    try {
      for (;;) {
        if (this.pending) {
          const b = this.pending;
          this.pending = null;
          yield b;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      if (--this.iterators === 0) this.pending = null;
    }
  }

  private context(): NativeErrorContext {
    return { netns: this.netns };
  }

  private fail(error: unknown): void {
    const e = fromNative(error, this.context());
    this.failure = e;
    this.ended = true;
    this.settleReady(e);
    this.wake?.();
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  /**
   * Every count the native side keeps, set filter or not: the last ones built while the
   * watcher thread has changed none since. The version is read before the counts, so a change
   * between the two reads leaves the version behind the counts (one rebuild too many), never
   * ahead of them (stale counts kept).
   */
  private allCounts(): CountsView {
    const version = this.native.countsVersion();
    if (this.allView !== null && version === this.allVersion) return this.allView;
    const r = this.native.counts();
    if (r.reset) this.keyTexts.length = 0;
    for (const text of r.texts) this.keyTexts.push(text);
    const texts = this.keyTexts;
    this.allView = new CountsView(r.ids.length, (i) => texts[r.ids[i] as number] as string, (i) => r.counts[i] as number);
    this.allVersion = version;
    return this.allView;
  }

  /** A native batch: held until a set filter's first snapshot is read, filtered by it after. */
  private receive(raw: NativeWatchBatch): void {
    if (!this.membership) return this.deliver(raw);
    if (!this.members) {
      this.held.push(raw);
      return;
    }
    const members = this.members;
    this.deliver({ ...raw, changes: raw.changes.filter((c) => members.has(c.key)), crossings: raw.crossings.filter((c) => members.has(c.key)) });
  }

  /** The first read of the set, after subscribing to its change notices where it has them. */
  private async startMembership(membership: WatchMembership): Promise<void> {
    if (membership.follow) {
      // Subscribed before the first read, so no change between the two is missed.
      try {
        const following = await membership.follow(
          (notice) => this.noticed(notice),
          (e) => this.readFailed(e),
        );
        if (this.ended) return void following.close();
        this.following = following;
      } catch (e) {
        return this.readFailed(e);
      }
    }
    this.readSoon();
  }

  /**
   * A change notice of a followed set: its elements applied to the snapshot in place (a change
   * costs its own size, not the set's), keys that joined or left reported as a read reports
   * them. Applied in commit order, each element's last change wins, so a snapshot that already
   * held a change ends the same. The set is read instead when there is no snapshot yet, a read
   * is in flight (its snapshot may or may not hold the change; the read after it will), or the
   * notice says to (null).
   */
  private noticed(notice: SetNotice | null): void {
    if (this.ended) return;
    const members = this.members;
    if (notice === null || members === null || this.reading) return this.readSoon();
    const counts = this.allCounts();
    const was = new Set<string>();
    for (const key of counts.keys()) if (members.has(key)) was.add(key);
    this.setView = null; // the members change in place below, whether the notice applies or not
    try {
      applyNotice(members, notice);
    } catch {
      // A notice that does not read as the set's elements: the snapshot may be half changed,
      // and a read of the whole set puts it right.
      return this.readSoon();
    }
    this.reportMembership(counts, (key) => was.has(key), members);
  }

  /** Keys that joined or left the set: 'resync' changes with their whole count, and the crossings they bring or take away. */
  private reportMembership(counts: ReadonlyMap<string, number>, was: (key: string) => boolean, now: SetMembers): void {
    const changes: NativeWatchBatch['changes'] = [];
    const crossings: NativeWatchBatch['crossings'] = [];
    for (const [key, count] of counts) {
      const before = was(key);
      if (before === now.has(key)) continue;
      changes.push({ key, count: before ? 0 : count, delta: before ? -count : count, opened: 0, closed: 0 });
      if (this.threshold > 0 && count > this.threshold) crossings.push({ key, count: before ? 0 : count, above: !before });
    }
    if (changes.length > 0) {
      this.deliver({ changes, crossings, crossingsDropped: 0, events: 0, initial: false, resynced: false, overruns: 0, overrunsTotal: this.native.stats().overruns }, true);
    }
  }

  /** A read now, or once the one in flight is done. */
  private readSoon(): void {
    if (this.ended) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.reading = true;
    void this.refresh().finally(() => {
      this.reading = false;
      if (this.readAgain) {
        this.readAgain = false;
        this.readSoon();
      }
    });
  }

  private readFailed(e: unknown): void {
    if (this.ended) return;
    this.fail(e);
    void this.close();
  }

  /**
   * Reads the set again, and reports keys that joined or left it since the last read as
   * 'resync' changes with their whole count (and crossings of the threshold they bring or take
   * away). The first read releases the batches held meanwhile. A failed read ends the watch.
   */
  private async refresh(): Promise<void> {
    const membership = this.membership!;
    let next: SetMembers;
    this.reads++;
    try {
      next = await membership.read();
    } catch (e) {
      return this.readFailed(e);
    }
    if (this.ended) return;
    const previous = this.members;
    this.members = next;
    this.setView = null;
    if (previous === null) {
      const held = this.held;
      this.held = [];
      for (const raw of held) this.receive(raw);
    } else {
      this.reportMembership(this.allCounts(), (key) => previous.has(key), next);
    }
    // Followed by notices, a set is read again on the timer only when members can expire.
    if (membership.follow && !next.expires) return;
    this.refreshTimer = setTimeout(() => this.readSoon(), membership.refreshMs);
    this.refreshTimer.unref();
  }

  /** `membership`: the changes are keys that joined or left the watch's set ('resync'). */
  private deliver(raw: NativeWatchBatch, membership = false): void {
    const event = raw.initial ? 'initial' : raw.resynced || membership ? 'resync' : null;
    const batch: WatchBatch = {
      changes: raw.changes.map((c) => ({ ...c, event: event ?? (c.delta > 0 ? 'open' : 'close') })),
      above: raw.crossings.filter((c) => c.above).map(({ key, count }) => ({ key, count })),
      below: raw.crossings.filter((c) => !c.above).map(({ key, count }) => ({ key, count })),
      crossingsDropped: raw.crossingsDropped,
      events: raw.events,
      initial: raw.initial,
      resynced: raw.resynced,
      overruns: raw.overruns,
      overrunsTotal: raw.overrunsTotal,
    };
    if (this.iterators > 0) {
      if (this.pending) mergeBatch(this.pending, batch);
      else this.pending = { ...batch, changes: batch.changes.map((c) => ({ ...c })), above: [...batch.above], below: [...batch.below] };
      this.wake?.();
    }
    if (raw.initial) {
      this.settleReady();
      this.emit('ready');
    }
    if (raw.resynced) this.emit('overrun', { overruns: raw.overruns, overrunsTotal: raw.overrunsTotal, discarded: this.native.stats().discarded } satisfies OverrunInfo);
    for (const c of batch.changes) this.emit('change', c);
    for (const c of raw.crossings) this.emit(c.above ? 'above' : 'below', { key: c.key, count: c.count });
    this.emit('batch', batch);
  }
}
