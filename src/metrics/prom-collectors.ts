// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The sources as prom-client metrics, registered into a service's own Registry. prom-client
 * renders both formats (and OpenMetrics' `_total` rules); the library does not load it: a
 * registry only asks each metric for `get()`, so these are plain objects of that shape, and
 * prom-client stays an optional peer dependency for those who never export metrics.
 *
 * Every metric of one registration reads the same scrape: the first `get()` of a render
 * collects every source once, the others of that render share it. A source that fails is
 * `connlimit_source_up{source=...} 0` with its samples left out, so one unreadable namespace
 * doesn't blank the whole scrape.
 */
import type { MetricDescriptor, MetricSource, Sample } from './family';

/**
 * A prom-client `Registry` (anything with its `registerMetric`). Typed by shape, so connlimit's
 * declarations do not need prom-client installed.
 */
export interface MetricsRegistry {
  registerMetric(metric: never): void;
}

export interface RegisterMetricsOptions {
  /** Told about each source that failed a scrape (the scrape itself still succeeds). */
  onError?: (error: unknown, source: MetricSource) => void;
}

/** What prom-client's Registry reads from a metric (lib/registry.js: name, type, get()). */
interface PromMetric {
  name: string;
  help: string;
  type: string;
  /** In a cluster every worker reads the same kernel state: take one worker's value. */
  aggregator: 'first';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'first'; values: { labels: Record<string, string>; value: number }[] }>;
  reset(): void;
}

const UP: MetricDescriptor = { name: 'connlimit_source_up', type: 'gauge', help: 'Whether the last scrape of a source succeeded.' };

/**
 * Register the sources' metrics into a prom-client registry, once per registry (prom-client
 * renames counters in place when it renders OpenMetrics, so a metric object serves one
 * registry). Register every source in one call: the metric names are shared.
 * @throws {TypeError} a name registered twice (prom-client's own error), or no registerMetric
 * @example
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * registerMetrics(registry, [firewallMetrics(fw), watchMetrics(watch, { name: 'ssh' })]);
 * app.get('/metrics', async (_req, res) => res.type(registry.contentType).send(await registry.metrics()));
 */
export function registerMetrics(registry: MetricsRegistry, sources: readonly MetricSource[], options: RegisterMetricsOptions = {}): void {
  if (typeof (registry as { registerMetric?: unknown })?.registerMetric !== 'function') {
    throw new TypeError('registerMetrics: expected a prom-client Registry');
  }
  const list = [...sources];
  const onError = options.onError;
  let inflight: Promise<Map<string, Sample[]>> | null = null;

  async function scrape(): Promise<Map<string, Sample[]>> {
    const results = await Promise.allSettled(list.map((s) => s.collect()));
    const byName = new Map<string, Sample[]>();
    const up: Sample[] = [];
    results.forEach((r, i) => {
      const source = list[i] as MetricSource;
      up.push({ labels: { source: source.name }, value: r.status === 'fulfilled' ? 1 : 0 });
      if (r.status === 'rejected') {
        onError?.(r.reason, source);
        return;
      }
      for (const family of r.value) {
        const samples = byName.get(family.name);
        if (samples) samples.push(...family.samples);
        else byName.set(family.name, [...family.samples]);
      }
    });
    byName.set(UP.name, up);
    return byName;
  }
  /** One scrape per render: the metrics' get() calls of one render start together and share it. */
  function shared(): Promise<Map<string, Sample[]>> {
    inflight ??= scrape().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  const declared = new Map<string, MetricDescriptor>();
  for (const d of [...list.flatMap((s) => s.families), UP]) if (!declared.has(d.name)) declared.set(d.name, d);
  for (const d of declared.values()) {
    const metric: PromMetric = {
      name: d.name,
      help: d.help,
      type: d.type,
      aggregator: 'first',
      async get() {
        const samples = (await shared()).get(d.name) ?? [];
        // `this.name`, not d.name: an OpenMetrics registry strips `_total` from it first.
        return { name: metric.name, help: d.help, type: d.type, aggregator: 'first', values: samples.map((s) => ({ labels: s.labels, value: Number(s.value) })) };
      },
      // Nothing to reset: every value is read afresh from the kernel or the watch.
      reset() {},
    };
    registry.registerMetric(metric as never);
  }
}
