// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What the iptables CLI itself says of a corpus line (test/fixtures/real-rules/rules.tsv, the
 * `cli` column): the line is run as `iptables-legacy -t TABLE -A CHAIN RULE` and as
 * `iptables-nft ...` (ip6tables-* for ipv6 lines) inside a throwaway namespace, and the verdict
 * is `ok` when both take it, `refused: MESSAGE` when both refuse it, else which one refused.
 * Shared by scripts/corpus-cli.mjs (which writes the column) and test/19-real-rules-cli.test.ts
 * (which re-checks it), so the column says what the CLI says.
 *
 * What a real script would have around the line is made first, so that only the line is judged:
 * its chain when it is not built in (`-N`), the user chains it jumps to (created when the CLI
 * names one missing, then the line is tried again) and the ipsets it matches on or its `-j SET`
 * adds to or deletes from (`hash:ip`).
 * The words are split as a POSIX shell splits them (quotes, backslashes): the corpus keeps the
 * rule as written after the command word.
 */
import { BUILTIN_CHAINS, type TableName } from '../../src/table-shape';
import type { CorpusLine } from './real-rules';
import type { Netns } from './netns';

const BACKENDS = ['legacy', 'nft'] as const;

/** The words a POSIX shell makes of `text`, or null when a quote is left open. */
export function shellWords(text: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t') {
      if (word !== null) words.push(word);
      word = null;
      continue;
    }
    word ??= '';
    if (ch === '\\' && i + 1 < text.length) word += text[++i];
    else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) return null;
      word += text.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && '"\\$`'.includes(text[j + 1] ?? '')) j++;
        word += text[j];
      }
      if (j >= text.length) return null;
      i = j;
    } else word += ch;
  }
  if (word !== null) words.push(word);
  return words;
}

/** The CLI's message without its program banner and the "Try --help" line, on one line. */
function message(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^i?p?6?tables(-\w+)? v[\d.]+ \([^)]*\): /, '').trim())
    .filter((l) => l !== '' && !/^Try `/.test(l) && !/^Warning: /.test(l));
  return (lines[0] ?? 'refused').replace(/\s+/g, ' ');
}

/** The missing user chain a refusal names, if it names one. */
function missingChain(msg: string): string | null {
  const m = /[Cc]ouldn't load target `([^']+)'/.exec(msg) ?? /Chain '([^']+)' does not exist/.exec(msg);
  return m ? m[1]! : null;
}

/** One backend's verdict: 'ok' or the CLI's message. */
async function verdictOn(ns: Netns, backend: (typeof BACKENDS)[number], line: CorpusLine, words: string[]): Promise<string> {
  const cmd = `${line.family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}`;
  const table = line.table as TableName;
  const builtins = BUILTIN_CHAINS[table] ?? [];
  if (!builtins.includes(line.chain)) await ns.exec(cmd, ['-t', line.table, '-N', line.chain]);
  const made = new Set<string>();
  for (;;) {
    const r = await ns.exec(cmd, ['-w', '-t', line.table, '-A', line.chain, ...words], { timeoutMs: 20_000 });
    if (r.code === 0) return 'ok';
    const msg = message(r.stderr);
    const chain = missingChain(msg);
    if (chain === null || made.has(chain)) return msg;
    made.add(chain);
    await ns.exec(cmd, ['-t', line.table, '-N', chain]);
  }
}

/** The `cli` column of a line: `ok`, `refused: MESSAGE`, or which backend refused it. */
export async function cliVerdict(ns: Netns, line: CorpusLine): Promise<string> {
  const words = shellWords(line.rule);
  if (words === null) return 'refused: unbalanced quote (the shell refuses the line)';
  for (let i = 0; i + 1 < words.length; i++) {
    // -m set matches a set; -j SET adds to or deletes from one: the script made it first.
    if (words[i] === '--match-set' || words[i] === '--add-set' || words[i] === '--del-set') {
      await ns.exec('ipset', ['-exist', 'create', words[i + 1]!, 'hash:ip', 'family', line.family === 'ipv4' ? 'inet' : 'inet6']);
    }
  }
  const [legacy, nft] = await Promise.all(BACKENDS.map((b) => verdictOn(ns, b, line, words)));
  if (legacy === 'ok' && nft === 'ok') return 'ok';
  if (legacy !== 'ok' && nft !== 'ok') return `refused: ${legacy}`;
  return legacy === 'ok' ? `legacy ok, nft refused: ${nft}` : `nft ok, legacy refused: ${legacy}`;
}
