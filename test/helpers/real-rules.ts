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
  /**
   * What the iptables CLI says of the line (test/helpers/cli-verdict.ts): `ok`, `refused: ...`,
   * or which of legacy and nft refused it; '' before scripts/corpus-cli.mjs has recorded it.
   */
  cli: string;
}

export interface Refusal {
  entry: CorpusLine;
  /** The grouping key: what the library lacks or refuses on purpose ("match module 'state'"). */
  reason: string;
  message: string;
  /** The error's code; a refusal of input is ERR_CONNLIMIT_INVALID. */
  code: string | undefined;
}

/** The most lines of one source a score counts (README.md in the corpus folder, "Scoring"). */
export const PER_SOURCE = 3;

export interface Tally {
  accepted: number;
  total: number;
  /** accepted / total, 0 for an empty set. */
  rate: number;
  /** How many sources the lines come from. */
  sources: number;
  /**
   * The same with each line weighing min(1, PER_SOURCE / n), n being its source's lines in the
   * tally: no source counts for more than PER_SOURCE lines (one 2003 script's six `--mac` lines
   * count as three).
   */
  weighted: { accepted: number; total: number; rate: number };
}

export interface CorpusReport {
  /** Every line, as collected. */
  all: Tally;
  connlimit: Tally;
  /** The score (issue 16's targets): the lines the iptables CLI takes (`cli` is not `refused: ...`). */
  cliAll: Tally;
  cliConnlimit: Tally;
  /** Lines both CLIs refuse: not rules at all, reported apart; each must be refused here too. */
  cliRefused: CorpusLine[];
  accepted: CorpusLine[];
  refused: Refusal[];
  /** reason -> [lines refused for it, of which connlimit lines], most frequent first. */
  reasons: Array<{ reason: string; count: number; connlimit: number }>;
}

/** Parse rules.tsv: tab-separated, `#` starts a comment line, seven columns and the `cli` verdict. */
export function readCorpus(file = CORPUS_FILE): CorpusLine[] {
  const out: CorpusLine[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    if (text === '' || text.startsWith('#')) return;
    const cols = text.split('\t');
    if (cols.length !== 7 && cols.length !== 8) throw new Error(`${file}:${i + 1}: expected 8 tab-separated columns, got ${cols.length}`);
    const [family, table, chain, rule, has, source, note, cli = ''] = cols as [string, string, string, string, string, string, string, string?];
    if (family !== 'ipv4' && family !== 'ipv6') throw new Error(`${file}:${i + 1}: family ${family}`);
    if (has !== 'yes' && has !== 'no') throw new Error(`${file}:${i + 1}: has_connlimit ${has}`);
    out.push({ line: i + 1, family, table, chain, rule, hasConnlimit: has === 'yes', source, note, cli });
  });
  return out;
}

/**
 * The refusal's group. The parser names the module, target or option it stops at; the quoted
 * values inside a message (ports, names) are the user's and would split one cause into many.
 */
export function refusalReason(message: string): string {
  if (message.includes('abbreviations are not taken')) return 'abbreviated option (deliberate)';
  if (/unknown option --(\s|$)/.test(message)) return "a bare `--` (deliberate: getopt's end of options)";
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
  const plen = /'(\d+)' is not a prefix length 0-32/.exec(message);
  if (plen && Number(plen[1]) > 32) return 'prefix length over 32 in IPv4 (deliberate: the CLI silently makes it 32)';
  if (message.includes('a log prefix of')) return 'log prefix over 29 bytes (deliberate: the CLI cuts it silently)';
  if (/'\d+(\.\d+){0,2}' is not an IPv4 address/.test(message)) return "IPv4 address in inet_aton's short form, `0/0` (deliberate: full dotted quads)";
  if (message.includes('is a list: the CLI would add one rule per')) return 'address list (deliberate: the CLI would add one rule per address)';
  if (message.includes('are not all in the mask') || message.includes('is backwards (from > to)')) return 'a rule that can never match (deliberate: the CLI writes it)';
  if (/--hashlimit-burst takes .* not '\d+\//.test(message)) return 'a rate where a burst goes (deliberate: the CLI reads the number before the /)';
  if (message.includes('--hashlimit-htable-size takes')) return 'hashlimit table size over 1048576 (deliberate: the kernel silently lowers it)';
  if (/interface name '[^']*' is not valid/.test(message)) return 'interface name no device can have (deliberate: the CLI warns and writes a rule that never matches)';
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
  const ok = new Set(accepted);
  const tally = (all: CorpusLine[]): Tally => {
    const perSource = new Map<string, number>();
    for (const l of all) perSource.set(l.source, (perSource.get(l.source) ?? 0) + 1);
    const weight = (l: CorpusLine) => Math.min(1, PER_SOURCE / perSource.get(l.source)!);
    const acc = all.filter((l) => ok.has(l));
    const wTotal = all.reduce((n, l) => n + weight(l), 0);
    const wAcc = acc.reduce((n, l) => n + weight(l), 0);
    return {
      accepted: acc.length,
      total: all.length,
      rate: all.length === 0 ? 0 : acc.length / all.length,
      sources: perSource.size,
      weighted: { accepted: wAcc, total: wTotal, rate: wTotal === 0 ? 0 : wAcc / wTotal },
    };
  };
  const groups = new Map<string, { reason: string; count: number; connlimit: number }>();
  for (const r of refused) {
    const g = groups.get(r.reason) ?? { reason: r.reason, count: 0, connlimit: 0 };
    g.count++;
    if (r.entry.hasConnlimit) g.connlimit++;
    groups.set(r.reason, g);
  }
  const rules = lines.filter((l) => !cliRefuses(l));
  return {
    all: tally(lines),
    connlimit: tally(lines.filter((l) => l.hasConnlimit)),
    cliAll: tally(rules),
    cliConnlimit: tally(rules.filter((l) => l.hasConnlimit)),
    cliRefused: lines.filter(cliRefuses),
    accepted,
    refused,
    reasons: [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
  };
}

/** Whether both CLIs refuse the line (its `cli` verdict), so it is no rule at all. */
export function cliRefuses(l: CorpusLine): boolean {
  return l.cli.startsWith('refused: ');
}

/** renderRule for an accepted line, with its chain, as the test checks it never throws. */
export function renderLine(entry: CorpusLine): string {
  return renderRule(parseRule(entry.rule, { family: entry.family }), { family: entry.family, chain: entry.chain });
}
