import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
process.env.CONNLIMIT_BINDING = process.env.CONNLIMIT_BINDING || '/work/wt-bench/build/Release/connlimit.node';
const { Firewall } = await import('/work/wt-bench/src/index.ts');
const name = 'cl-' + process.pid + '-1';
execFileSync('ip', ['netns', 'add', name]);
try {
  const fw = await Firewall.open({ netns: name, lockPath: '/tmp/prof.lock' });
  const rules = Array.from({ length: 10000 }, (_, i) => `-p tcp --syn --dport ${1024 + i} -m connlimit --connlimit-above 2 -j REJECT`);
  const out = [];
  for (let k = 0; k < 6; k++) {
    const t = performance.now();
    let tb = 0;
    await fw.transaction((tx) => { const t1 = performance.now(); for (const r of rules) tx.append('INPUT', r); tb = performance.now() - t1; });
    const all = performance.now() - t;
    await fw.flush('INPUT');
    out.push(`tx ${all.toFixed(0)}ms (build ${tb.toFixed(0)}ms)`);
  }
  console.log(out.join(', '));
  await fw.close();
} finally {
  execFileSync('ip', ['netns', 'del', name]);
}
