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
import { benchNetns, buildFloor, cell, gc, interleave, k, perCall, ratio, table } from './lib.mjs';

const SET = 'b';
const ADDRESS = '203.0.113.7';
const CLI_CALLS = 20;
const BIG = 100_000;
const addr = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const range = (n) => Array.from({ length: n }, (_, i) => addr(i));
/** Row 1's why-text (the target's). */
const WHY_ROW1 =
  'Timed as the ipset row S1 since 2026-12-07: the floor sends each add in a batch of its own on a socket it opened before the clock (until then it opened and closed a socket around one batch in a fresh process, about 20 µs of which the first send alone was 16.6, against a library whose socket is open), and the target is judged on adds in flight, with the awaited figure beside it. ' +
  'Adds in flight cross to the handle\'s thread as ipset\'s do (a 20-byte record each, set names once, one promise per add) and go to the kernel side by side, one NEWSETELEM each in one batch per send, an IPv4 address into a hash:ip set written straight from its record into the batch; each call keeps its own answer (a refused message\'s call gets its refusal and the batch goes again without it). ' +
  'One batch is one nf_tables transaction, so the kernel\'s commit is shared too and in flight can come under the one-message floor; the one-batch floor (the same messages in one batch from C, about as much per add as one alone: the element\'s insert is most of it) is the kernel\'s share of the in-flight adds, and in flight sits about at it. ' +
  'Paired on 2026-12-07 (npm run bench -- --only nft-sets, load 4.7-5.5, 8 alternations of main and this change, medians of 9 rounds each): in flight 4.9-6.7 -> 2.5-3.2 µs per add, 0.68-1.74x -> 0.51-0.74x the floor, 0.98-1.48x -> 0.50-1.06x the one-batch floor; awaited 29-77 -> 28-34 µs (median of the medians 38 -> 30.5). ' +
  'One awaited add cannot come near the floor: it is one round trip to the handle\'s thread (two thread wake-ups, each waiting for a CPU on a busy machine), as long as a header() request (both ~25 µs at load 6); the facade and the crossing are ~2 µs of it.';
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

/** Row 1: one add of an address, each way, per add (as the ipset row S1 in scripts/bench/sets.mjs). */
async function oneAdd(ctx, bin, ns) {
  const calls = ctx.quick ? 50 : 300;
  const inFlight = ctx.quick ? 200 : 2000;
  const options = { type: 'hash:ip', timeout: 600, maxelem: 1 << 20 };
  const sets = await Sets.open({ backend: 'nftables', family: 'ipv4', netns: ns.path });
  // The same adds on ipset (backend 'legacy' or 'nft'), to a set of the same name and options.
  const ipset = await Sets.open({ family: 'ipv4', netns: ns.path });
  try {
    await sets.create(SET, options);
    await ipset.create(SET, options);
    const file = path.join(ctx.tmp, `nft-set-adds-${ns.name}.bin`);
    // The messages the library sends for the adds below (no `exist`: NLM_F_EXCL, as `nft create element`).
    const encode = (a) => ctx.binding.NftablesSetHandle._encodeElement('ipv4', 'add', SET, 'hash:ip', { family: 'ipv4', address: a, timeout: 300 }, false, 0);
    writeFileSync(file, Buffer.concat(range(inFlight).map(encode)));
    const script = Array.from({ length: CLI_CALLS }, () => `nft add element ip connlimit ${SET} '{ ${ADDRESS} timeout 300s }'`).join('\n');
    const allAtOnce = async (handle) => {
      const t0 = performance.now();
      await Promise.all(range(inFlight).map((a) => handle.add(SET, a, { timeout: 300 })));
      return { elapsedMs: (performance.now() - t0) / inFlight };
    };
    return await interleave(
      {
        awaited: () => perCall(calls, (i) => sets.add(SET, addr(i), { timeout: 300 })),
        inFlight: () => allAtOnce(sets),
        floor: async () => ({ elapsedMs: Number((await ns.exec(bin, ['each', file])).trim()) / 1e6 }),
        // The same messages side by side in one batch (one transaction), socket to close: the
        // kernel's share of the in-flight adds, which the in-flight column also gets.
        floorBatch: async () => ({ elapsedMs: Number((await ns.exec(bin, ['batch', file])).trim()) / 1e6 / inFlight }),
        nft: async () => {
          const t0 = performance.now();
          await ns.exec('sh', ['-c', script]);
          return { elapsedMs: (performance.now() - t0) / CLI_CALLS };
        },
        ipset: () => allAtOnce(ipset),
      },
      ctx.quick ? 2 : 9,
      { between: () => Promise.all([sets.flush(SET), ipset.flush(SET)]) },
    );
  } finally {
    await sets.close();
    await ipset.close();
  }
}

