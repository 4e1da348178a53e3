// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The corpus of real rules (test/fixtures/real-rules/rules.tsv): read it, pass every line to
 * parseRule with its family, and count what is accepted and why the rest is refused. Pure: no
 * kernel, no files written. Shared by test/16-real-rules.test.ts and scripts/corpus.mjs so that
 * the number the test guards is the number the script prints.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseRule, renderRule } from '../../src/index';
import type { Family } from '../../src/rule/types';

// From __filename: tsx leaves __dirname unset when an ES module (scripts/corpus.mjs) imports this file.
export const CORPUS_FILE = path.join(path.dirname(__filename), '..', 'fixtures', 'real-rules', 'rules.tsv');

/** One line of the corpus, as collected (see the folder's README.md). */
export interface CorpusLine {
  /** 1-based line number in rules.tsv, for messages. */
  line: number;
  family: Family;
  table: string;
  chain: string;
  rule: string;
  hasConnlimit: boolean;
  source: string;
  note: string;
}

export interface Refusal {
  entry: CorpusLine;
  /** The grouping key: what the library lacks or refuses on purpose ("match module 'state'"). */
  reason: string;
  message: string;
  /** The error's code; a refusal of input is ERR_CONNLIMIT_INVALID. */
  code: string | undefined;
}

export interface Tally {
  accepted: number;
  total: number;
  /** accepted / total, 0 for an empty set. */
  rate: number;
}

export interface CorpusReport {
  all: Tally;
  connlimit: Tally;
  accepted: CorpusLine[];
  refused: Refusal[];
  /** reason -> [lines refused for it, of which connlimit lines], most frequent first. */
  reasons: Array<{ reason: string; count: number; connlimit: number }>;
}

/** Parse rules.tsv: tab-separated, `#` starts a comment line, seven columns. */
export function readCorpus(file = CORPUS_FILE): CorpusLine[] {
  const out: CorpusLine[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    if (text === '' || text.startsWith('#')) return;
    const cols = text.split('\t');
    if (cols.length !== 7) throw new Error(`${file}:${i + 1}: expected 7 tab-separated columns, got ${cols.length}`);
    const [family, table, chain, rule, has, source, note] = cols as [string, string, string, string, string, string, string];
    if (family !== 'ipv4' && family !== 'ipv6') throw new Error(`${file}:${i + 1}: family ${family}`);
    if (has !== 'yes' && has !== 'no') throw new Error(`${file}:${i + 1}: has_connlimit ${has}`);
    out.push({ line: i + 1, family, table, chain, rule, hasConnlimit: has === 'yes', source, note });
  });
  return out;
}

/**
 * The refusal's group. The parser names the module, target or option it stops at; the quoted
 * values inside a message (ports, names) are the user's and would split one cause into many.
 */
export function refusalReason(message: string): string {
  if (message.includes('abbreviations are not taken')) return 'abbreviated option (deliberate)';
  const m =
    /match module '([^']+)' is not supported/.exec(message) ??
    /target '([^']+)' is not supported/.exec(message) ??
    /unknown option (\S+)/.exec(message);
  if (m) {
    if (message.includes('match module')) return `match module '${m[1]}'`;
    if (message.includes('target')) return `target ${m[1]}`;
    return `option ${m[1]}`;
  }
  if (message.includes('is a service name')) return 'service name instead of a port (deliberate)';
  if (message.includes('a log prefix of')) return 'log prefix over 29 bytes (deliberate: the CLI cuts it silently)';
  if (message.includes('is a list: write -m multiport') || message.includes('is a list: one rule per port')) return 'port list without -m multiport';
  return message.replace(/^rule: /, '').replace(/'[^']*'/g, "'…'");
}

/** Run every line through parseRule (and every accepted one through renderRule) and tally. */
export function measureCorpus(lines: CorpusLine[] = readCorpus()): CorpusReport {
  const accepted: CorpusLine[] = [];
  const refused: Refusal[] = [];
  for (const entry of lines) {
    try {
      parseRule(entry.rule, { family: entry.family });
      accepted.push(entry);
    } catch (e) {
      const { message, code } = e as { message: string; code?: string };
      refused.push({ entry, reason: refusalReason(message), message, code });
    }
  }
  const tally = (all: CorpusLine[], ok: CorpusLine[]): Tally => ({
    accepted: ok.length,
    total: all.length,
    rate: all.length === 0 ? 0 : ok.length / all.length,
  });
  const groups = new Map<string, { reason: string; count: number; connlimit: number }>();
  for (const r of refused) {
    const g = groups.get(r.reason) ?? { reason: r.reason, count: 0, connlimit: 0 };
    g.count++;
    if (r.entry.hasConnlimit) g.connlimit++;
    groups.set(r.reason, g);
  }
  const conn = lines.filter((l) => l.hasConnlimit);
  return {
    all: tally(lines, accepted),
    connlimit: tally(conn, accepted.filter((l) => l.hasConnlimit)),
    accepted,
    refused,
    reasons: [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
  };
}

/** renderRule for an accepted line, with its chain, as the test checks it never throws. */
export function renderLine(entry: CorpusLine): string {
  return renderRule(parseRule(entry.rule, { family: entry.family }), { family: entry.family, chain: entry.chain });
}
