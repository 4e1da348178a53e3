// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The library's own model of its metrics: what a source declares up front (a registry needs
 * every name before the first scrape) and the samples it reads on each scrape. prom-client
 * renders them (prom-collectors.ts).
 */

export type MetricType = 'counter' | 'gauge';

/** A metric a source exports: declared once, sampled on every scrape. */
export interface MetricDescriptor {
  /** Counters end with `_total`, as the Prometheus text format names their samples. */
  name: string;
  help: string;
  type: MetricType;
}

export interface Sample {
  labels: Record<string, string>;
  /** bigint kernel counters are exported as numbers (a float64 past 2^53, as Prometheus stores them anyway). */
  value: number | bigint;
}

export interface MetricFamily extends MetricDescriptor {
  samples: Sample[];
}

/** Anything that can produce metric families on each scrape. */
export interface MetricSource {
  /** Shown in `connlimit_source_up{source=...}`. */
  readonly name: string;
  /** Every family collect() may return, with or without samples. */
  readonly families: readonly MetricDescriptor[];
  collect(): Promise<MetricFamily[]>;
}
