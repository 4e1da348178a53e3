// SPDX-License-Identifier: GPL-2.0-or-later
// `node --import tsx scripts/corpus.mjs [--json]`
//
// How much of the corpus of real rules (test/fixtures/real-rules/rules.tsv) the rule language
// accepts: each line goes to parseRule with its family; prints the score (the acceptance rate
// of the connlimit lines and of all lines among those the iptables CLI takes: the `cli` column,
// written by scripts/corpus-cli.mjs), the same over every line, the refusals grouped by what
// the parser stopped at (the first refusal of a line: a line refused for 'state' may also carry
// a LOG target), and the lines the CLI refuses.
// --json prints the same as one JSON object. Reads the tree's src/ (under tsx), writes nothing.
import { PER_SOURCE, measureCorpus } from '../test/helpers/real-rules.ts';

// `scripts/corpus.mjs | head`: a reader that goes away ends the report, quietly.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const json = process.argv.slice(2).includes('--json');
const report = measureCorpus();
const pct = (rate) => `${(rate * 100).toFixed(1)}%`;
const line = (t) =>
  `${t.accepted}/${t.total} (${pct(t.rate)}) from ${t.sources} sources; at most ${PER_SOURCE} lines a source: ${t.weighted.accepted.toFixed(1)}/${t.weighted.total.toFixed(1)} (${pct(t.weighted.rate)})`;
const cliRefused = new Set(report.cliRefused);

if (json) {
  process.stdout.write(`${JSON.stringify({
    score: { connlimit: report.cliConnlimit, all: report.cliAll },
    collected: { connlimit: report.connlimit, all: report.all },
    reasons: report.reasons,
    refused: report.refused.map((r) => ({ line: r.entry.line, connlimit: r.entry.hasConnlimit, cli: r.entry.cli, reason: r.reason, message: r.message, rule: r.entry.rule })),
  }, null, 2)}\n`);
} else {
  console.log('the score: lines the iptables CLI takes');
  console.log(`  connlimit lines accepted: ${line(report.cliConnlimit)}`);
  console.log(`  all lines accepted:       ${line(report.cliAll)}`);
  console.log(`every line collected (${report.cliRefused.length} of them the CLI refuses too)`);
  console.log(`  connlimit lines accepted: ${line(report.connlimit)}`);
  console.log(`  all lines accepted:       ${line(report.all)}`);
  console.log('');
  console.log('refusals of lines the CLI takes, by first reason (count, of which connlimit lines):');
  const groups = new Map();
  for (const r of report.refused) {
    if (cliRefused.has(r.entry)) continue;
    const g = groups.get(r.reason) ?? { reason: r.reason, count: 0, connlimit: 0 };
    g.count++;
    if (r.entry.hasConnlimit) g.connlimit++;
    groups.set(r.reason, g);
  }
  const sorted = [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  const width = Math.max(6, ...sorted.map((g) => g.reason.length));
  for (const g of sorted) console.log(`  ${g.reason.padEnd(width)}  ${String(g.count).padStart(4)}  ${String(g.connlimit).padStart(4)}`);
  console.log('');
  console.log('lines the CLI refuses (refused here too, with a typed code):');
  for (const l of report.cliRefused) console.log(`  ${String(l.line).padStart(4)} ${l.hasConnlimit ? 'C' : ' '} ${l.cli}`);
}
