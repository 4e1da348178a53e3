// SPDX-License-Identifier: GPL-2.0-or-later
// `node --import tsx scripts/bench-sets.mjs [--rounds N]`: client sets (ipset) beside the
// ipset CLI, in a throwaway network namespace (root): one add awaited, against one forked
// `ipset add` (run inside the namespace, as a service would fork it); 10,000 entries with
// addMany, against `ipset restore` of the same lines. Prints medians and ratios; the figures
// in docs/sets.md come from here. Not part of `npm run bench` (its harness writes
// docs/BENCHMARKS.md whole); the ipset CLI is the comparison only, the library never runs it.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Sets } from '../src/index.ts';

process.env.CONNLIMIT_BINDING ||= path.join(import.meta.dirname, '..', 'build', 'Release', 'connlimit.node');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const ns = `clbench-sets-${process.pid}`;
const inNs = (args, input) => execFileSync('ip', ['netns', 'exec', ns, ...args], { input, stdio: ['pipe', 'ignore', 'inherit'] });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const addr = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

execFileSync('ip', ['netns', 'add', ns]);
try {
  const sets = await Sets.open({ netns: ns });
  await sets.create('b', { type: 'hash:ip', timeout: 600, maxelem: 1 << 20 });
  const one = [], fork = [], many = [], restore = [];
  for (let r = 0; r < rounds; r++) {
    // One add, awaited, 1000 times (per call).
    let t = performance.now();
    for (let i = 0; i < 1000; i++) await sets.add('b', addr(r * 1000 + i), { timeout: 300 });
    one.push((performance.now() - t) / 1000);
    // The CLI forked from a shell loop already inside the namespace (no ip netns exec per call).
    const script = Array.from({ length: 100 }, (_, i) => `ipset add b ${addr(500000 + r * 100 + i)} timeout 300`).join('\n');
    t = performance.now();
    inNs(['sh', '-c', script]);
    fork.push((performance.now() - t) / 100);
    await sets.flush('b');
    // 10k entries: addMany vs ipset restore (one process, lines on stdin).
    const entries = Array.from({ length: 10000 }, (_, i) => addr(i));
    t = performance.now();
    await sets.addMany('b', entries, { timeout: 300 });
    many.push(performance.now() - t);
    await sets.flush('b');
    const lines = entries.map((e) => `add b ${e} timeout 300`).join('\n') + '\n';
    t = performance.now();
    inNs(['ipset', 'restore'], lines);
    restore.push(performance.now() - t);
    await sets.flush('b');
  }
  await sets.close();
  const f = (n) => n.toFixed(3);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Linux ${os.release()}, node ${process.version}, ${rounds} rounds (medians)`);
  console.log(`one add (awaited)          ${f(median(one))} ms   ipset add (forked) ${f(median(fork))} ms   ratio ${(median(fork) / median(one)).toFixed(1)}×`);
  console.log(`addMany 10k                ${f(median(many))} ms   ipset restore 10k  ${f(median(restore))} ms   ratio ${(median(restore) / median(many)).toFixed(1)}×`);
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
