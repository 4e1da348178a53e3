// SPDX-License-Identifier: GPL-2.0-or-later
// The native nftables form's multiport lists (native/core/nft/native/nftables_multiport.cc): a
// list is an anonymous set of its rule, so writing one sends NEWSET + NEWSETELEM with the rule,
// and reading a rule back dumps its set's elements (GETSETELEM; check() and delete probe only the
// sets of rules whose other parts equal the one they look for, and read only those a probe
// cannot rule out). What that costs beside the same rules with one port. Both variants run in
// one namespace, interleaved, in two chains of our table; ratios are the claim.
import { benchNetns, cell, interleave, k, ratio, table } from './lib.mjs';

const port = (i) => 1 + (i % 60000);
/** Rule i with one port, and the same rule with a list of four (an interval set: a range in it). */
const plain = (i) => `-p tcp --dport ${port(i)} -j DROP`;
const listed = (i) => `-p tcp -m multiport --dports ${port(i)},${port(i + 1)},60001:60010,65000 -j DROP`;

export async function run(ctx) {
  const n = ctx.quick ? 200 : 2000;
  const ns = await benchNetns(ctx.tmp);
  try {
    const fw = await ctx.Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.path });
    ctx.log(`row M1 (nftables-multiport): ${k(n)} rules with and without a multiport list`);
    await fw.transaction((tx) => {
      for (let i = 0; i < n; i++) tx.append('INPUT', plain(i));
      for (let i = 0; i < n; i++) tx.append('FORWARD', listed(i));
    });
    const rounds = ctx.rounds(n);
    const listedRules = await interleave({ plain: () => fw.list('INPUT'), multiport: () => fw.list('FORWARD') }, rounds);
    const appended = await interleave(
      { plain: () => fw.append('INPUT', plain(n)), multiport: () => fw.append('FORWARD', listed(n)) },
      rounds,
      { between: (name) => (name === 'plain' ? fw.delete('INPUT', n + 1) : fw.delete('FORWARD', n + 1)) },
    );
    // A handle with nothing cached reads the chain to find the rule (and probes the set of each
    // list rule whose other parts equal it: here every one before it; only the match's is read).
    const cold = async (chain, rule) => {
      const other = await ctx.Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.path });
      try {
        return await other.check(chain, rule);
      } finally {
        await other.close();
      }
    };
    const checked = await interleave({ plain: () => cold('INPUT', plain(n - 1)), multiport: () => cold('FORWARD', listed(n - 1)) }, rounds);
    await fw.close();
    const row = (what, r) => [what, cell(r.plain), cell(r.multiport), ratio(r.multiport.median, r.plain.median), r.plain.n];
    return {
      sections: [
        {
          heading: 'Row M1 · multiport lists on the native form (nftables-multiport)',
          table: table(
            ['call', 'one port', 'a list of four (anonymous set)', 'list / one port', 'n'],
            [row(`list() of ${k(n)} rules`, listedRules), row(`append beside ${k(n)}`, appended), row(`check() of the last of ${k(n)}, new handle`, checked)],
          ),
          notes: [
            `One port: \`${plain(0)}\`. List: \`${listed(0)}\` (\`tcp dport { 1, 2, 60001-60010, 65000 }\`: an interval set of 7 elements). Both in one namespace and table (INPUT and FORWARD), interleaved; append deletes its rule again after each call (untimed); check() opens a handle per call (open and close timed too), so it reads the chain, probes the set of each list rule before the match (their other parts equal the rule checked; one GETSETELEM get each, 64 to a send) and reads the match's.`,
          ],
        },
      ],
      targets: [
        {
          target: 'appending a rule with a list costs at most 1.5x one with one port',
          measured: `append ${ratio(appended.multiport.median, appended.plain.median)}`,
          met: appended.multiport.median / appended.plain.median <= 1.5,
          why: "The set's NEWSET and NEWSETELEM travel in the rule's batch: one commit either way, the messages nft sends. What the list adds is the kernel creating the set and its elements (38 us of 88 in a table of one rule; encoding them is 2-3 us); paired over 40 rounds the row reads 1.27-1.33x, so 15 rounds on a loaded machine swing either side of 1.5x.",
        },
        {
          target: 'reading list rules back from the kernel costs at most 3x reading one-port rules',
          measured: `cold check() ${ratio(checked.multiport.median, checked.plain.median)}`,
          met: checked.multiport.median / checked.plain.median <= 3,
          why: "Every rule here differs from the one checked only in its list, so each rule's set must be asked about: a GETSETELEM get of the checked list's ports (a range's start and the end after it), 64 to a send and their answers 64 to a recvmmsg; a set lacking one cannot mean the same, and only a set holding them all (the match's) is dumped and compared. What is left above one port is the kernel finding each set by name: every GETSETELEM, get or dump, walks the table's sets in creation order comparing names (nft_set_dump_ctx_init, nft_set_lookup), here 2k of them, about half the check's thread time (perf, 2026-12-07); there is no lookup by handle or id outside a batch. Paired against main, both builds alternating call by call (load 7.5-8.5), the probes took this check from 3.89x to 2.57x and from 4.97x to 2.29x (docs/nft.md). Rules that differ elsewhere (addresses) need no probe: 24.6 ms against 18-19 ms with one port (docs/nft.md). A handle's own commits are cached with their lists and read nothing.",
        },
      ],
    };
  } finally {
    await ns.done();
  }
}
