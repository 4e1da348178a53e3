// SPDX-License-Identifier: GPL-2.0-or-later
// Client sets on the native nftables form (Sets.open({ backend: 'nftables' })): one add of an
// address to a named set with timeouts, awaited, beside the netlink floor handed the same
// NEWSETELEM message and beside `nft add element` forked from a shell loop already inside the
// namespace (as a service would fork it; no `ip netns exec` per call). The ipset side of the
// same question is the bench group 'sets' (scripts/bench/sets.mjs).
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Sets } from '../../src/index.ts';
import { benchNetns, buildFloor, cell, interleave, ratio, table } from './lib.mjs';

const SET = 'b';
const ADDRESS = '203.0.113.7';
const CLI_CALLS = 20;

export async function run(ctx) {
  const bin = buildFloor(ctx.tmp, 'nft-floor', 'libmnl libnftnl');
  ctx.log('row 1 (nft-sets): one add to a native-form named set');
  const ns = await benchNetns(ctx.tmp);
  try {
    const sets = await Sets.open({ backend: 'nftables', family: 'ipv4', netns: ns.path });
    await sets.create(SET, { type: 'hash:ip', timeout: 600 });
    // The same add on ipset (backend 'legacy' or 'nft'), the row beside this one in docs/sets.md.
    const ipset = await Sets.open({ family: 'ipv4', netns: ns.path });
    await ipset.create(SET, { type: 'hash:ip', timeout: 600 });
    const file = path.join(ctx.tmp, `nft-sets-${ns.name}.bin`);
    // The message the library sends for the add below (exist: NLM_F_EXCL cleared, as `nft add element`).
    writeFileSync(file, ctx.binding.NftablesSetHandle._encodeElement('ipv4', 'add', SET, 'hash:ip', { family: 'ipv4', address: ADDRESS, timeout: 300 }, true, 0));
    const script = Array.from({ length: CLI_CALLS }, () => `nft add element ip connlimit ${SET} '{ ${ADDRESS} timeout 300s }'`).join('\n');
    const r = await interleave(
      {
        library: () => sets.add(SET, ADDRESS, { timeout: 300, exist: true }),
        ipset: () => ipset.add(SET, ADDRESS, { timeout: 300, exist: true }),
        floor: async () => ({ elapsedMs: Number((await ns.exec(bin, ['batch', file])).trim()) / 1e6 }),
        nft: async () => {
          const t0 = performance.now();
          await ns.exec('sh', ['-c', script]);
          return { elapsedMs: (performance.now() - t0) / CLI_CALLS };
        },
      },
      ctx.rounds(0),
    );
    await sets.close();
    await ipset.close();
    return {
      sections: [
        {
          heading: 'Row 1 · one add to a named set of the native nftables form (nft-sets)',
          table: table(
            ['set', 'library add', 'netlink floor', 'library / floor', '`nft add element` (forked)', 'nft / library', 'ipset add (library)', 'nftables / ipset', 'n'],
            [['hash:ip, timeout 600', cell(r.library), cell(r.floor), ratio(r.library.median, r.floor.median), cell(r.nft), ratio(r.nft.median, r.library.median), cell(r.ipset), ratio(r.library.median, r.ipset.median), r.library.n]],
          ),
          notes: [
            `library: \`await sets.add('${SET}', '${ADDRESS}', { timeout: 300, exist: true })\` on \`Sets.open({ backend: 'nftables' })\` with the set's type known: one batch (NEWSETELEM) on the handle's socket, in the pool. floor: scripts/bench/nft-floor.c \`batch\` handed the same NEWSETELEM bytes (the addon's \`NftablesSetHandle._encodeElement\`), socket + one batch + close timed in-process. nft: \`nft add element ip connlimit ${SET} '{ ${ADDRESS} timeout 300s }'\`, ${CLI_CALLS} in a shell loop inside the namespace, per call (each reads its cache: GETGEN and dumps of tables, chains, sets, objects, then sends the batch). ipset: the same add through \`Sets.open()\` (ipset, one ADD message) to an ipset set of the same name and options in the same namespace.`,
          ],
        },
      ],
      targets: [
        {
          target: 'one add to a native-form set within 2x of the floor and far below a forked nft',
          measured: `${ratio(r.library.median, r.floor.median)} of the floor; nft ${ratio(r.nft.median, r.library.median)} slower`,
          met: r.library.median / r.floor.median <= 2,
          why: 'The floor opens a socket per batch; the library keeps one, but pays the pool round trip and the facade\'s checks.',
        },
      ],
    };
  } finally {
    await ns.done();
  }
}
