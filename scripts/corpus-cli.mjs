// SPDX-License-Identifier: GPL-2.0-or-later
// `node --import tsx scripts/corpus-cli.mjs [--check]` (as root)
//
// Writes the `cli` column of the corpus of real rules (test/fixtures/real-rules/rules.tsv): what
// iptables-legacy and iptables-nft (ip6tables-* for ipv6 lines) say of each line, run in a
// throwaway network namespace (test/helpers/cli-verdict.ts). --check writes nothing and exits 1
// when a recorded verdict differs from the CLI's (test/19-real-rules-cli.test.ts does the same).
import { readFileSync, writeFileSync } from 'node:fs';
import { CORPUS_FILE, readCorpus } from '../test/helpers/real-rules.ts';
import { cliVerdict } from '../test/helpers/cli-verdict.ts';
import { createNetns } from '../test/helpers/netns.ts';

const check = process.argv.slice(2).includes('--check');
const lines = readCorpus();
const ns = await createNetns();
const verdicts = new Map();
try {
  for (const l of lines) verdicts.set(l.line, await cliVerdict(ns, l));
} finally {
  await ns.destroy();
}

let differ = 0;
for (const l of lines) {
  if (l.cli !== verdicts.get(l.line)) {
    differ++;
    if (check) console.log(`line ${l.line}: recorded ${JSON.stringify(l.cli)}, the CLI says ${JSON.stringify(verdicts.get(l.line))}`);
  }
}
if (check) {
  console.log(`${lines.length} lines, ${differ} verdicts differ`);
  process.exit(differ ? 1 : 0);
}
const text = readFileSync(CORPUS_FILE, 'utf8').split('\n').map((row, i) => {
  if (row === '' || row.startsWith('#')) return row;
  const cols = row.split('\t').slice(0, 7);
  return [...cols, verdicts.get(i + 1)].join('\t');
});
writeFileSync(CORPUS_FILE, text.join('\n'));
const ok = [...verdicts.values()].filter((v) => v === 'ok').length;
console.log(`${lines.length} lines: ${ok} ok, ${lines.length - ok} refused by a CLI; ${differ} verdicts changed`);
