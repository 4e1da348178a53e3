#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Conntrack read benchmark, one run over one table: in a throwaway network namespace,
// 100 000 synthetic entries (1000 clients in 1000 /24s x 100 connections; 1 in 100 to port
// 80, the rest to 443) are loaded with `conntrack -R`; then, each the median of several runs:
//   - Conntrack.count()                          vs `conntrack -C`
//   - Conntrack.countBy({ mask: 24 })            vs `conntrack -L | awk` per /24
//                                                vs scripts/ct-dump-floor.c (libmnl dump + count, the floor)
//   - countBy/toArray on one port (kernel-filtered) vs `conntrack -L -p tcp --dport 80 | wc -l`
//   - RSS growth of this process over the countBy runs.
// Prints a table and the ratios; writes nothing else. Needs root, conntrack, cc, libmnl-dev,
// and a built addon and dist/ (npm run build).
//
// Usage: node scripts/bench-conntrack.mjs [--entries N] [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { Conntrack } = require(join(root, 'dist', 'index.js'));

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ENTRIES = arg('--entries', 100_000);
const RUNS = arg('--runs', 5);
const CLIENTS = 1000;
const ns = `cl-bench-${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), 'connlimit-bench-'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn, runs = RUNS) {
  const ts = [];
  let out;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    out = await fn();
    ts.push(performance.now() - t0);
  }
  return { ms: median(ts), out };
}
const inNs = (cmd) => spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 28 });

try {
  execFileSync('ip', ['netns', 'add', ns]);
  const lines = [];
  for (let i = 0; i < ENTRIES; i++) {
    const c = i % CLIENTS;
    const k = Math.floor(i / CLIENTS);
    const src = `10.${100 + (c >> 8)}.${c & 255}.1`;
    const dport = k === 0 ? 80 : 443;
    lines.push(`-I -p tcp -s ${src} -d 10.9.0.1 --sport ${20000 + k} --dport ${dport} --state ESTABLISHED -t 3600 -u ASSURED`);
  }
  writeFileSync(join(tmp, 'load'), lines.join('\n') + '\n');
  const t0 = performance.now();
  const load = inNs(`conntrack -R ${join(tmp, 'load')} >/dev/null 2>&1; conntrack -C`);
  const loaded = Number(load.stdout.trim());
  console.log(`loaded ${loaded} entries in ${(performance.now() - t0).toFixed(0)} ms (conntrack -R)`);
  if (loaded !== ENTRIES) throw new Error(`expected ${ENTRIES} entries, conntrack -C says ${loaded}: ${load.stderr}`);

  execFileSync('cc', ['-O2', '-o', join(tmp, 'ct-dump-floor'), join(root, 'scripts', 'ct-dump-floor.c'), '-lmnl']);

  const ct = await Conntrack.open({ netns: ns });
  const rss0 = process.memoryUsage().rss;

  const count = await time(() => ct.count(), 50);
  const countCli = await time(() => Number(inNs('conntrack -C').stdout));

  const countBy = await time(() => ct.countBy({ family: 'ipv4', mask: 24 }));
  if (countBy.out.size !== CLIENTS) throw new Error(`countBy found ${countBy.out.size} keys`);
  const rss1 = process.memoryUsage().rss;
  const floorRun = JSON.parse(inNs(`${join(tmp, 'ct-dump-floor')} ${RUNS}`).stdout);
  if (floorRun.entries !== ENTRIES || floorRun.keys !== CLIENTS) throw new Error(`floor: ${JSON.stringify(floorRun)}`);
  const awk = `conntrack -L -f ipv4 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^src=/) { split(substr($i, 5), o, "."); c[o[1] "." o[2] "." o[3] ".0/24"]++; break } } END { print length(c) }'`;
  const cli = await time(() => Number(inNs(awk).stdout), 3);
  if (cli.out !== CLIENTS) throw new Error(`awk found ${cli.out} keys`);

  const narrow = await time(() => ct.countBy({ family: 'ipv4', protocol: 'tcp', dport: 80, mask: 24 }));
  const narrowList = await time(() => ct.toArray({ family: 'ipv4', protocol: 'tcp', dport: 80 }));
  const narrowCli = await time(() => Number(inNs('conntrack -L -p tcp --dport 80 2>/dev/null | wc -l').stdout), 3);
  if (narrowList.out.length !== CLIENTS || narrowCli.out !== CLIENTS) throw new Error('narrow query counts differ');
  await ct.close();

  const rows = [
    ['count()', count.ms, `conntrack -C ${countCli.ms.toFixed(2)} ms (includes fork+exec)`],
    ['countBy /24 (100k entries, 1000 keys)', countBy.ms, ''],
    ['  floor: C libmnl dump + count', floorRun.medianMs, `countBy / floor = ${(countBy.ms / floorRun.medianMs).toFixed(2)}x`],
    ['  conntrack -L | awk', cli.ms, `CLI / countBy = ${(cli.ms / countBy.ms).toFixed(1)}x`],
    ['countBy tcp dport 80 (kernel-filtered)', narrow.ms, `CLI / ours = ${(narrowCli.ms / narrow.ms).toFixed(1)}x`],
    ['toArray tcp dport 80 (1000 entries)', narrowList.ms, `CLI / ours = ${(narrowCli.ms / narrowList.ms).toFixed(1)}x`],
    ['  conntrack -L -p tcp --dport 80 | wc -l', narrowCli.ms, ''],
  ];
  console.log(`\n${'what'.padEnd(44)} ${'median ms'.padStart(10)}  note`);
  for (const [what, ms, note] of rows) console.log(`${what.padEnd(44)} ${ms.toFixed(ms < 1 ? 3 : 1).padStart(10)}  ${note}`);
  console.log(`\nRSS: ${(rss0 / 2 ** 20).toFixed(1)} MiB before countBy, ${(rss1 / 2 ** 20).toFixed(1)} MiB after ${RUNS} runs (+${((rss1 - rss0) / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`node ${process.version}, kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, ${RUNS} runs per figure (3 for CLI pipelines)`);
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
  rmSync(tmp, { recursive: true, force: true });
}
