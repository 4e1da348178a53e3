// SPDX-License-Identifier: GPL-2.0-or-later
// The native nftables form with translated compat modules (native/core/nft/native/xlate*.cc):
// what writing and reading `ct state`, `limit rate`, `mark`, `ip saddr A-B` ... costs beside the
// same rules without them. Both variants run in one namespace, interleaved, in two chains of our
// table; ratios are the claim. Row 2: hashlimit's meter (a set of the rule's, NEWSET in its batch).
import { benchNetns, cell, interleave, k, ratio, table } from './lib.mjs';

/** Rule i without modules, and the same rule with four translated matches before its verdict. */
const plain = (i) => `-p tcp --dport ${1 + (i % 60000)} -j DROP`;
const translated = (i) =>
  `-p tcp --dport ${1 + (i % 60000)} -m conntrack --ctstate NEW,RELATED -m limit --limit ${1 + (i % 50)}/sec -m mark ! --mark ${i}/0xffff -m iprange --src-range 10.0.0.1-10.0.${i % 250}.9 -j DROP`;

/** Rule i with a hashlimit meter of its own (a name each: nf_tables takes one meter per name). */
const metered = (i) =>
  `-p tcp --dport ${1 + (i % 60000)} -m hashlimit --hashlimit-above ${1 + (i % 50)}/min --hashlimit-mode srcip --hashlimit-name m${i} -j DROP`;

/** Row 2: rules with a meter beside plain ones, in a namespace of their own. */
async function meterRow(ctx, n) {
  const ns = await benchNetns(ctx.tmp);
  try {
    const fw = await ctx.Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.path });
    ctx.log(`row 2 (nftables-xlate): ${k(n)} rules with and without a hashlimit meter`);
    await fw.transaction((tx) => {
      for (let i = 0; i < n; i++) tx.append('INPUT', plain(i));
      for (let i = 0; i < n; i++) tx.append('FORWARD', metered(i));
    });
    const rounds = ctx.rounds(n);
    const listed = await interleave({ plain: () => fw.list('INPUT'), metered: () => fw.list('FORWARD') }, rounds);
    const appended = await interleave(
      { plain: () => fw.append('INPUT', plain(n)), metered: () => fw.append('FORWARD', metered(n)) },
      rounds,
      { between: (name) => (name === 'plain' ? fw.delete('INPUT', n + 1) : fw.delete('FORWARD', n + 1)) },
    );
    await fw.close();
    const row = (what, r) => [what, cell(r.plain), cell(r.metered), ratio(r.metered.median, r.plain.median), r.plain.n];
    return {
      section: {
        heading: 'Row 2 · hashlimit meters on the native form (nftables-xlate)',
        table: table(['call', 'plain rule', 'with a meter', 'meter / plain', 'n'], [row(`list() of ${k(n)} rules`, listed), row(`append beside ${k(n)}`, appended)]),
        notes: [
          `Plain: \`${plain(0)}\`. Metered: \`${metered(0)}\` (\`meter m0 { ip saddr timeout 60s limit rate over 1/minute }\`: its NEWSET goes in the rule's batch, the kernel deletes it with the rule). Interleaved; append deletes its rule (and so its meter) again after each call (untimed).`,
        ],
      },
      target: {
        target: 'appending a rule with a meter costs at most twice a plain append',
        measured: `append ${ratio(appended.metered.median, appended.plain.median)}`,
        met: appended.metered.median / appended.plain.median <= 2,
        why: 'The meter is one NEWSET in the same batch (no element, no extra round trip); the kernel creates an empty hash set.',
      },
    };
  } finally {
    await ns.done();
  }
}

export async function run(ctx) {
  const n = ctx.quick ? 200 : 2000;
  const meters = await meterRow(ctx, n);
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
        meters.section,
      ],
      targets: [
        meters.target,
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
