// SPDX-License-Identifier: GPL-2.0-or-later
/** Per-client counts of a live watch, as metric families: a scrape reads native memory only. */
import type { ConntrackWatch } from '../conntrack/watch';
import type { MetricFamily } from './exposition';
import type { MetricSource } from './registry';

export interface WatchMetricsOptions {
  /** The `watch` label that tells this watch's series apart, e.g. 'ssh'. */
  name: string;
}

/**
 * Exports `connlimit_client_connections{watch, key}` (the watch's current count per client),
 * `connlimit_watch_limit{watch}` for a rule watch, and `connlimit_watch_events_total` and
 * `connlimit_watch_overruns_total` (events lost and repaired), `connlimit_watch_reconciles_total`
 * and `connlimit_watch_unconfirmed_flows` (the checks for flows events may never report on, see
 * WatchOptions.reconcileMs) and `connlimit_watch_polling` per watch. No kernel call per
 * scrape: the counts are already in native memory. The watch stays the caller's to close.
 * @example createMetrics([watchMetrics(ct.watchFor(rule), { name: 'ssh' })])
 */
export function watchMetrics(watch: ConntrackWatch, options: WatchMetricsOptions): MetricSource {
  if (options === null || typeof options !== 'object' || typeof options.name !== 'string' || options.name === '') {
    throw new TypeError('watchMetrics: options.name must be a non-empty string');
  }
  const name = options.name;
  return {
    name: `watch ${name}`,
    async collect(): Promise<MetricFamily[]> {
      await watch.ready;
      const clients: MetricFamily = { name: 'connlimit_client_connections', type: 'gauge', help: 'Connections a client (address or block) holds now, as a watch counts them.', samples: [] };
      for (const [key, count] of watch.counts()) clients.samples.push({ labels: { watch: name, key }, value: count });
      const stats = watch.stats();
      const families: MetricFamily[] = [
        clients,
        { name: 'connlimit_watch_events', type: 'counter', help: 'Conntrack events a watch decoded.', samples: [{ labels: { watch: name }, value: stats.events }] },
        { name: 'connlimit_watch_overruns', type: 'counter', help: 'Times a watch lost events (ENOBUFS) and repaired its counts from a dump.', samples: [{ labels: { watch: name }, value: stats.overruns }] },
        { name: 'connlimit_watch_reconciles', type: 'counter', help: 'Dumps a watch took to correct counts for flows the kernel reports no events on.', samples: [{ labels: { watch: name }, value: stats.reconciles }] },
        { name: 'connlimit_watch_unconfirmed_flows', type: 'gauge', help: 'Counted flows known only from a dump (older than the watch): checked by a dump every reconcileMs until they close.', samples: [{ labels: { watch: name }, value: stats.unconfirmed }] },
        { name: 'connlimit_watch_polling', type: 'gauge', help: '1 when nf_conntrack_events=0 makes the watch poll with dumps instead of following events.', samples: [{ labels: { watch: name }, value: stats.mode === 'poll' ? 1 : 0 }] },
      ];
      if (watch.limit !== null) {
        families.push({ name: 'connlimit_watch_limit', type: 'gauge', help: 'The connlimit limit of the rule a watch follows.', samples: [{ labels: { watch: name }, value: watch.limit }] });
      }
      return families;
    },
  };
}
