// SPDX-License-Identifier: GPL-2.0-or-later
// Row G1 (issue 17, the stress-concurrency lever): writers in one process, each with a handle
// of its own and each awaiting its call before the next (as scripts/stress-concurrency.mjs's
// async writers do), onto a 1,000-rule INPUT. Compatible handles share group commits
// (docs/threads.md, "Across handles"); the same writers on handles that each have another
// lockTimeoutMs never share one, which is how every handle committed before.
import { benchNetns, cell, interleave, ratio, table } from './lib.mjs';
import { filler, prefill } from './legacy.mjs';

const PRESENT = 1000;
const WRITERS = 8;
const EACH = 25;

/** Each writer appends its EACH rules, awaiting each call, then deletes them the same way. */
function writers(handles) {
  return Promise.all(
    handles.map(async (fw, w) => {
      const rules = Array.from({ length: EACH }, (_, i) => filler(PRESENT + w * EACH + i));
      for (const rule of rules) await fw.append('INPUT', rule);
      for (const rule of rules) await fw.delete('INPUT', rule);
    }),
  );
}

async function row(ctx, backend) {
  const ns = await benchNetns(ctx.tmp);
  try {
    if (backend === 'legacy') await prefill(ns, PRESENT);
    else await ns.exec('iptables-nft-restore', ['-w', '--noflush'], ['*filter', ...Array.from({ length: PRESENT }, (_, i) => `-A INPUT ${filler(i)}`), 'COMMIT', ''].join('\n'));
    const open = (timeout) => ctx.Firewall.open({ backend, family: 'ipv4', netns: ns.path, lockPath: ns.lockPath, lockTimeoutMs: timeout });
    const shared = await Promise.all(Array.from({ length: WRITERS }, () => open(5000)));
    const apart = await Promise.all(Array.from({ length: WRITERS }, (_, w) => open(5000 + w + 1)));
    const r = await interleave({ shared: () => writers(shared), apart: () => writers(apart) }, ctx.quick ? 3 : 9);
    if ((await shared[0].list('INPUT')).length !== PRESENT) throw new Error(`${backend}: INPUT does not hold ${PRESENT} rules at the end`);
    await Promise.all([...shared, ...apart].map((fw) => fw.close()));
    return r;
  } finally {
    await ns.done();
  }
}

export async function run(ctx) {
  const rows = [];
  const targets = [];
  const ops = WRITERS * EACH * 2;
  for (const backend of ['legacy', 'nft']) {
    ctx.log(`row G1: ${WRITERS} writers awaiting their calls, own handles, onto ${PRESENT} rules (${backend})`);
    const r = await row(ctx, backend);
    const opsPerSecond = (s) => `${Math.round((ops * 1000) / s.median)} ops/s`;
    rows.push([backend, cell(r.shared), opsPerSecond(r.shared), cell(r.apart), opsPerSecond(r.apart), ratio(r.apart.median, r.shared.median), r.shared.n]);
    targets.push({
      target: `${WRITERS} awaiting writers on compatible handles faster than on handles that never share a commit (${backend})`,
      measured: ratio(r.apart.median, r.shared.median),
      met: r.shared.median < r.apart.median,
    });
  }
  return {
    sections: [
      {
        heading: `Row G1 · ${WRITERS} writers with a handle each, awaiting each call, onto ${PRESENT} rules (group commit across handles)`,
        table: table(['backend', 'compatible handles', '', 'handles that never group', '', 'never / compatible', 'n'], rows),
        notes: [
          `${WRITERS} writers in one process, each with its own \`Firewall\` handle on one namespace, each appending ${EACH} rules and deleting them again, awaiting every call (${ops} ops per round). compatible: the handles share one lock path and lockTimeoutMs, so calls queued behind a commit share the next one (docs/threads.md, "Across handles"). never group: each handle has another lockTimeoutMs (5001–${5000 + WRITERS} ms), so each call is a commit of its own, as every handle's call was before grouping across handles.`,
        ],
      },
    ],
    targets,
  };
}
