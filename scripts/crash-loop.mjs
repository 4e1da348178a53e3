// SPDX-License-Identifier: GPL-2.0-or-later
// The long form of test/72-crash: 200 SIGKILLs (CRASH_KILLS) of a process in the middle of
// its transactions, each followed by a check that the table holds one whole generation and
// the xtables lock is free. Prints the figures as JSON; exits 1 on any problem.
//
// Usage: node scripts/crash-loop.mjs   [--backend legacy|nft]   (root; env CRASH_KILLS, CRASH_SEED, CRASH_MAX_DELAY_MS)
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
require('tsx/cjs');
const { crashLoop } = require('../test/helpers/crash-loop.ts');
const { createNetns } = require('../test/helpers/netns.ts');

const kills = Number(process.env.CRASH_KILLS ?? 200);
// --backend nft runs the same victim through the nf_tables backend (iptables-nft-save observes).
const bi = process.argv.indexOf('--backend');
const backend = bi > 0 ? process.argv[bi + 1] : 'legacy';
if (backend !== 'legacy' && backend !== 'nft') {
  console.error(`--backend must be legacy or nft, not ${backend}`);
  process.exit(2);
}
const ns = await createNetns();
const dir = mkdtempSync(join(tmpdir(), 'cl-crash-'));
const t0 = Date.now();
let ok = false;
try {
  const r = await crashLoop(ns, join(dir, 'xtables.lock'), kills, Number(process.env.CRASH_SEED ?? 72), Number(process.env.CRASH_MAX_DELAY_MS ?? 250), backend);
  const last = r.rounds.at(-1);
  console.log(JSON.stringify({ backend, kills: r.rounds.length, midCommitKills: r.midCommitKills, lastGeneration: last?.found, problems: r.problems.slice(0, 20), problemCount: r.problems.length, ms: Date.now() - t0 }));
  ok = r.problems.length === 0 && r.rounds.length === kills;
} finally {
  await ns.destroy();
  rmSync(dir, { recursive: true, force: true });
}
console.log(ok ? 'OK: every kill left one whole generation and a free lock' : 'FAILED');
process.exit(ok ? 0 : 1);
