// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A set of metric sources rendered on demand, and an HTTP handler a service mounts on its own
 * server (`connlimit metrics` mounts the same one). A source that fails is reported as
 * `connlimit_source_up{source=...} 0` with its families left out, so one unreadable namespace
 * doesn't blank the whole scrape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_TYPE, negotiateFormat, renderExposition, type ExpositionFormat, type MetricFamily } from './exposition';

/** Anything that can produce metric families on each scrape. */
export interface MetricSource {
  /** Shown in `connlimit_source_up{source=...}`. */
  readonly name: string;
  collect(): Promise<MetricFamily[]>;
}

export interface Metrics {
  /** The exposition text, in the Prometheus text format unless asked for OpenMetrics. */
  render(format?: ExpositionFormat): Promise<string>;
  /** Serves every request with a scrape, negotiating the format from `Accept`. */
  handler(req: IncomingMessage, res: ServerResponse): void;
}

export interface MetricsOptions {
  /** Told about each source that failed a scrape (the scrape itself still succeeds). */
  onError?: (error: unknown, source: MetricSource) => void;
}

/** Families with the same name from several sources merge into one family. */
function merge(lists: MetricFamily[][]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const list of lists) {
    for (const family of list) {
      const seen = byName.get(family.name);
      if (seen) seen.samples.push(...family.samples);
      else byName.set(family.name, { ...family, samples: [...family.samples] });
    }
  }
  return [...byName.values()];
}

/**
 * @example
 * const metrics = createMetrics([firewallMetrics(fw)]);
 * http.createServer((req, res) => (req.url === '/metrics' ? metrics.handler(req, res) : res.writeHead(404).end()));
 */
export function createMetrics(sources: readonly MetricSource[], options: MetricsOptions = {}): Metrics {
  const list = [...sources];
  const onError = options.onError;
  async function render(format: ExpositionFormat = 'prometheus'): Promise<string> {
    const results = await Promise.allSettled(list.map((s) => s.collect()));
    const up: MetricFamily = { name: 'connlimit_source_up', type: 'gauge', help: 'Whether the last scrape of a source succeeded.', samples: [] };
    const collected: MetricFamily[][] = [];
    results.forEach((r, i) => {
      up.samples.push({ labels: { source: (list[i] as MetricSource).name }, value: r.status === 'fulfilled' ? 1 : 0 });
      if (r.status === 'fulfilled') collected.push(r.value);
      else onError?.(r.reason, list[i] as MetricSource);
    });
    return renderExposition([...merge(collected), up], format);
  }
  return {
    render,
    handler(req, res) {
      const format = negotiateFormat(req.headers.accept);
      render(format).then(
        (body) => res.writeHead(200, { 'content-type': CONTENT_TYPE[format] }).end(body),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${String((e as Error)?.message ?? e)}\n`),
      );
    },
  };
}
