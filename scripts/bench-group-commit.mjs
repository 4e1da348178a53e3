// SPDX-License-Identifier: GPL-2.0-or-later
// `node --import tsx scripts/bench-group-commit.mjs [--rounds N]`: group commit (docs/threads.md),
// on legacy and on nft side by side in one run, each in a throwaway network namespace (root)
// whose INPUT holds 1,000 connlimit rules: 200 `fw.append()` made at once (Promise.all), the
// same 200 in one `transaction()`, and 200 forked `iptables-<backend> -w -A` (a shell loop
// already inside the namespace, so no `ip netns exec` per call). After each, the 200 are
// deleted again (untimed), so every variant sees the same table. Prints medians and ratios.
// Not part of `npm run bench` (its harness writes docs/BENCHMARKS.md whole); the CLI is the
// comparison only, the library never runs it.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Firewall } from '../src/index.ts';

process.env.CONNLIMIT_BINDING ||= path.join(import.meta.dirname, '..', 'build', 'Release', 'connlimit.node');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 7;
const PRESENT = 1000;
const CALLS = 200;
const rule = (i) => `-p tcp --syn --dport ${1024 + i} -m connlimit --connlimit-above 2 -j REJECT`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(backend) {
  const ns = `clbench-gc-${backend}-${process.pid}`;
  const inNs = (args, input) => execFileSync('ip', ['netns', 'exec', ns, ...args], { input, stdio: ['pipe', 'ignore', 'inherit'] });
  const cli = `iptables-${backend}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    inNs([`${cli}-restore`, '-w', '--noflush'], ['*filter', ...Array.from({ length: PRESENT }, (_, i) => `-A INPUT ${rule(i)}`), 'COMMIT', ''].join('\n'));
    const fw = await Firewall.open({ backend, netns: ns });
    const added = Array.from({ length: CALLS }, (_, i) => rule(PRESENT + i));
    const script = added.map((r) => `${cli} -w -A INPUT ${r}`).join('\n');
    const reset = () =>
      fw.transaction((tx) => {
        for (let i = 0; i < CALLS; i++) tx.delete('INPUT', PRESENT + 1);
      });
    const variants = {
      concurrent: () => Promise.all(added.map((r) => fw.append('INPUT', r))),
      transaction: () =>
        fw.transaction((tx) => {
          for (const r of added) tx.append('INPUT', r);
        }),
      cli: async () => inNs(['sh', '-c', script]),
    };
    const times = { concurrent: [], transaction: [], cli: [] };
    for (let r = 0; r <= rounds; r++) {
      for (const [name, work] of Object.entries(variants)) {
        const t = performance.now();
        await work();
        const elapsed = performance.now() - t;
        if (r > 0) times[name].push(elapsed); // round 0 warms up
        await reset();
      }
    }
    if ((await fw.list('INPUT')).length !== PRESENT) throw new Error(`${backend}: INPUT does not hold ${PRESENT} rules at the end`);
    await fw.close();
    return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

const results = {};
for (const backend of ['legacy', 'nft']) results[backend] = await measure(backend);
const f = (n) => `${n.toFixed(2)} ms`.padStart(11);
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Linux ${os.release()}, node ${process.version}, ${rounds} rounds (medians)`);
console.log(`${CALLS} appends onto ${PRESENT} rules  concurrent   one transaction   ${CALLS} CLI calls   concurrent/tx   CLI/concurrent`);
for (const [backend, r] of Object.entries(results)) {
  console.log(
    `${backend.padEnd(26)} ${f(r.concurrent)} ${f(r.transaction)}       ${f(r.cli)}    ${(r.concurrent / r.transaction).toFixed(2)}×`.padEnd(92) +
      `  ${(r.cli / r.concurrent).toFixed(1)}×`,
  );
}
