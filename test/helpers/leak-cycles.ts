// SPDX-License-Identifier: GPL-2.0-or-later
// Append/delete cycles with the process's fd count, thread count and RSS sampled
// (test/74-leaks, short; scripts/leak-check.mjs, 100,000 cycles). Every 10th cycle also takes
// an error path (a delete that finds nothing) and a listing, since leaks hide in those, and
// another handle commits in between (on nf_tables that makes the first handle's next commit
// stale: its batch is refused with ERESTART and redone from a fresh read).
import { readdirSync } from 'node:fs';
import { Firewall } from '../../src/index';

export const fdCount = () => readdirSync('/proc/self/fd').length;
export const threadCount = () => readdirSync('/proc/self/task').length;

export interface Sample {
  cycle: number;
  fds: number;
  threads: number;
  rssMiB: number;
  heapMiB: number;
}

export async function leakCycles(
  netns: string,
  lockPath: string,
  cycles: number,
  every: number,
  onSample?: (s: Sample) => void,
  backend: 'legacy' | 'nft' = 'legacy',
): Promise<{ samples: Sample[]; errors: string[] }> {
  const fw = await Firewall.open({ netns, lockPath, backend });
  const other = await Firewall.open({ netns, lockPath, backend });
  const samples: Sample[] = [];
  const errors: string[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (cycle: number) => {
    // With --expose-gc, collect first, so the heap figure is what is still reachable.
    gc?.();
    const m = process.memoryUsage();
    const s = { cycle, fds: fdCount(), threads: threadCount(), rssMiB: Math.round((m.rss / 2 ** 20) * 10) / 10, heapMiB: Math.round((m.heapUsed / 2 ** 20) * 10) / 10 };
    samples.push(s);
    onSample?.(s);
  };
  sample(0);
  for (let i = 1; i <= cycles; i++) {
    const rule = `-p tcp --syn --dport ${1 + (i % 60000)} -m connlimit --connlimit-above 3 --connlimit-mask 24 -m comment --comment leak-${i} -j REJECT --reject-with tcp-reset`;
    try {
      await fw.append('INPUT', rule);
      await fw.delete('INPUT', rule);
      if (i % 10 === 0) {
        await fw.delete('INPUT', rule).then(
          () => errors.push(`cycle ${i}: deleted a rule twice`),
          (e: { code?: string }) => {
            if (e.code !== 'ERR_CONNLIMIT_NOT_FOUND') errors.push(`cycle ${i}: ${e.code}`);
          },
        );
        if ((await fw.list('INPUT')).length !== 0) errors.push(`cycle ${i}: INPUT not empty`);
        await other.append('OUTPUT', '-j ACCEPT');
        await other.delete('OUTPUT', 1);
      }
    } catch (e) {
      errors.push(`cycle ${i}: ${(e as Error).message}`);
      if (errors.length > 20) break;
    }
    if (i % every === 0) sample(i);
  }
  await other.close();
  await fw.close();
  return { samples, errors };
}