export async function run(ctx) {
  const bin = buildFloor(ctx.tmp, 'nft-floor', 'libmnl libnftnl');
  ctx.log('row 1 (nft-sets): one add to a native-form named set, awaited / in flight / floor / forked nft');
  const ns = await benchNetns(ctx.tmp);
  try {
    const r = await oneAdd(ctx, bin, ns);
    ctx.log(`row 2 (nft-sets): a ${k(BIG)}-entry native-form set streamed and listed`);
    const big = await bigSet(ctx);
    return {
      sections: [
        {
          heading: 'Row 1 · one add to a named set of the native nftables form (nft-sets)',
          table: table(
            ['set', 'awaited one by one', 'in flight together', 'nf_tables floor (C)', 'floor, one batch (C)', '`nft add element` (forked)', 'nft / awaited', 'awaited / floor', 'in flight / floor', 'in flight / one-batch floor', 'ipset in flight (library)', 'nftables / ipset in flight', 'n'],
            [
              [
                'hash:ip, timeout 600',
                cell(r.awaited),
                cell(r.inFlight),
                cell(r.floor),
                cell(r.floorBatch),
                cell(r.nft),
                ratio(r.nft.median, r.awaited.median),
                ratio(r.awaited.median, r.floor.median),
                ratio(r.inFlight.median, r.floor.median),
                ratio(r.inFlight.median, r.floorBatch.median),
                cell(r.ipset),
                ratio(r.inFlight.median, r.ipset.median),
                r.awaited.n,
              ],
            ],
          ),
          notes: [
            `Per add, medians (p90), as the ipset row S1 (group \`sets\`) measures it. awaited: \`await sets.add('${SET}', address, { timeout: 300 })\` on \`Sets.open({ backend: 'nftables' })\`, distinct addresses one after another. in flight: the same adds made all at once (\`Promise.all\`, 2000), which queue up and cross to the handle's thread together (packed records, set names once, one promise each) and go to the kernel side by side, one NEWSETELEM each in one batch per send, each call with its own answer. floor: scripts/bench/nft-floor.c \`each\` handed the same NEWSETELEM bytes (the addon's \`NftablesSetHandle._encodeElement\`), each in a batch of its own, one after another on a socket opened before the clock starts (as ipset-floor sends ipset's ADDs). one-batch floor: \`batch\` mode, the same messages side by side in one batch, socket open to close, per add. nft: \`nft add element ip connlimit ${SET} '{ ${ADDRESS} timeout 300s }'\`, ${CLI_CALLS} in a shell loop inside the namespace, per call (each reads its cache: GETGEN and dumps of tables, chains, sets, objects, then sends the batch). ipset in flight: the same adds in flight through \`Sets.open()\` (ipset) to a set of the same name and options in the same namespace. Both sets are flushed between variants.`,
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
          target: 'one add to a native-form set within 2× of one raw netlink message from C (adds in flight, side by side in one sendmsg), and far below a forked nft',
          measured: `${ratio(r.inFlight.median, r.floor.median)} in flight, ${ratio(r.awaited.median, r.floor.median)} awaited one by one; nft ${ratio(r.nft.median, r.awaited.median)} slower than awaited`,
          met: r.inFlight.median / r.floor.median <= 2 && r.nft.median > 10 * r.awaited.median,
          why: WHY_ROW1,
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
