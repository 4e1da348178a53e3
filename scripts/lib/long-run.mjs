// SPDX-License-Identifier: GPL-2.0-or-later
// What the long forms of the kernel tests (scripts/crash-loop.mjs, scripts/stress-concurrency.mjs)
// share: the --backend option, and a throwaway namespace with a private directory (for the
// lock file) that are removed however the run ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The test helpers are loaded as CommonJS through tsx so their __dirname is a real directory
// (Workers and children require files next to them).
const require = createRequire(import.meta.url);
require('tsx/cjs');

/** The test helper `name` (test/helpers/<name>.ts). */
export function helper(name) {
  return require(`../../test/helpers/${name}.ts`);
}

/** `--backend legacy|nft` (default legacy): the nft one runs the same plan through the nf_tables backend. Exits 2 on anything else. */
export function backendArg() {
  const bi = process.argv.indexOf('--backend');
  const backend = bi > 0 ? process.argv[bi + 1] : 'legacy';
  if (backend !== 'legacy' && backend !== 'nft') {
    console.error(`--backend must be legacy or nft, not ${backend}`);
    process.exit(2);
  }
  return backend;
}

/** `fn(ns, dir)` in a new throwaway namespace with a new directory `<tmp>/<prefix>XXXXXX`; both are removed after it. */
export async function inThrowawayNetns(prefix, fn) {
  const ns = await helper('netns').createNetns();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(ns, dir);
  } finally {
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
