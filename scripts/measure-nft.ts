// SPDX-License-Identifier: GPL-2.0-or-later
// Quick measurement of the nft backend beside iptables-nft, in throwaway namespaces whose INPUT
// chain is first filled with 0 / 1k / 10k rules by iptables-nft-restore. Not the benchmark
// (docs/BENCHMARKS.md); the CLI times include `ip netns exec` and process start.
// Usage: node --import tsx scripts/measure-nft.ts   (root)
import { Firewall } from '../src/index';
import { withNetns } from '../test/helpers/netns';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const file = join(tmpdir(), `connlimit-measure-${process.pid}.rules`);
(async () => {
  for (const n of [0, 1000, 10000]) {
    await withNetns(async (ns) => {
      if (n) {
        const lines = ['*filter'];
        for (let i = 0; i < n; i++) lines.push(`-A INPUT -p tcp --dport ${(i % 60000) + 1} -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} -j DROP`);
        lines.push('COMMIT', '');
        writeFileSync(file, lines.join('\n'));
        await ns.run('sh', ['-c', `iptables-nft-restore < ${file}`]);
      }
      const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
      await fw.append('INPUT', '-p tcp --dport 9 -j DROP');
      const N = 50;
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) await fw.append('INPUT', `-p tcp --syn --dport ${100 + i} -m connlimit --connlimit-above 2 -j REJECT`);
      const append = Number(process.hrtime.bigint() - t0) / 1e6 / N;
      t0 = process.hrtime.bigint();
      for (let i = 0; i < 10; i++) await fw.delete('INPUT', `-p tcp --syn --dport ${100 + i} -m connlimit --connlimit-above 2 -j REJECT`);
      const del = Number(process.hrtime.bigint() - t0) / 1e6 / 10;
      t0 = process.hrtime.bigint();
      for (let i = 0; i < 10; i++) await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--syn', '--dport', String(200 + i), '-m', 'connlimit', '--connlimit-above', '2', '-j', 'REJECT']);
      const cliA = Number(process.hrtime.bigint() - t0) / 1e6 / 10;
      t0 = process.hrtime.bigint();
      for (let i = 0; i < 5; i++) await ns.run('iptables-nft', ['-D', 'INPUT', '-p', 'tcp', '--syn', '--dport', String(200 + i), '-m', 'connlimit', '--connlimit-above', '2', '-j', 'REJECT']);
      const cliD = Number(process.hrtime.bigint() - t0) / 1e6 / 5;
      console.log(`rules=${n} lib append ${append.toFixed(3)} ms, lib delete-by-spec ${del.toFixed(2)} ms, iptables-nft -A ${cliA.toFixed(2)} ms (incl. ip netns exec), -D ${cliD.toFixed(2)} ms`);
      await fw.close();
    });
  }
})();
