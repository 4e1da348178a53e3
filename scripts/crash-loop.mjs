// SPDX-License-Identifier: GPL-2.0-or-later
// The long form of test/72-crash: 200 SIGKILLs (CRASH_KILLS) of a process in the middle of
// its transactions, each followed by a check that the table holds one whole generation and
// the xtables lock is free. Prints the figures as JSON; exits 1 on any problem.
//
// Usage: node scripts/crash-loop.mjs   [--backend legacy|nft]   (root; env CRASH_KILLS, CRASH_SEED, CRASH_MAX_DELAY_MS)
import { join } from 'node:path';

import { backendArg, helper, inThrowawayNetns } from './lib/long-run.mjs';

const { crashLoop } = helper('crash-loop');

const kills = Number(process.env.CRASH_KILLS ?? 200);
// --backend nft: iptables-nft-save observes.
const backend = backendArg();
const ok = await inThrowawayNetns('cl-crash-', async (ns, dir) => {
  const t0 = Date.now();
  const r = await crashLoop(ns, join(dir, 'xtables.lock'), kills, Number(process.env.CRASH_SEED ?? 72), Number(process.env.CRASH_MAX_DELAY_MS ?? 250), backend);
  const last = r.rounds.at(-1);
  console.log(JSON.stringify({ backend, kills: r.rounds.length, midCommitKills: r.midCommitKills, lastGeneration: last?.found, problems: r.problems.slice(0, 20), problemCount: r.problems.length, ms: Date.now() - t0 }));
  return r.problems.length === 0 && r.rounds.length === kills;
});
console.log(ok ? 'OK: every kill left one whole generation and a free lock' : 'FAILED');
process.exit(ok ? 0 : 1);
