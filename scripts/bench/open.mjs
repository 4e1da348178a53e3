// SPDX-License-Identifier: GPL-2.0-or-later
// Row 9: what the default `backend: 'auto'` adds to Firewall.open. The default open counts the
// table's rules in both backends before it picks (docs/nft.md); an explicit open only probes its
// own backend's table. Measured as open + close, interleaved with the explicit opens, in a namespace where
// auto picks nft (its probe handle is kept) and in one where it picks legacy (the probe handle
// is closed and a legacy one opened: the dearest case).
import { benchNetns, cell, interleave, k, ratio, table } from './lib.mjs';

async function openClose(ctx, options) {
  const fw = await ctx.Firewall.open(options);
  await fw.close();
}

/** Default, nft and legacy opens of filter/ipv4 in a namespace prepared by `prepare`. */
async function openRow(ctx, prepare, rounds) {
  const ns = await benchNetns(ctx.tmp);
  try {
    await prepare(ns);
    const base = { family: 'ipv4', netns: ns.path, lockPath: ns.lockPath };
    return await interleave(
      {
        auto: () => openClose(ctx, base),
        nft: () => openClose(ctx, { ...base, backend: 'nft' }),
        legacy: () => openClose(ctx, { ...base, backend: 'legacy' }),
      },
      rounds,
    );
  } finally {
    await ns.done();
  }
}

/** `n` connlimit rules in INPUT of one backend, with one restore (setup, untimed). */
const withRules = (tool, n) => (ns) => {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]'];
  for (let i = 0; i < n; i++) lines.push(`-A INPUT -p tcp --syn --dport ${1 + (i % 60000)} -m connlimit --connlimit-above 2 -m comment --comment r${i} -j REJECT`);
  lines.push('COMMIT', '');
  return ns.exec(tool, ['-w', '--noflush'], lines.join('\n'));
};

export async function run(ctx) {
  const rows = [];
  const targets = [];
  const sizes = ctx.quick ? [100] : [100, 10000];
  const auto = {};
  for (const size of sizes) {
    for (const [where, tool, picks] of [['nf_tables', 'iptables-nft-restore', 'nft'], ['x_tables', 'iptables-legacy-restore', 'legacy']]) {
      const label = `${k(size)} rules in ${where}`;
      ctx.log(`row 9: Firewall.open, default beside explicit, ${label}`);
      const r = await openRow(ctx, withRules(tool, size), ctx.quick ? 5 : size >= 10000 ? 31 : 301);
      (auto[picks] ??= []).push(r);
      rows.push([label, picks, cell(r.auto), cell(r.nft), cell(r.legacy), ratio(r.auto.median, r[picks].median), r.auto.n]);
    }
  }
  if (sizes.length > 1) {
    const [small, big] = auto.nft.map((r) => r.auto);
    targets.push({
      target: `the default open of a ${k(sizes[1])}-rule nf_tables table within 2× of a ${k(sizes[0])}-rule one (detection does not grow with the table)`,
      measured: ratio(big.median, small.median),
      met: big.median / small.median <= 2,
      why: 'The probe reads one batch of the rule dump whatever the table holds; what grows is elsewhere in the open (not profiled in this run).',
    });
    const legacy = auto.legacy[1];
    targets.push({
      target: `the default open of a ${k(sizes[1])}-rule x_tables table within 1.5× of an explicit legacy open`,
      measured: ratio(legacy.auto.median, legacy.legacy.median),
      met: legacy.auto.median / legacy.legacy.median <= 1.5,
      why: 'The probe asks the kernel for the entry count only (IPT_SO_GET_INFO); the rest is the legacy open itself and the nf_tables probe (not profiled in this run).',
    });
  }
  return {
    sections: [
      {
        heading: "Row 9 · Firewall.open: the default ('auto') beside an explicit backend",
        table: table(['namespace', 'auto picks', 'default (auto)', "backend: 'nft'", "backend: 'legacy'", 'auto / the one it picks', 'n'], rows),
        notes: [
          'Each call is `await (await Firewall.open(options)).close()` on filter/ipv4, the three variants interleaved in one namespace per row. default: no `backend` option, so the table is read in both backends first (docs/nft.md, `backend: \'auto\'`); when it picks nft the probe\'s handle is the one returned, when it picks legacy the probe is closed and a legacy handle opened. An explicit open enters the namespace and probes the table of its own backend once; the default adds a look at both tables that stops at the first rule: the x_tables entry count alone (IPT_SO_GET_INFO, when the table exists), the nf_tables chains and the first batch of its rule dump (the kernel resumes every batch of a rule dump from the start of the chain, so a whole dump of 10k rules takes about 350 ms) and, when it picks legacy, the legacy open.',
        ],
      },
    ],
    targets,
  };
}
