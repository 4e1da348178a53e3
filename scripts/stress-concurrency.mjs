// SPDX-License-Identifier: GPL-2.0-or-later
// The long form of test/71-concurrency (either backend): 10,000 operations (STRESS_OPS) from 4 async callers,
// 2 worker_threads, 2 child processes and 2 `iptables-legacy -w` loops on one throwaway
// namespace and one private lock file. Prints the figures as JSON; exits 1 on any loss.
//
// Usage: node scripts/stress-concurrency.mjs   [--backend legacy|nft]   (root; env STRESS_OPS, STRESS_SEED)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

// Loaded as CommonJS through tsx so the helpers' __dirname is a real directory (Workers and
// children require files next to them).
const require = createRequire(import.meta.url);
require('tsx/cjs');
const { stress } = require('../test/helpers/churn.ts');
const { createNetns, execResult } = require('../test/helpers/netns.ts');

const ops = Number(process.env.STRESS_OPS ?? 10000);
// --backend nft runs the same plan through the nf_tables backend (and iptables-nft for the CLI).
const bi = process.argv.indexOf('--backend');
const backend = bi > 0 ? process.argv[bi + 1] : 'legacy';
if (backend !== 'legacy' && backend !== 'nft') {
  console.error(`--backend must be legacy or nft, not ${backend}`);
  process.exit(2);
}
const ns = await createNetns();
const dir = mkdtempSync(join(tmpdir(), 'cl-stress-'));
let ok = false;
try {
  const lockPath = join(dir, 'xtables.lock');
  const r = await stress(ns, ops, lockPath, Number(process.env.STRESS_SEED ?? 71), backend);
  const lockFree = (await execResult('flock', ['-n', lockPath, 'true'])).code === 0;
  console.log(JSON.stringify({ backend, ...r, failures: r.failures.slice(0, 20), failureCount: r.failures.length, lockFree }, null, 1));
  ok = r.failures.length === 0 && r.wrongCounts.length === 0 && r.strays.length === 0 && !r.untouchedChanged && lockFree;
} finally {
  await ns.destroy();
  rmSync(dir, { recursive: true, force: true });
}
console.log(ok ? 'OK: every rule exactly once, nothing else changed' : 'FAILED');
process.exit(ok ? 0 : 1);
