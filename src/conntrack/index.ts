// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Conntrack, one folder: the filter (filter.ts, names.ts) that the one-shot queries
 * (conntrack.ts, entry.ts) and the live watch (watch.ts, watch-options.ts) both stand on, and
 * what a connlimit rule counts (rule-filter.ts). What the package exports of it.
 */
export { Conntrack } from './conntrack';
export type { ConntrackOptions, CountByOptions, ListOptions } from './conntrack';
export type { ConntrackEntry, ConntrackTuple } from './entry';
export type { ConntrackFilter } from './filter';
export type { ConntrackStatus, TcpState } from './names';
export type { RuleCount } from './rule-filter';
export { ConntrackWatch } from './watch';
export type { OverrunInfo, WatchBatch, WatchChange, WatchCrossing, WatchStats } from './watch';
export type { WatchOptions } from './watch-options';
