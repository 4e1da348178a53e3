// SPDX-License-Identifier: GPL-2.0-or-later
// A short scenario for valgrind (docs/reliability.md): plain node and the built dist/ (no
// tsx, so valgrind sees little besides node and the addon). Every native path once or more:
// open (both families), append/insert/replace/delete/ensure/check, a transaction, list,
// save, chain ops, kernel refusals (ENOENT, EEXIST, ELOOP, EINVAL), close; on the legacy
// backend and on nf_tables (where a second handle's commits also make the first one's cache
// stale, so its batches are refused with ERESTART and redone).
//
// Usage (root; build first: npm run build:native && npm run build:ts):
//   ip netns add clvg && valgrind --leak-check=full --errors-for-leak-kinds=definite \
//     node scripts/valgrind-scenario.cjs clvg; ip netns del clvg
const { Firewall } = require('../dist/index.js');

const netns = process.argv[2];
const cycles = Number(process.argv[3] ?? 100);

(async () => {
  for (const [backend, family] of [['legacy', 'ipv4'], ['legacy', 'ipv6'], ['nft', 'ipv4'], ['nft', 'ipv6']]) {
    const fw = await Firewall.open({ netns, family, backend, lockPath: `/tmp/clvg-${process.pid}.lock` });
    const other = await Firewall.open({ netns, family, backend, lockPath: `/tmp/clvg-${process.pid}.lock` });
    await fw.createChain('LIMITS');
    for (let i = 0; i < cycles; i++) {
      const rule = `-p tcp --syn --dport ${i + 1} -m connlimit --connlimit-above 3 --connlimit-mask ${family === 'ipv4' ? 24 : 64} -m comment --comment vg-${i} -j REJECT --reject-with tcp-reset`;
      await fw.append('INPUT', rule);
      await fw.insert('INPUT', 1, '-p udp --dport 53 -j ACCEPT');
      await fw.replace('INPUT', 1, '-p udp --dport 54 -j ACCEPT');
      if (!(await fw.check('INPUT', rule))) throw new Error('check');
      await fw.ensure('INPUT', rule);
      await fw.delete('INPUT', 1);
      await fw.delete('INPUT', rule);
      if (i % 5 === 0) await other.append('OUTPUT', '-j ACCEPT');
    }
    await fw.transaction((tx) => {
      for (let i = 0; i < 50; i++) tx.append('LIMITS', `-s ${family === 'ipv4' ? `10.0.${i}.0/24` : `2001:db8:${i}::/48`} -j DROP`);
      tx.insert('INPUT', 1, '-j LIMITS');
    });
    await fw.list();
    await fw.save();
    const refusals = [
      () => fw.append('NOPE', '-j DROP'),
      () => fw.createChain('LIMITS'),
      () => fw.append('LIMITS', '-j LIMITS'),
      () => fw.append('INPUT', { matches: [{ kind: 'opaque', name: 'tcp', revision: 0, data: new Uint8Array(8) }] }),
      () => fw.append('INPUT', '-p tcp --dport 70000'),
    ];
    for (const r of refusals) await r().then(() => { throw new Error('expected a refusal'); }, () => undefined);
    await fw.flush();
    await fw.deleteChain('LIMITS');
    await other.close();
    await fw.close();
  }
  console.log('scenario done');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
