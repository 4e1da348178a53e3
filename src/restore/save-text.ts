// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * iptables-save text (the format of /etc/iptables/rules.v4) cut into its tables, line by line
 * as iptables-restore 1.8.9 reads it: `*table`, `:CHAIN POLICY [packets:bytes]`, rule lines,
 * `COMMIT`; empty lines and lines starting with `#` are skipped. Only the structure is checked
 * here; the rules are parsed by the table that restores them (src/restore/restore.ts), since
 * what a rule may say depends on its table. Every problem names its line.
 */
import { quote } from '../echo';
import { invalid } from '../errors';
import { BUILTIN_CHAINS, type TableName } from '../table-shape';

export type RestorePolicy = 'ACCEPT' | 'DROP';

/** `:NAME POLICY [p:b]`: policy null for `-` (a user chain's, or a built-in chain's left as it is). */
export interface SaveChainLine {
  line: number;
  /** How many of the section's rule lines come before it. */
  after: number;
  /** The line as written, for error messages. */
  text: string;
  name: string;
  builtin: boolean;
  policy: RestorePolicy | null;
}

/**
 * The rule lines of a section (`[p:b] -A CHAIN rule`), kept as numbers into the input text, not
 * as an object and strings per line: a 10k-rule table would otherwise keep ~40k small objects
 * alive until its commit, each copied by every young-generation collection meanwhile. A rule's
 * text is cut out when it is parsed; a line's text only for an error.
 */
export class SaveRuleLines {
  private readonly lines: number[] = [];
  private readonly lineStarts: number[] = [];
  private readonly ruleStarts: number[] = [];
  private readonly lineEnds: number[] = [];
  // Consecutive lines naming one chain share one string, so a chain is checked once per run.
  private readonly chains: string[] = [];

  constructor(private readonly source: string) {}

  get length(): number {
    return this.lines.length;
  }

  /** Line `n`, `source[start, end)`, when it is `[p:b] -A CHAIN rule` as iptables-save writes it; else false. */
  add(n: number, start: number, end: number): boolean {
    const s = this.source;
    let p = start;
    if (s.charCodeAt(p) === 91 /* [ */) {
      p = skipCounters(s, p, end);
      if (p < 0) return false;
    }
    if (s.startsWith('-A', p)) p += 2;
    else if (s.startsWith('--append', p)) p += 8;
    else return false;
    const chainStart = skipBlanks(s, p, end);
    if (chainStart === p || chainStart === end) return false;
    p = chainStart;
    while (p < end && !isBlank(s.charCodeAt(p))) p++;
    const last = this.chains[this.chains.length - 1];
    const same = last !== undefined && last.length === p - chainStart && s.startsWith(last, chainStart);
    this.chains.push(same ? last : s.slice(chainStart, p));
    this.lines.push(n);
    this.lineStarts.push(start);
    this.ruleStarts.push(skipBlanks(s, p, end));
    this.lineEnds.push(end);
    return true;
  }

  /** The input line number of rule line `i`. */
  line(i: number): number {
    return this.lines[i] as number;
  }

  /** The chain rule line `i` appends to. */
  chain(i: number): string {
    return this.chains[i] as string;
  }

  /** The rule of line `i`: its text after `-A CHAIN`, counters dropped. */
  rule(i: number): string {
    return this.source.slice(this.ruleStarts[i], this.lineEnds[i]);
  }

  /** Rule line `i` as written, for error messages. */
  text(i: number): string {
    return this.source.slice(this.lineStarts[i], this.lineEnds[i]);
  }

