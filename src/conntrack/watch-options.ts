// SPDX-License-Identifier: GPL-2.0-or-later
/** The options of a live watch, validated into the addon's form before any thread starts. */
import { invalid } from '../errors';
import type { NativeWatchOptions } from '../native-types';
import { describe } from '../rule/validate';
import { checkSetRef, type CheckedSetRef } from '../sets/set-ref';
import type { SetRef } from '../sets/types';
import { FILTER_KEYS, keyOption, keyPrefixes, ownObject, toNativeFilter, type ConntrackFilter, type KeyOptions } from './filter';

/** {@link Conntrack.watch}: a filter, how to key the counts, and how to deliver them. */
export interface WatchOptions extends ConntrackFilter, KeyOptions {
  /** Emit 'above' when a key's count rises above this, 'below' when it falls back to it. */
  threshold?: number;
  /**
   * Also follow UPDATE events, so a flow that changes state, mark or status enters or leaves
   * the filter. On by default when the filter has `state`, `mark`, `status` or `live` (a
   * connection leaves a live count by an UPDATE into TIME_WAIT); costs an event
   * per TCP state change otherwise.
   */
  updates?: boolean;
  /** Socket receive buffer in bytes (default 32 MiB; the kernel doubles it). A burst that overflows it is an overrun. */
  receiveBuffer?: number;
  /**
   * How often, in milliseconds, the watch checks whether events can be trusted and, when not,
   * corrects its counts from a dump (default 1000; 100 to 3600000). Events miss two kinds of
   * flow: at the kernel's default `nf_conntrack_events=2`, flows opened before the watch began
   * never report their end; at `nf_conntrack_events=0` no flow reports anything. The watch
   * dumps while it holds any flow of the first kind, and always at 0 ({@link WatchStats.mode}
   * 'poll'), so every count converges to the kernel's within this interval plus one dump.
   */
  reconcileMs?: number;
  /**
   * Only connections whose key address is a member of this set (hash:ip or hash:net), as
   * `-m set --match-set NAME src` matches it: a name is an ipset set, `{ name, backend:
   * 'nftables', family }` one of the native form's. Keys are then full addresses (no `mask`).
   * The set is read when the watch starts (`ready` waits for it) and read again every
   * `setRefreshMs` (ipset sends no notice of membership changes), so a key that joins or
   * leaves the set shows as a 'resync' change with its whole count, at most that late. A
   * native-form set is read again when nf_tables announces a change to it instead, and on the
   * timer only if it has timeouts (expiries are not announced).
   */
  set?: string | SetRef;
  /** How often, in milliseconds, a `set` is read again (default 1000; 100 to 3600000); see `set`. */
  setRefreshMs?: number;
}

/** A watch's set filter, checked (see {@link WatchOptions.set}). */
export interface SetFilterOptions {
  ref: CheckedSetRef;
  refreshMs: number;
}

/** What a rule watch ({@link Conntrack.watchFor}) shares with a filter watch: how changes are delivered. */
export interface DeliveryOptions {
  threshold?: number | undefined;
  updates?: boolean | undefined;
  receiveBuffer?: number | undefined;
  reconcileMs?: number | undefined;
}

const WATCH_KEYS = ['key', 'mask', 'mask6', 'threshold', 'updates', 'receiveBuffer', 'reconcileMs', 'set', 'setRefreshMs'];
const DEFAULT_SET_REFRESH_MS = 1000;
const DEFAULT_RECEIVE_BUFFER = 32 << 20;
const DEFAULT_RECONCILE_MS = 1000;

/**
 * The set filter of watch options, or null. A set filters keys, so keys must be whole
 * addresses: a /24 key may hold members and others.
 */
export function setFilterOptions(options: WatchOptions, native: NativeWatchOptions): SetFilterOptions | null {
  const { set, setRefreshMs } = ownObject(options, 'options');
  if (set === undefined) {
    if (setRefreshMs !== undefined) invalid('setRefreshMs', 'needs a set');
    return null;
  }
  const ref = checkSetRef(set, 'set');
  if (native.mask4 !== 32 || native.mask6 !== 128) invalid('mask', 'a watch filtered by a set keys whole addresses: no mask');
  const refreshMs = setRefreshMs ?? DEFAULT_SET_REFRESH_MS;
  if (!Number.isInteger(refreshMs) || refreshMs < 100 || refreshMs > 3_600_000) invalid('setRefreshMs', `must be an integer 100-3600000, got ${describe(refreshMs)}`);
  return { ref, refreshMs };
}

/** Validates public watch options into the addon's form, touching no kernel. */
export function normalizeWatchOptions(netnsPath: string | null, options: WatchOptions): NativeWatchOptions {
  options = ownObject(options, 'options');
  const { key, mask, mask6, threshold, updates, receiveBuffer, reconcileMs, set, setRefreshMs, ...filter } = options;
  for (const k of Object.keys(filter)) if (!FILTER_KEYS.includes(k)) invalid(k, `unknown watch option (known: ${[...FILTER_KEYS, ...WATCH_KEYS].join(', ')})`);
  const byKey = keyOption(key);
  const nf = toNativeFilter(filter);
  const followUpdates = updates ?? (filter.state !== undefined || filter.mark !== undefined || filter.status !== undefined || filter.live === true);
  return {
    netns: netnsPath,
    filter: nf,
    key: byKey,
    ...keyPrefixes(nf, mask, mask6),
    updates: followUpdates,
    ...deliveryOptions({ threshold, updates, receiveBuffer, reconcileMs }),
  };
}

/** The delivery options checked, defaults filled in. @throws {ERR_CONNLIMIT_INVALID} */
export function deliveryOptions(o: DeliveryOptions): { threshold: number; receiveBuffer: number; reconcileMs: number } {
  if (o.threshold !== undefined && (!Number.isInteger(o.threshold) || o.threshold < 1 || o.threshold > 2 ** 32)) {
    invalid('threshold', `must be a positive integer, got ${describe(o.threshold)}`);
  }
  if (o.updates !== undefined && typeof o.updates !== 'boolean') invalid('updates', `must be a boolean, got ${describe(o.updates)}`);
  const buffer = o.receiveBuffer ?? DEFAULT_RECEIVE_BUFFER;
  if (!Number.isInteger(buffer) || buffer < 4096 || buffer > 1 << 30) invalid('receiveBuffer', `must be a whole number of bytes 4096-1073741824, got ${describe(buffer)}`);
  const reconcileMs = o.reconcileMs ?? DEFAULT_RECONCILE_MS;
  if (!Number.isInteger(reconcileMs) || reconcileMs < 100 || reconcileMs > 3_600_000) invalid('reconcileMs', `must be a whole number of milliseconds 100-3600000, got ${describe(reconcileMs)}`);
  return { threshold: o.threshold ?? 0, receiveBuffer: buffer, reconcileMs };
}
