// SPDX-License-Identifier: GPL-2.0-or-later
// The native nftables form with translated compat modules (native/core/nft/native/xlate*.cc):
// what writing and reading `ct state`, `limit rate`, `mark`, `ip saddr A-B` ... costs beside the
// same rules without them. Both variants run in one namespace, interleaved, in two chains of our
// table; ratios are the claim.
import { benchNetns, cell, interleave, k, ratio, table } from './lib.mjs';

/** Rule i without modules, and the same rule with four translated matches before its verdict. */
const plain = (i) => `-p tcp --dport ${1 + (i % 60000)} -j DROP`;
const translated = (i) =>
  `-p tcp --dport ${1 + (i % 60000)} -m conntrack --ctstate NEW,RELATED -m limit --limit ${1 + (i % 50)}/sec -m mark ! --mark ${i}/0xffff -m iprange --src-range 10.0.0.1-10.0.${i % 250}.9 -j DROP`;

export async function run(ctx) {
  const n = ctx.quick ? 200 : 2000;
  const ns = await benchNetns(ctx.tmp);
  try {
    const fw = await ctx.Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.path });
    ctx.log(`row 1 (nftables-xlate): ${k(n)} rules with and without translated matches`);
    // INPUT holds the plain rules, FORWARD the translated ones: one table, the same sizes.
    await fw.transaction((tx) => {
      for (let i = 0; i < n; i++) tx.append('INPUT', plain(i));
      for (let i = 0; i < n; i++) tx.append('FORWARD', translated(i));
    });
    const rounds = ctx.rounds(n);
    const listed = await interleave({ plain: () => fw.list('INPUT'), translated: () => fw.list('FORWARD') }, rounds);
    const appended = await interleave(
      { plain: () => fw.append('INPUT', plain(n)), translated: () => fw.append('FORWARD', translated(n)) },
      rounds,
      { between: (name) => (name === 'plain' ? fw.delete('INPUT', n + 1) : fw.delete('FORWARD', n + 1)) },
    );
    const checked = await interleave({ plain: () => fw.check('INPUT', plain(n - 1)), translated: () => fw.check('FORWARD', translated(n - 1)) }, rounds);
    await fw.close();
    const row = (what, r) => [what, cell(r.plain), cell(r.translated), ratio(r.translated.median, r.plain.median), r.plain.n];
    return {
      sections: [
        {
          heading: 'Row 1 · translated compat modules on the native form (nftables-xlate)',
          table: table(
            ['call', 'plain rule', 'with 4 translated matches', 'translated / plain', 'n'],
            [row(`list() of ${k(n)} rules`, listed), row(`append beside ${k(n)}`, appended), row(`check() of the last of ${k(n)}`, checked)],
          ),
          notes: [
            `Plain: \`${plain(0)}\`. Translated: \`${translated(0)}\` (\`ct state\`, \`limit rate\`, \`mark and\`, \`ip saddr A-B\`: 12 more expressions). Both in one namespace and table (INPUT and FORWARD), interleaved; append deletes its rule again after each call (untimed).`,
          ],
        },
      ],
      targets: [
        {
          target: 'reading translated rules back costs at most twice reading plain ones',
          measured: `list() ${ratio(listed.translated.median, listed.plain.median)}`,
          met: listed.translated.median / listed.plain.median <= 2,
          why: 'Each translated match is a few expressions the kernel dumps and the decoder walks once; the TypeScript decoding of the blob into a typed part is the same as on the other backends.',
        },
      ],
    };
  } finally {
    await ns.done();
  }
}
