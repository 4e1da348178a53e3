// SPDX-License-Identifier: GPL-2.0-or-later
/** Per-client counts of a live watch, as metric families: a scrape reads native memory only. */
import type { ConntrackWatch } from '../conntrack/watch';
import type { MetricDescriptor, MetricFamily, MetricSource } from './family';

export interface WatchMetricsOptions {
  /** The `watch` label that tells this watch's series apart, e.g. 'ssh'. */
  name: string;
}

const CLIENTS: MetricDescriptor = { name: 'connlimit_client_connections', type: 'gauge', help: 'Connections a client (address or block) holds now, as a watch counts them.' };
const EVENTS: MetricDescriptor = { name: 'connlimit_watch_events_total', type: 'counter', help: 'Conntrack events a watch decoded.' };
const OVERRUNS: MetricDescriptor = { name: 'connlimit_watch_overruns_total', type: 'counter', help: 'Times a watch lost events (ENOBUFS) and repaired its counts from a dump.' };
const RECONCILES: MetricDescriptor = { name: 'connlimit_watch_reconciles_total', type: 'counter', help: 'Dumps a watch took to correct counts for flows the kernel reports no events on.' };
const UNCONFIRMED: MetricDescriptor = { name: 'connlimit_watch_unconfirmed_flows', type: 'gauge', help: 'Counted flows known only from a dump (older than the watch): checked by a dump every reconcileMs until they close.' };
const POLLING: MetricDescriptor = { name: 'connlimit_watch_polling', type: 'gauge', help: '1 when nf_conntrack_events=0 makes the watch poll with dumps instead of following events.' };
const LIMIT: MetricDescriptor = { name: 'connlimit_watch_limit', type: 'gauge', help: 'The connlimit limit of the rule a watch follows.' };

/**
 * Exports `connlimit_client_connections{watch, key}` (the watch's current count per client),
 * `connlimit_watch_limit{watch}` for a rule watch, and `connlimit_watch_events_total` and
 * `connlimit_watch_overruns_total` (events lost and repaired), `connlimit_watch_reconciles_total`
 * and `connlimit_watch_unconfirmed_flows` (the checks for flows events may never report on, see
 * WatchOptions.reconcileMs) and `connlimit_watch_polling` per watch. No kernel call per
 * scrape: the counts are already in native memory. The watch stays the caller's to close.
 * @example registerMetrics(registry, [watchMetrics(ct.watchFor(rule), { name: 'ssh' })])
 */
export function watchMetrics(watch: ConntrackWatch, options: WatchMetricsOptions): MetricSource {
  if (options === null || typeof options !== 'object' || typeof options.name !== 'string' || options.name === '') {
    throw new TypeError('watchMetrics: options.name must be a non-empty string');
  }
  const name = options.name;
  const one = (d: MetricDescriptor, value: number): MetricFamily => ({ ...d, samples: [{ labels: { watch: name }, value }] });
  return {
    name: `watch ${name}`,
    families: [CLIENTS, EVENTS, OVERRUNS, RECONCILES, UNCONFIRMED, POLLING, LIMIT],
    async collect(): Promise<MetricFamily[]> {
      await watch.ready;
      const clients: MetricFamily = { ...CLIENTS, samples: [] };
      for (const [key, count] of watch.counts()) clients.samples.push({ labels: { watch: name, key }, value: count });
      const stats = watch.stats();
      return [
        clients,
        one(EVENTS, stats.events),
        one(OVERRUNS, stats.overruns),
        one(RECONCILES, stats.reconciles),
        one(UNCONFIRMED, stats.unconfirmed),
        one(POLLING, stats.mode === 'poll' ? 1 : 0),
        watch.limit === null ? { ...LIMIT, samples: [] } : one(LIMIT, watch.limit),
      ];
    },
  };
}
