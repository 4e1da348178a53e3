// SPDX-License-Identifier: GPL-2.0-or-later
// Group `set-types`: the multi-field client set types (hash:ip,port,ip, hash:net,iface) beside
// hash:ip, on ipset and on the native nftables form, so a reader sees what a wider entry costs.
// Row T1: one add, awaited, through the library and through the CLI forked from a shell loop
// already inside the namespace (`ipset add`, `nft add element`). Row T2: 10k entries in one
// addMany beside `ipset restore` of the same lines. Variants interleaved round by round; the
// CLIs are the comparison only (the library never runs them).
import { performance } from 'node:perf_hooks';
import { Sets } from '../../src/index.ts';
import { benchNetns, cell, interleave, k, ms, perCall, ratio, table } from './lib.mjs';

const CLI_CALLS = 20;
const octets = (i) => `${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** Per type: the ipset entry of index i, and the same entry as nft writes it. */
const TYPES = [
  { type: 'hash:ip', nftType: 'ipv4_addr', entry: (i) => `10.${octets(i)}`, nft: (i) => `10.${octets(i)}` },
  {
    type: 'hash:ip,port,ip',
    nftType: 'ipv4_addr . inet_proto . inet_service . ipv4_addr',
    entry: (i) => `10.${octets(i)},udp:53,192.0.2.1`,
    nft: (i) => `10.${octets(i)} . udp . 53 . 192.0.2.1`,
  },
  {
    type: 'hash:net,iface',
    nftType: 'ipv4_addr . ifname; flags interval',
    entry: (i) => `10.${octets(i)}/32,eth0`,
    nft: (i) => `10.${octets(i)}/32 . "eth0"`,
  },
];

/** Row T1 for one type: awaited adds on both backends, forked CLI adds on both. */
async function oneAdd(ctx, t) {
  const calls = ctx.quick ? 50 : 300;
  const ns = await benchNetns(ctx.tmp);
  const ipset = await Sets.open({ netns: ns.path });
  const native = await Sets.open({ backend: 'nftables', netns: ns.path });
  try {
    await ipset.create('b', { type: t.type, maxelem: 1 << 20 });
    await native.create('b', { type: t.type });
    await ipset.create('c', { type: t.type, maxelem: 1 << 20 });
    await native.create('c', { type: t.type });
    const ipsetScript = Array.from({ length: CLI_CALLS }, (_, i) => `ipset add c ${t.entry(i)}`).join('\n');
    const nftScript = Array.from({ length: CLI_CALLS }, (_, i) => `nft add element ip connlimit c '{ ${t.nft(i)} }'`).join('\n');
    const forked = (script) => async () => {
      const t0 = performance.now();
      await ns.exec('sh', ['-c', script]);
      return { elapsedMs: (performance.now() - t0) / CLI_CALLS };
    };
    return await interleave(
      {
        ipset: () => perCall(calls, (i) => ipset.add('b', t.entry(i))),
        ipsetCli: forked(ipsetScript),
        native: () => perCall(calls, (i) => native.add('b', t.entry(i))),
        nftCli: forked(nftScript),
      },
      ctx.quick ? 2 : 7,
      { between: () => Promise.all([ipset.flush('b'), native.flush('b'), ipset.flush('c'), native.flush('c')]) },
    );
  } finally {
    await ipset.close();
    await native.close();
    await ns.done();
  }
}

/** Row T2 for one type: `size` entries in one addMany on both backends, and `ipset restore`. */
async function bulk(ctx, t, size) {
  const entries = Array.from({ length: size }, (_, i) => t.entry(i));
  const lines = entries.map((e) => `add c ${e}`).join('\n') + '\n';
  const ns = await benchNetns(ctx.tmp);
  const ipset = await Sets.open({ netns: ns.path });
  const native = await Sets.open({ backend: 'nftables', netns: ns.path });
  try {
    await ipset.create('b', { type: t.type, maxelem: 1 << 20, hashsize: 1 << 14 });
    await ipset.create('c', { type: t.type, maxelem: 1 << 20, hashsize: 1 << 14 });
    await native.create('b', { type: t.type, maxelem: 1 << 20 });
    return await interleave(
      {
        ipset: () => ipset.addMany('b', entries),
        restore: () => ns.exec('ipset', ['restore'], lines),
        native: () => native.addMany('b', entries),
      },
      ctx.quick ? 1 : 5,
      { between: () => Promise.all([ipset.flush('b'), ipset.flush('c'), native.flush('b')]) },
    );
  } finally {
    await ipset.close();
    await native.close();
    await ns.done();
  }
}

export async function run(ctx) {
  const size = ctx.quick ? 1000 : 10000;
  const oneRows = [];
  const bulkRows = [];
  for (const t of TYPES) {
    ctx.log(`set-types T1: one add, ${t.type}`);
    const r = await oneAdd(ctx, t);
    oneRows.push([t.type, cell(r.ipset), cell(r.ipsetCli), ratio(r.ipsetCli.median, r.ipset.median), cell(r.native), cell(r.nftCli), ratio(r.nftCli.median, r.native.median), r.ipset.n]);
  }
  for (const t of TYPES) {
    ctx.log(`set-types T2: ${k(size)} entries, ${t.type}`);
    const r = await bulk(ctx, t, size);
    bulkRows.push([t.type, cell(r.ipset), cell(r.restore), ratio(r.restore.median, r.ipset.median), cell(r.native), `${ms(r.ipset.median / size)} / ${ms(r.native.median / size)}`, r.ipset.n]);
  }
  return {
    sections: [
      {
        heading: 'Set types T1 · one add, awaited (per add)',
        table: table(['type', 'ipset (library)', 'forked `ipset add`', 'CLI / library', 'native form (library)', 'forked `nft add element`', 'CLI / library', 'n'], oneRows),
        notes: [
          `\`await sets.add('b', entry)\` one after another on \`Sets.open()\` (ipset) and \`Sets.open({ backend: 'nftables' })\`; the CLIs forked ${CLI_CALLS} times from a shell loop inside the namespace. Entries: hash:ip \`10.x.y.z\`, hash:ip,port,ip \`10.x.y.z,udp:53,192.0.2.1\`, hash:net,iface \`10.x.y.z/32,eth0\`. Medians (p90).`,
        ],
      },
      {
        heading: `Set types T2 · ${k(size)} entries in one call`,
        table: table(['type', 'addMany (ipset)', '`ipset restore`', 'restore / addMany', 'addMany (native form)', 'per entry, ipset / native', 'n'], bulkRows),
        notes: ['The sets flushed between rounds (untimed); ipset sets with `hashsize 16384`, native sets with `size 1048576`. The native addMany is one nf_tables batch.'],
      },
    ],
    targets: [],
  };
}
