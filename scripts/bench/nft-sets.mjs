// SPDX-License-Identifier: GPL-2.0-or-later
// Client sets on the native nftables form (Sets.open({ backend: 'nftables' })): one add of an
// address to a named set with timeouts, awaited, beside the netlink floor handed the same
// NEWSETELEM message and beside `nft add element` forked from a shell loop already inside the
// namespace (as a service would fork it; no `ip netns exec` per call). Row 2: a 100k-entry set
// read whole, streamed by entries() against list(), with the JS heap each holds. The ipset side
// of the same questions is the bench group 'sets' (scripts/bench/sets.mjs).
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Sets } from '../../src/index.ts';
import { benchNetns, buildFloor, cell, gc, interleave, k, ratio, table } from './lib.mjs';

const SET = 'b';
const ADDRESS = '203.0.113.7';
const CLI_CALLS = 20;
const BIG = 100_000;
const mib = (b) => `${(b / (1 << 20)).toFixed(1)} MiB`;

/** Row 2: the 100k set read whole, streamed and listed, timed interleaved; then the heap each holds, untimed. */
async function bigSet(ctx) {
  const size = ctx.quick ? 10_000 : BIG;
  const ns = await benchNetns(ctx.tmp);
  try {
    const sets = await Sets.open({ backend: 'nftables', family: 'ipv4', netns: ns.path });
    // A size and no timeouts: a fixed-size hash, which no background resize reorders (docs/sets.md).
    await sets.create('big', { type: 'hash:ip', maxelem: 1 << 18 });
    await sets.addMany('big', Array.from({ length: size }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
    const r = await interleave(
      {
        entries: async () => {
          let n = 0;
          for await (const e of sets.entries('big')) if (e) n++;
          if (n !== size) throw new Error(`streamed ${n} of ${size}`);
        },
        list: async () => {
          const l = await sets.list('big');
          if (l.entries.length !== size) throw new Error(`listed ${l.entries.length} of ${size}`);
        },
      },
      ctx.quick ? 1 : 5,
    );
    // Reachable heap after a full collection, sampled every 8192 entries of the loop, against list()'s result.
    gc();
    const base = process.memoryUsage().heapUsed;
    let streamed = 0;
    let n = 0;
    for await (const e of sets.entries('big')) {
      if (e && ++n % 8192 === 0) {
        gc();
        streamed = Math.max(streamed, process.memoryUsage().heapUsed - base);
      }
    }
    gc();
    const listBase = process.memoryUsage().heapUsed;
    const held = await sets.list('big');
    gc();
    const listed = process.memoryUsage().heapUsed - listBase;
    if (held.entries.length !== size) throw new Error('list() lost entries');
    await sets.close();
    return { ...r, size, heap: { entries: streamed, list: listed } };
  } finally {
    await ns.done();
  }
}

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
    // Timed warm, as the floor times itself after its own start-up: each add follows the same
    // add, untimed, on the same handle (an address added again, as a service adds them in a
    // row). Timed right after another process ran (the floor, the nft loop), every part of the
    // call runs several times slower (CPU caches and TLB hold the other process's work): the
    // "no warm-up" column, as earlier figures were.
    const warm = async (handle) => {
      await handle.add(SET, ADDRESS, { timeout: 300, exist: true });
      const t0 = performance.now();
      await handle.add(SET, ADDRESS, { timeout: 300, exist: true });
      return { elapsedMs: performance.now() - t0 };
    };
    const r = await interleave(
      {
        library: () => warm(sets),
        cold: () => sets.add(SET, ADDRESS, { timeout: 300, exist: true }),
        ipset: () => warm(ipset),
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
    ctx.log(`row 2 (nft-sets): a ${k(BIG)}-entry native-form set streamed and listed`);
    const big = await bigSet(ctx);
    return {
      sections: [
        {
          heading: 'Row 1 · one add to a named set of the native nftables form (nft-sets)',
          table: table(
            ['set', 'library add', 'netlink floor', 'library / floor', 'add, no warm-up', '`nft add element` (forked)', 'nft / library', 'ipset add (library)', 'nftables / ipset', 'n'],
            [['hash:ip, timeout 600', cell(r.library), cell(r.floor), ratio(r.library.median, r.floor.median), cell(r.cold), cell(r.nft), ratio(r.nft.median, r.library.median), cell(r.ipset), ratio(r.library.median, r.ipset.median), r.library.n]],
          ),
          notes: [
            `library: \`await sets.add('${SET}', '${ADDRESS}', { timeout: 300, exist: true })\` on \`Sets.open({ backend: 'nftables' })\` with the set's type known: one batch (NEWSETELEM) on the handle's socket, on the handle's thread, timed right after the same add, untimed, on the handle, as the floor times itself after its start-up. no warm-up: the same add timed right after another process ran, as figures before 2026-12-06T22Z were. floor: scripts/bench/nft-floor.c \`batch\` handed the same NEWSETELEM bytes (the addon's \`NftablesSetHandle._encodeElement\`), socket + one batch + close timed in-process. nft: \`nft add element ip connlimit ${SET} '{ ${ADDRESS} timeout 300s }'\`, ${CLI_CALLS} in a shell loop inside the namespace, per call (each reads its cache: GETGEN and dumps of tables, chains, sets, objects, then sends the batch). ipset: the same add through \`Sets.open()\` (ipset, one ADD message) to an ipset set of the same name and options in the same namespace, warmed the same way.`,
          ],
        },
        {
          heading: `Row 2 · a ${k(big.size)}-entry native-form set read whole (nft-sets)`,
          table: table(
            ['set', 'entries() (whole stream)', 'list()', 'heap reachable, entries()', 'heap held, list()', 'n'],
            [[`hash:ip, size ${1 << 18}`, cell(big.entries), cell(big.list), mib(big.heap.entries), mib(big.heap.list), big.entries.n]],
          ),
          notes: ['entries(): `for await` over `sets.entries()` (batches of 4096: one pool step reads whole GETSETELEM dump parts until it has them, on a socket of its own). list(): one dump read whole, every entry converted at once. Heap: reachable after a full collection, the largest sample while the loop runs (every 8192 entries), against what list()\'s result holds.'],
        },
      ],
      targets: [
        {
          target: 'one add to a native-form set within 2x of the floor and far below a forked nft',
          measured: `${ratio(r.library.median, r.floor.median)} of the floor; nft ${ratio(r.nft.median, r.library.median)} slower`,
          met: r.library.median / r.floor.median <= 2,
          why: 'The floor opens a socket per batch; the library keeps one, but pays a round trip to the handle\'s own thread (two thread wake-ups, each waiting for a CPU on a busy machine; a libuv pool worker per call until 2026-12-07, 0.61-0.69x as long paired) and the facade\'s checks. Back to back an add costs about what the floor does; timed after another process ran (no warm-up) it runs several times slower. Until 2026-12-06T22Z each add also zeroed a fresh 128 KiB receive buffer (about 50 µs); until 2026-12-07 it built its message in a zeroed room sized for 128 elements (52 KiB; before that a 4.5 KiB vector copied whole): right after a fork (the floor, the nft loop) that was 12 of the thread\'s ~19 write faults per call, now ~7, the rest its stack and receive buffer. Timed after a child process (2026-12-07, load 9-11), about 30 of an add\'s ~45 µs is the facade and the crossing: the checks of the set name, options and entry, the queue and promise, the element object\'s conversion in the addon and the post to the thread; the thread\'s own work is ~6 (docs/nft.md, "The per-call fixed cost").',
        },
        {
          target: `entries() streams a ${k(big.size)}-entry native-form set without holding it`,
          measured: `${mib(big.heap.entries)} reachable at most, against ${mib(big.heap.list)} for list()`,
          met: big.heap.entries * 4 < big.heap.list,
          why: 'One batch of entries exists as JS objects at a time; the kernel makes the next dump part when it is read.',
        },
      ],
    };
  } finally {
    await ns.done();
  }
}
