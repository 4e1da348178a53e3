// SPDX-License-Identifier: GPL-2.0-or-later
// The long form of test/74-leaks: 100,000 append/delete cycles (LEAK_CYCLES) on one handle in
// a throwaway namespace, every 10th with an error path and a listing, sampling fd count,
// thread count, RSS and heap every LEAK_EVERY cycles. Flat means: fds and threads never move,
// and RSS after the first tenth grows less than LEAK_RSS_SLACK_MIB (default 32).
//
// Usage: node --expose-gc scripts/leak-check.mjs [--backend nft]   (root)
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
require('tsx/cjs');
const { leakCycles } = require('../test/helpers/leak-cycles.ts');
const { createNetns } = require('../test/helpers/netns.ts');

const cycles = Number(process.env.LEAK_CYCLES ?? 100000);
const every = Number(process.env.LEAK_EVERY ?? Math.max(1, cycles / 20));
const slack = Number(process.env.LEAK_RSS_SLACK_MIB ?? 32);
const backend = process.argv.includes('--backend') ? process.argv[process.argv.indexOf('--backend') + 1] : 'legacy';
if (backend !== 'legacy' && backend !== 'nft') throw new Error(`--backend legacy|nft, not ${backend}`);
const ns = await createNetns();
const dir = mkdtempSync(join(tmpdir(), 'cl-leak-'));
const t0 = Date.now();
let ok = false;
try {
  const r = await leakCycles(ns.name, join(dir, 'xtables.lock'), cycles, every, (s) => console.log(JSON.stringify(s)), backend);
  const s = r.samples;
  const settled = s.find((x) => x.cycle >= cycles / 10) ?? s[0];
  const last = s.at(-1);
  const fdsFlat = s.every((x) => x.fds === s[0].fds);
  const threadsFlat = s.every((x) => x.threads === s[0].threads);
  const rssGrowthMiB = Math.round((last.rssMiB - settled.rssMiB) * 10) / 10;
  console.log(JSON.stringify({ backend, cycles, ms: Date.now() - t0, cyclesPerSecond: Math.round((cycles * 1000) / (Date.now() - t0)), fdsFlat, threadsFlat, rssAtTenthMiB: settled.rssMiB, rssEndMiB: last.rssMiB, rssGrowthMiB, errors: r.errors.slice(0, 10) }));
  ok = fdsFlat && threadsFlat && rssGrowthMiB < slack && r.errors.length === 0;
} finally {
  await ns.destroy();
  rmSync(dir, { recursive: true, force: true });
}
console.log(ok ? 'OK: flat' : 'FAILED');
process.exit(ok ? 0 : 1);
