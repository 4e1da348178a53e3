// SPDX-License-Identifier: GPL-2.0-or-later
// Row 10: a real firewall script's rules, written by the library beside the CLI. The lines of
// the corpus of real rules (test/fixtures/real-rules) that both the library and the CLI take,
// IPv4 and table filter, without jumps (their chains) or sets (theirs), all appended to one user
// chain of a fresh namespace (a user chain takes every line whatever its built-in chain was):
// one library transaction, one library call per line, and one CLI process per line (what a
// script does). The chain is flushed, untimed, after each variant. Ratios are the claim.
import { parseRule } from '../../src/index.ts';
import { cliRefuses, measureCorpus } from '../../test/helpers/real-rules.ts';
import { shellWords } from '../../test/helpers/cli-verdict.ts';
import { benchNetns, cell, interleave, ratio, table } from './lib.mjs';

const CHAIN = 'CORPUS';

/** The corpus lines this row writes: accepted here and by the CLI, IPv4 filter, no jump, no set. */
function scriptLines() {
  return measureCorpus().accepted.filter((l) => {
    if (l.family !== 'ipv4' || l.table !== 'filter' || cliRefuses(l) || /--(match|add|del|map)-set\b/.test(l.rule)) return false;
    const kind = parseRule(l.rule, { family: 'ipv4' }).target?.kind;
    return kind !== 'jump' && kind !== 'goto';
  });
}

async function scriptRow(ctx, backend, lines, rounds) {
  const ns = await benchNetns(ctx.tmp);
  try {
    const fw = await ctx.Firewall.open({ family: 'ipv4', backend, netns: ns.path, lockPath: ns.lockPath });
    await fw.createChain(CHAIN);
    const words = lines.map((l) => shellWords(l.rule));
    const cli = `iptables-${backend}`;
    const r = await interleave(
      {
        transaction: () => fw.transaction((tx) => void lines.forEach((l) => tx.append(CHAIN, l.rule))),
        perCall: async () => {
          for (const l of lines) await fw.append(CHAIN, l.rule);
        },
        cli: async () => {
          for (const w of words) await ns.exec(cli, ['-w', '-A', CHAIN, ...w]);
        },
      },
      rounds,
      { between: () => fw.flush(CHAIN) },
    );
    await fw.close();
    return r;
  } finally {
    await ns.done();
  }
}

export async function run(ctx) {
  const lines = scriptLines();
  const rows = [];
  for (const backend of ['legacy', 'nft']) {
    ctx.log(`row 10: ${lines.length} corpus lines on ${backend}: one transaction, one call each, one CLI process each`);
    const r = await scriptRow(ctx, backend, lines, ctx.quick ? 2 : 7);
    rows.push([backend, lines.length, cell(r.transaction), cell(r.perCall), cell(r.cli), ratio(r.cli.median, r.transaction.median), ratio(r.cli.median, r.perCall.median), r.cli.n]);
  }
  return {
    sections: [
      {
        heading: 'Row 10 · A real script: the corpus lines written by the library beside the CLI',
        table: table(['backend', 'lines', 'one transaction', 'one call each', 'one CLI process each', 'CLI / transaction', 'CLI / call each', 'n'], rows),
        notes: [
          `The lines of test/fixtures/real-rules/rules.tsv that parseRule and the CLI both take, IPv4 and table filter, without jumps or sets (${lines.length} of them: state/conntrack, multiport, limit, recent, hashlimit, LOG, NFQUEUE, SYNPROXY, connlimit...), appended to one user chain of a fresh namespace. one transaction: \`fw.transaction\` with every line, one commit; one call each: \`await fw.append\` per line, one commit each; one CLI process each: \`ip netns exec NS iptables-<backend> -w -A CORPUS ...\` per line, as a firewall script runs. The chain is flushed after each variant, untimed; the variants interleave.`,
        ],
      },
    ],
    targets: [],
  };
}
