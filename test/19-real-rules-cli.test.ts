// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The corpus's `cli` column (test/fixtures/real-rules/rules.tsv) says what the iptables CLI says
 * of each line: here every line goes through iptables-legacy and iptables-nft again (ip6tables-*
 * for ipv6 lines) in a throwaway namespace (test/helpers/cli-verdict.ts) and the verdicts must
 * be the ones recorded, so the score test 16 computes over the lines the CLI takes can't rest on
 * a stale column. `node --import tsx scripts/corpus-cli.mjs` rewrites the column.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cliVerdict, shellWords } from './helpers/cli-verdict';
import { readCorpus } from './helpers/real-rules';
import { withNetns } from './helpers/netns';

test('words are split as the shell splits them', () => {
  assert.equal(shellWords(`-j LOG --log-prefix "a \\"b\\" c" --x 'd e'f`), ['-j', 'LOG', '--log-prefix', 'a "b" c', '--x', 'd ef']);
  assert.equal(shellWords('-s  10.0.0.1\\ x'), ['-s', '10.0.0.1 x']);
  assert.is(shellWords('--comment "open'), null);
});

test('every recorded CLI verdict is what iptables-legacy and iptables-nft say now', () =>
  withNetns(async (ns) => {
    const wrong: string[] = [];
    for (const l of readCorpus()) {
      const now = await cliVerdict(ns, l);
      if (now !== l.cli) wrong.push(`line ${l.line}: recorded ${JSON.stringify(l.cli)}, the CLI says ${JSON.stringify(now)}`);
    }
    assert.equal(wrong, [], wrong.join('\n'));
  }));

test.run();
