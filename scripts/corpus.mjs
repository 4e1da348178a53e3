// SPDX-License-Identifier: GPL-2.0-or-later
// `node --import tsx scripts/corpus.mjs [--json]`
//
// How much of the corpus of real rules (test/fixtures/real-rules/rules.tsv) the rule language
// accepts: each line goes to parseRule with its family; prints the acceptance rate of the
// connlimit lines and of all lines, and the refusals grouped by what the parser stopped at
// (the first refusal of a line: a line refused for 'state' may also carry a LOG target).
// --json prints the same as one JSON object. Reads the tree's src/ (under tsx), writes nothing.
import { measureCorpus } from '../test/helpers/real-rules.ts';

// `scripts/corpus.mjs | head`: a reader that goes away ends the report, quietly.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const json = process.argv.slice(2).includes('--json');
const report = measureCorpus();
const pct = (t) => `${(t.rate * 100).toFixed(1)}%`;

if (json) {
  process.stdout.write(`${JSON.stringify({
    connlimit: report.connlimit,
    all: report.all,
    reasons: report.reasons,
    refused: report.refused.map((r) => ({ line: r.entry.line, connlimit: r.entry.hasConnlimit, reason: r.reason, message: r.message, rule: r.entry.rule })),
  }, null, 2)}\n`);
} else {
  const { connlimit, all } = report;
  console.log(`connlimit lines accepted: ${connlimit.accepted}/${connlimit.total} (${pct(connlimit)})`);
  console.log(`all lines accepted:       ${all.accepted}/${all.total} (${pct(all)})`);
  console.log('');
  console.log('refusals by first reason (count, of which connlimit lines):');
  const width = Math.max(6, ...report.reasons.map((g) => g.reason.length));
  for (const g of report.reasons) console.log(`  ${g.reason.padEnd(width)}  ${String(g.count).padStart(4)}  ${String(g.connlimit).padStart(4)}`);
}