  /** The index of the rule line on input line `n`, or -1. */
  indexOfLine(n: number): number {
    let lo = 0;
    let hi = this.lines.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.lines[mid] as number;
      if (at === n) return mid;
      if (at < n) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

function skipBlanks(s: string, p: number, end: number): number {
  while (p < end && isBlank(s.charCodeAt(p))) p++;
  return p;
}

function skipDigits(s: string, p: number, end: number): number {
  while (p < end && s.charCodeAt(p) >= 48 && s.charCodeAt(p) <= 57) p++;
  return p;
}

/** Past `[\d+:\d+][ \t]+` at `p` (RULE_COUNTERS), or -1 when it isn't there. */
function skipCounters(s: string, p: number, end: number): number {
  const packets = skipDigits(s, p + 1, end);
  if (packets === p + 1 || s.charCodeAt(packets) !== 58 /* : */) return -1;
  const bytes = skipDigits(s, packets + 1, end);
  if (bytes === packets + 1 || s.charCodeAt(bytes) !== 93 /* ] */) return -1;
  const after = skipBlanks(s, bytes + 1, end);
  return after === bytes + 1 ? -1 : after;
}

/** One `*table` ... `COMMIT` part. */
export interface SaveSection {
  table: TableName;
  /** The line of `*table`. */
  line: number;
  /** Its chain lines, in input order. */
  chains: SaveChainLine[];
  /** Its rule lines, in input order. */
  rules: SaveRuleLines;
}

const CHAIN_LINE = /^:(\S+)[ \t]+(\S+)(?:[ \t]+\[\d+:\d+\])?[ \t]*$/;
/** iptables-save -c puts a rule's counters first. */
const RULE_COUNTERS = /^\[\d+:\d+\][ \t]+/;

/** A problem on line `n`: ERR_CONNLIMIT_INVALID with path `line N`, quoting the line. */
export function lineError(n: number, text: string, message: string): never {
  invalid(`line ${n}`, `${quote(text)}: ${message}`);
}

/**
 * The tables of an input, in order.
 * @throws {ERR_CONNLIMIT_INVALID} path `line N`: a line outside a table, a table named twice or
 *   not closed by COMMIT, an unknown table, a malformed chain line, a policy a chain can't have,
 *   a chain declared twice in one table, a command other than -A
 * @example parseSaveText('*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n')[0].entries.length // 2
 */
export function parseSaveText(text: string): SaveSection[] {
  if (typeof text !== 'string') invalid('text', 'expected iptables-save text as a string');
  const sections: SaveSection[] = [];
  let current: SaveSection | null = null;
  let declared = new Set<string>();
  // Lines as text.split('\n') cuts them, walked in place: a rule line is not cut out here.
  let n = 0;
  for (let start = 0; start <= text.length; ) {
    n++;
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const lineStart = start;
    start = end + 1;
    const first = text.charCodeAt(lineStart);
    if (first === 35 /* # */) continue;
    if (first === 45 /* - */ && current !== null && text.charCodeAt(end - 1) !== 13 /* \r */ && current.rules.add(n, lineStart, end)) continue;
    const line = text.slice(lineStart, end);
    if (line.endsWith('\r')) lineError(n, line, 'ends with a carriage return: the file has CRLF line ends, which iptables-restore refuses too (convert it, e.g. with dos2unix)');
    if (line.trim() === '') continue;
    if (line.startsWith('*')) {
      if (current) lineError(n, line, `a new table before the COMMIT of *${current.table} (line ${current.line})`);
      const table = line.slice(1).trim();
      if (!Object.hasOwn(BUILTIN_CHAINS, table)) lineError(n, line, `no table ${quote(table)} (known: ${Object.keys(BUILTIN_CHAINS).join(', ')})`);
      const twice = sections.find((s) => s.table === table);
      if (twice) lineError(n, line, `table ${table} again (first at line ${twice.line}): each table may appear once`);
      current = { table: table as TableName, line: n, chains: [], rules: new SaveRuleLines(text) };
      declared = new Set();
      continue;
    }
    if (!current) lineError(n, line, 'outside a table: expected *TABLE first');
    if (/^COMMIT[ \t]*$/.test(line)) {
      sections.push(current);
      current = null;
      continue;
    }
    if (line.startsWith(':')) {
      current.chains.push(chainLine(n, line, current.table, declared, current.rules.length));
      continue;
    }
    if (!current.rules.add(n, lineStart, end)) notRestored(n, line);
  }
  if (current) lineError(current.line, `*${current.table}`, `no COMMIT before the end of the input (line ${n}): nothing of this table is restored`);
  return sections;
}

function chainLine(n: number, line: string, table: TableName, declared: Set<string>, after: number): SaveChainLine {
  const m = CHAIN_LINE.exec(line);
  if (!m) lineError(n, line, 'expected :CHAIN POLICY [packets:bytes]');
  const [, name, policy] = m as unknown as [string, string, string];
  if (declared.has(name)) lineError(n, line, `chain ${quote(name)} is declared twice in *${table}`);
  declared.add(name);
  const builtin = BUILTIN_CHAINS[table].includes(name);
  if (policy === '-') return { line: n, after, text: line, name, builtin, policy: null };
  if (!builtin) lineError(n, line, `a user chain has no policy: write '-', not ${quote(policy)}`);
  if (policy !== 'ACCEPT' && policy !== 'DROP') lineError(n, line, `policy ${quote(policy)}: a built-in chain's policy is ACCEPT or DROP`);
  return { line: n, after, text: line, name, builtin, policy };
}

/** Why line `n`, not a rule line as iptables-save writes them, is refused. */
function notRestored(n: number, line: string): never {
  const command = line.replace(RULE_COUNTERS, '').split(/[ \t]/)[0] ?? '';
  const what = command.startsWith('-') ? `the command ${quote(command)}` : 'this line';
  lineError(n, line, `${what} is not restored: rule lines are -A CHAIN RULE, as iptables-save writes them`);
}

/** Input line `n` of a section (a chain or rule line) as written, for messages; '' for another line. */
export function lineText(section: SaveSection, n: number): string {
  const i = section.rules.indexOfLine(n);
  if (i >= 0) return section.rules.text(i);
  return section.chains.find((c) => c.line === n)?.text ?? '';
}
