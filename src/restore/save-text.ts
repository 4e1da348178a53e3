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
  kind: 'chain';
  line: number;
  /** The line as written, for error messages. */
  text: string;
  name: string;
  builtin: boolean;
  policy: RestorePolicy | null;
}

/** `[p:b] -A CHAIN rule`: the chain and the rule's own text, counters dropped. */
export interface SaveRuleLine {
  kind: 'rule';
  line: number;
  /** The line as written, for error messages. */
  text: string;
  chain: string;
  rule: string;
}

/** One `*table` ... `COMMIT` part, its lines in input order. */
export interface SaveSection {
  table: TableName;
  /** The line of `*table`. */
  line: number;
  entries: (SaveChainLine | SaveRuleLine)[];
}

const CHAIN_LINE = /^:(\S+)[ \t]+(\S+)(?:[ \t]+\[\d+:\d+\])?[ \t]*$/;
/** iptables-save -c puts a rule's counters first. */
const RULE_COUNTERS = /^\[\d+:\d+\][ \t]+/;
const APPEND = /^(?:-A|--append)[ \t]+([^ \t]+)(?:[ \t]+([\s\S]*))?$/;

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
  const lines = text.split('\n');
  let current: SaveSection | null = null;
  let declared = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i] as string;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\r')) lineError(n, line, 'ends with a carriage return: the file has CRLF line ends, which iptables-restore refuses too (convert it, e.g. with dos2unix)');
    if (line.trim() === '') continue;
    if (line.startsWith('*')) {
      if (current) lineError(n, line, `a new table before the COMMIT of *${current.table} (line ${current.line})`);
      const table = line.slice(1).trim();
      if (!Object.hasOwn(BUILTIN_CHAINS, table)) lineError(n, line, `no table ${quote(table)} (known: ${Object.keys(BUILTIN_CHAINS).join(', ')})`);
      const twice = sections.find((s) => s.table === table);
      if (twice) lineError(n, line, `table ${table} again (first at line ${twice.line}): each table may appear once`);
      current = { table: table as TableName, line: n, entries: [] };
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
      current.entries.push(chainLine(n, line, current.table, declared));
      continue;
    }
    current.entries.push(ruleLine(n, line));
  }
  if (current) lineError(current.line, `*${current.table}`, `no COMMIT before the end of the input (line ${lines.length}): nothing of this table is restored`);
  return sections;
}

function chainLine(n: number, line: string, table: TableName, declared: Set<string>): SaveChainLine {
  const m = CHAIN_LINE.exec(line);
  if (!m) lineError(n, line, 'expected :CHAIN POLICY [packets:bytes]');
  const [, name, policy] = m as unknown as [string, string, string];
  if (declared.has(name)) lineError(n, line, `chain ${quote(name)} is declared twice in *${table}`);
  declared.add(name);
  const builtin = BUILTIN_CHAINS[table].includes(name);
  if (policy === '-') return { kind: 'chain', line: n, text: line, name, builtin, policy: null };
  if (!builtin) lineError(n, line, `a user chain has no policy: write '-', not ${quote(policy)}`);
  if (policy !== 'ACCEPT' && policy !== 'DROP') lineError(n, line, `policy ${quote(policy)}: a built-in chain's policy is ACCEPT or DROP`);
  return { kind: 'chain', line: n, text: line, name, builtin, policy };
}

function ruleLine(n: number, line: string): SaveRuleLine {
  const text = line.replace(RULE_COUNTERS, '');
  const m = APPEND.exec(text);
  if (!m) {
    const command = text.split(/[ \t]/)[0] ?? '';
    const what = command.startsWith('-') ? `the command ${quote(command)}` : 'this line';
    lineError(n, line, `${what} is not restored: rule lines are -A CHAIN RULE, as iptables-save writes them`);
  }
  return { kind: 'rule', line: n, text: line, chain: m[1] as string, rule: m[2] ?? '' };
}
