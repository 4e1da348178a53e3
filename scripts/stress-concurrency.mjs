// SPDX-License-Identifier: GPL-2.0-or-later
// The long form of test/71-concurrency (either backend): 10,000 operations (STRESS_OPS) from 4 async callers,
// 2 worker_threads, 2 child processes and 2 `iptables-legacy -w` loops on one throwaway
// namespace and one private lock file. Prints the figures as JSON; exits 1 on any loss.
//
// Usage: node scripts/stress-concurrency.mjs   [--backend legacy|nft] [--without-cli]   (root; env STRESS_OPS, STRESS_SEED)
// --without-cli: two more async callers instead of the CLI loops (still 10 writers), to see the
// library's own ops/s; every CLI op is a forked process replacing the whole table under the lock.
import { join } from 'node:path';

import { backendArg, helper, inThrowawayNetns } from './lib/long-run.mjs';

const { stress } = helper('churn');
const { execResult } = helper('netns');

const ops = Number(process.env.STRESS_OPS ?? 10000);
// --backend nft: iptables-nft for the CLI too.
const backend = backendArg();
const ok = await inThrowawayNetns('cl-stress-', async (ns, dir) => {
  const lockPath = join(dir, 'xtables.lock');
  const r = await stress(ns, ops, lockPath, Number(process.env.STRESS_SEED ?? 71), backend, !process.argv.includes('--without-cli'));
  const lockFree = (await execResult('flock', ['-n', lockPath, 'true'])).code === 0;
  console.log(JSON.stringify({ backend, cliLoops: !process.argv.includes('--without-cli'), ...r, failures: r.failures.slice(0, 20), failureCount: r.failures.length, lockFree }, null, 1));
  return r.failures.length === 0 && r.wrongCounts.length === 0 && r.strays.length === 0 && !r.untouchedChanged && lockFree;
});
console.log(ok ? 'OK: every rule exactly once, nothing else changed' : 'FAILED');
process.exit(ok ? 0 : 1);
