// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The options of `count`, `watch` and `top`: a conntrack filter in conntrack(8)'s words
 * (-p, -s, -d, --sport, --dport, --state, --mark, --zone) and how to key and show the counts.
 */
import { parseArgs } from 'node:util';
import type { ConntrackFilter, Family, PortSpec, TcpState } from '../index';
import { argumentsError, joinValues, type CommonOptions } from './args';
import { usageError } from './usage-error';
import { quote } from '../echo';

export interface CtInvocation {
  filter: ConntrackFilter;
  by: 'source' | 'destination';
  mask?: number;
  mask6?: number;
  top?: number;
  /** A connlimit rule in iptables syntax: count what it counts, with its limit. */
  rule?: string;
  threshold?: number;
  /** top: refresh period. */
  intervalMs: number;
  /** watch: how long a threshold crossing must last before it is printed. */
  holdMs: number;
}

const OPTIONS = {
  protocol: { type: 'string', short: 'p' },
  source: { type: 'string', short: 's' },
  destination: { type: 'string', short: 'd' },
  sport: { type: 'string' },
  dport: { type: 'string' },
  state: { type: 'string' },
  mark: { type: 'string' },
  zone: { type: 'string' },
  by: { type: 'string' },
  mask: { type: 'string' },
  mask6: { type: 'string' },
  top: { type: 'string' },
  rule: { type: 'string' },
  threshold: { type: 'string' },
  interval: { type: 'string' },
  hold: { type: 'string' },
  'all-states': { type: 'boolean' },
} as const;

function whole(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : NaN;
  if (!Number.isSafeInteger(n) || n > max) usageError(`--${name}`, `expected a whole number up to ${max}, got ${quote(text)}`);
  return n;
}

function port(name: string, text: string | undefined): PortSpec | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) usageError(`--${name}`, `expected PORT or FROM:TO, got ${quote(text)}`);
  const from = Number(m[1]);
  return m[2] === undefined ? from : { from, to: Number(m[2]) };
}

export function parseCtInvocation(rest: string[], common: CommonOptions): CtInvocation {
  let values: Record<string, string | undefined>;
  let allStates: boolean;
  try {
    const parsed = parseArgs({ args: joinValues(rest, OPTIONS), options: OPTIONS, strict: true, allowPositionals: false });
    const { 'all-states': all, ...strings } = parsed.values;
    allStates = all === true;
    values = strings;
  } catch (e) {
    argumentsError(e);
  }
  const filter: ConntrackFilter = {};
  if (common.family !== undefined) filter.family = common.family as Family;
  if (values.protocol !== undefined) filter.protocol = (/^\d+$/.test(values.protocol) ? Number(values.protocol) : values.protocol) as ConntrackFilter['protocol'];
  if (values.source !== undefined) filter.source = values.source;
  if (values.destination !== undefined) filter.destination = values.destination;
  const sport = port('sport', values.sport);
  const dport = port('dport', values.dport);
  if (sport !== undefined) filter.sport = sport;
  if (dport !== undefined) filter.dport = dport;
  if (values.state !== undefined) filter.state = values.state.toUpperCase().split(',') as TcpState[];
  // Live connections, as connlimit counts them, unless every entry is asked for or --state
  // names the states itself.
  else if (!allStates) filter.live = true;
  if (values.mark !== undefined) {
    const [value, mask] = values.mark.split('/');
    const v = whole('mark', value, 0xffffffff) as number;
    filter.mark = mask === undefined ? v : { value: v, mask: whole('mark', mask, 0xffffffff) as number };
  }
  const zone = whole('zone', values.zone, 0xffff);
  if (zone !== undefined) filter.zone = zone;

  const by = values.by ?? 'source';
  if (by !== 'source' && by !== 'destination') usageError('--by', `expected source or destination, got ${quote(by)}`);
  const out: CtInvocation = {
    filter,
    by,
    intervalMs: whole('interval', values.interval, 3_600_000) ?? 1000,
    holdMs: whole('hold', values.hold, 3_600_000) ?? 1000,
  };
  const mask = whole('mask', values.mask, 128);
  const mask6 = whole('mask6', values.mask6, 128);
  const top = whole('top', values.top, 0xffffffff);
  const threshold = whole('threshold', values.threshold, 0xffffffff);
  if (mask !== undefined) out.mask = mask;
  if (mask6 !== undefined) out.mask6 = mask6;
  if (top !== undefined) out.top = top;
  if (threshold !== undefined) out.threshold = threshold;
  if (values.rule !== undefined) {
    const other = Object.keys(values).filter((k) => !['rule', 'top', 'threshold', 'interval', 'hold'].includes(k));
    if (other.length > 0) usageError(`--${other[0]}`, 'a --rule brings its own filter and key; drop the other options');
    if (allStates) usageError('--all-states', 'a --rule counts live connections, as the kernel\'s connlimit does');
    out.rule = values.rule;
  }
  if (out.intervalMs < 50) usageError('--interval', 'must be at least 50 ms');
  return out;
}
