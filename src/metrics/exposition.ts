// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0, from one model. They
 * differ in small ways a scraper is strict about: OpenMetrics names a counter family without
 * `_total` (its samples keep it), declares units, and ends with `# EOF`.
 */

export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels: Record<string, string>;
  value: number | bigint;
}

export interface MetricFamily {
  /** Without `_total`; counter samples get it. */
  name: string;
  help: string;
  type: MetricType;
  /** OpenMetrics unit, e.g. 'bytes'; the name must end with it. */
  unit?: string;
  samples: Sample[];
}

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPE: Record<ExpositionFormat, string> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string, format: ExpositionFormat): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? escaped.replace(/"/g, '\\"') : escaped;
}

function formatValue(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Record<string, string>): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  return `{${names.map((n) => `${n}="${escapeLabelValue(labels[n] as string)}"`).join(',')}}`;
}

/** Renders families in order; a family without samples still gets its HELP and TYPE. */
export function renderExposition(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!NAME.test(family.name) || family.name.endsWith('_total')) throw new Error(`bad metric name ${family.name}`);
    const sampleName = family.type === 'counter' ? `${family.name}_total` : family.name;
    const declared = format === 'openmetrics' ? family.name : sampleName;
    lines.push(`# HELP ${declared} ${escapeHelp(family.help, format)}`);
    lines.push(`# TYPE ${declared} ${family.type}`);
    if (format === 'openmetrics' && family.unit !== undefined) lines.push(`# UNIT ${declared} ${family.unit}`);
    for (const sample of family.samples) {
      for (const label of Object.keys(sample.labels)) {
        if (!LABEL.test(label)) throw new Error(`bad label name ${label} on ${family.name}`);
      }
      lines.push(`${sampleName}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  if (format === 'openmetrics') lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

/** The format a scraper asked for in its Accept header (OpenMetrics only when it names it). */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}
