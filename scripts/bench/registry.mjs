// SPDX-License-Identifier: GPL-2.0-or-later
// The row groups of `npm run bench`, in the order they run and print. Each group is a module
// whose `run(ctx)` resolves `{ sections: [{ heading, table, notes }], targets: [{ target,
// measured, met }] }`; ctx is documented in scripts/bench.mjs. A group with `run: null` is a
// placeholder: it is listed in the report as "not measured yet" with its `todo`.
//
// To add a group: write scripts/bench/<name>.mjs with `export async function run(ctx)` (one
// fresh namespace per row, its variants interleaved with lib.mjs's interleave(), ratios as the
// claim), then point its entry here at `() => import('./<name>.mjs')`.
export const groups = [
  {
    id: 'legacy',
    rows: '1, 2, 3 (legacy)',
    load: () => import('./legacy.mjs'),
  },
  {
    id: 'runtime',
    rows: '6 (transaction part), 7 (append/delete part), 8',
    load: () => import('./runtime.mjs'),
  },
  {
    id: 'conntrack',
    rows: '4, 5, 6 (countBy part), 7 (countBy part)',
    load: () => import('./conntrack.mjs'),
  },
  {
    id: 'nft',
    rows: '1, 2, 3 (nf_tables)',
    load: () => import('./nft.mjs'),
  },
  {
    id: 'open',
    rows: "9 (Firewall.open, the default 'auto' beside an explicit backend)",
    load: () => import('./open.mjs'),
  },
  {
    id: 'corpus',
    rows: '10 (a real script: the corpus lines, library beside the CLI)',
    load: () => import('./corpus.mjs'),
  },
  {
    id: 'restore',
    rows: '11, 12 (fw.restore of saved tables, legacy and nft)',
    load: () => import('./restore.mjs'),
  },
  {
    id: 'throughput',
    rows: '13 (group commit), 14 (parsing rule strings), 15 (typed rules beside strings)',
    load: () => import('./throughput.mjs'),
  },
  {
    id: 'group-handles',
    rows: 'G1 (group commit across handles)',
    load: () => import('./group-handles.mjs'),
  },
  {
    id: 'nftables-native',
    rows: '1 (native nftables form)',
    load: () => import('./nftables.mjs'),
  },
  {
    id: 'nft-sets',
    rows: '1 (client sets of the native nftables form)',
    load: () => import('./nft-sets.mjs'),
  },
  {
    id: 'nftables-xlate',
    rows: '1, 2 (translated compat modules, hashlimit meters, on the native form)',
    load: () => import('./nftables-xlate.mjs'),
  },
  {
    id: 'nftables-multiport',
    rows: 'M1 (multiport lists as anonymous sets on the native form)',
    load: () => import('./nftables-multiport.mjs'),
  },
  {
    id: 'sets',
    rows: 'sets S1-S3 (client sets, ipset)',
    load: () => import('./sets.mjs'),
  },
  {
    id: 'set-types',
    rows: 'set types T1-T2 (hash:ip,port,ip and hash:net,iface beside hash:ip, ipset and native form)',
    load: () => import('./set-types.mjs'),
  },
  {
    id: 'apply',
    rows: 'apply (fw.apply re-apply and one-rule change, the legacy keeper\'s check, keep() repair delay)',
    load: () => import('./apply.mjs'),
  },
];
