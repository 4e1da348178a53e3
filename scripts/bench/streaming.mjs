// SPDX-License-Identifier: GPL-2.0-or-later
// Row 16: the streamed commit (src/commit-stream.ts), before and after in one run. The four
// rows of issue 17 that it is for, 10k rules in one transaction of strings and fw.restore() of
// a saved 10k-rule table, on legacy and nft: the library with streaming on and off (the
// switch only this bench turns off), beside the backend's iptables-restore on the same rules,
// interleaved round by round in one namespace per row. Conntrack is loaded in the namespace
// first, so neither variant pays for it.
import { streamedCommits } from '../../src/commit-stream.ts';
import { benchNetns, cell, interleave, k, ratio, table } from './lib.mjs';
import { filler } from './legacy.mjs';
import { savedTable } from './restore.mjs';

const BACKENDS = ['legacy', 'nft'];
const TARGET = { legacy: 2, nft: 1.3 };

/** Both ways: streaming on, then off again for the next variant. */
function both(call) {
  return {
    streamed: () => call(),
    'one piece': async () => {
      streamedCommits.enabled = false;
      try {
        return await call();
      } finally {
        streamedCommits.enabled = true;
      }
    },
  };
}

async function row(ctx, backend, size, kind) {
  const ns = await benchNetns(ctx.tmp);
  try {
    // A connlimit rule loads nf_conntrack in the namespace; one written and flushed before timing.
    await ns.exec(`iptables-${backend}`, ['-w', '-A', 'OUTPUT', '-m', 'connlimit', '--connlimit-above', '1000']);
    await ns.exec(`iptables-${backend}`, ['-w', '-F', 'OUTPUT']);
    const fw = await ctx.Firewall.open({ backend, family: 'ipv4', netns: ns.path, lockPath: ns.lockPath });
    const rules = Array.from({ length: size }, (_, i) => filler(i));
    let variants;
    let between;
    if (kind === 'transaction') {
      const text = ['*filter', ...rules.map((r) => `-A INPUT ${r}`), 'COMMIT', ''].join('\n');
      variants = {
        ...both(() =>
          fw.transaction((tx) => {
            for (const r of rules) tx.append('INPUT', r);
          }),
        ),
        cli: () => ns.exec(`iptables-${backend}-restore`, ['-w', '--noflush'], text),
      };
      between = () => fw.flush('INPUT');
    } else {
      const text = savedTable(size);
      await fw.restore(text);
      variants = { ...both(() => fw.restore(text)), cli: () => ns.exec(`iptables-${backend}-restore`, ['-w'], text) };
    }
    const r = await interleave(variants, ctx.rounds(size), { between });
    await fw.close();
    return r;
  } finally {
    await ns.done();
  }
}

export async function run(ctx) {
  const size = ctx.quick ? 100 : 10000;
  const rows = [];
  const targets = [];
  for (const kind of ['transaction', 'restore']) {
    for (const backend of BACKENDS) {
      ctx.log(`row 16: ${kind} of ${k(size)} rules, streamed and in one piece (${backend})`);
      const r = await row(ctx, backend, size, kind);
      const what = kind === 'transaction' ? `${k(size)} rules in one transaction (strings)` : `fw.restore() of a saved ${k(size)}-rule table`;
      rows.push([what, backend, cell(r['one piece']), cell(r.streamed), ratio(r['one piece'].median, r.streamed.median), cell(r.cli), ratio(r.cli.median, r['one piece'].median), ratio(r.cli.median, r.streamed.median), r.streamed.n]);
      targets.push({
        target: `${backend}: ${what} ≥${TARGET[backend]}× faster than iptables-${backend}-restore${kind === 'transaction' ? ' --noflush' : ''} (streamed)`,
        measured: ratio(r.cli.median, r.streamed.median),
        met: r.cli.median / r.streamed.median >= TARGET[backend],
      });
    }
  }
  return {
    sections: [
      {
        heading: `Row 16 · the streamed commit: ${k(size)} rules, before (one piece) and after (streamed)`,
        table: table(['work', 'backend', 'one piece (before)', 'streamed (after)', 'before / after', 'iptables-restore', 'CLI / before', 'CLI / after', 'n'], rows),
        notes: [
          'One piece: every op parsed and packed on the main thread, then one pool job reads the table, decodes, applies and commits (the commit path before streaming). Streamed: the pool starts when the call\'s turn comes (legacy: the lock and the table read) and decodes (legacy: and applies) each ~1 ms slice as soon as it is packed; the commit is sent after the last (docs/threads.md).',
          'Transaction rows: into an empty INPUT, flushed (untimed) after each call; the CLI is `iptables-<backend>-restore -w --noflush` on the same rules. Restore rows: the saved table of row 11 replaced whole each round; the CLI is `iptables-<backend>-restore -w` on the same text.',
        ],
      },
    ],
    targets,
  };
}
