// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A strict reader of the Prometheus text format (0.0.4) and OpenMetrics 1.0, for tests: every
 * rule a scraper (or `promtool check metrics`) holds a text to is checked, and any line it does
 * not understand fails. Returns the samples with their labels unescaped.
 */
import * as assert from 'uvu/assert';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: string;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\n"])*)"(,|$)/y;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;

function parseLabels(body: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let at = 0;
  while (at < body.length) {
    LABEL_PAIR.lastIndex = at;
    const l = LABEL_PAIR.exec(body);
    assert.ok(l, `bad labels at ${at}: ${line}`);
    const name = l[1] as string;
    assert.not.ok(name in labels, `label ${name} twice: ${line}`);
    labels[name] = (l[2] as string).replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    at = LABEL_PAIR.lastIndex;
    assert.ok(l[3] === ',' ? at < body.length : at === body.length, `trailing comma: ${line}`);
  }
  return labels;
}

export function checkExposition(text: string, format: 'prometheus' | 'openmetrics'): ParsedSample[] {
  const om = format === 'openmetrics';
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (om) assert.is(lines.pop(), '# EOF', 'OpenMetrics ends with # EOF');
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const finished = new Set<string>();
  const series = new Set<string>();
  const out: ParsedSample[] = [];
  // The family whose block the lines are in.
  const at: { family: string | null } = { family: null };
  const enter = (family: string) => {
    if (at.family === family) return;
    assert.not.ok(finished.has(family), `family ${family} is split`);
    if (at.family !== null) finished.add(at.family);
    at.family = family;
  };
  for (const line of lines) {
    if (line === '') {
      assert.not.ok(om, 'OpenMetrics has no blank lines');
      continue;
    }
    const meta = /^# (HELP|TYPE|UNIT) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, family, rest = ''] = meta as unknown as [string, string, string, string?];
      assert.match(family, NAME, line);
      enter(family);
      if (kind === 'HELP') {
        assert.not.ok(helped.has(family), `HELP twice: ${line}`);
        assert.not.ok(/\\[^\\n"]/.test(rest.replace(/\\\\/g, '')), `bad escape in HELP: ${line}`);
        helped.add(family);
      } else if (kind === 'TYPE') {
        assert.not.ok(types.has(family), `TYPE twice: ${line}`);
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'unknown', 'info', 'stateset'].includes(rest), line);
        if (om) assert.not.ok(rest === 'counter' && family.endsWith('_total'), `OpenMetrics names a counter family without _total: ${line}`);
        types.set(family, rest);
      } else {
        assert.ok(om, `UNIT is OpenMetrics only: ${line}`);
      }
      continue;
    }
    assert.not.ok(line.startsWith('#'), `stray comment: ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable line: ${line}`);
    const name = m[1] as string;
    const family = om && at.family !== null && types.get(at.family) === 'counter' && name === `${at.family}_total` ? at.family : name;
    assert.is(family, at.family, `sample outside its family's block (or before its TYPE): ${line}`);
    assert.ok(types.has(family), `sample without TYPE: ${line}`);
    if (!om && types.get(family) === 'counter') assert.ok(name.endsWith('_total'), `counter sample without _total: ${line}`);
    assert.match(m[3] as string, VALUE, line);
    const labels = parseLabels(m[2] ?? '', line);
    const id = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
    assert.not.ok(series.has(id), `duplicate series: ${line}`);
    series.add(id);
    out.push({ name, labels, value: m[3] as string });
  }
  return out;
}
