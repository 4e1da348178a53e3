// SPDX-License-Identifier: GPL-2.0-or-later
// Reliability: concurrent writers on one legacy table lose nothing. 4 async callers, 2
// worker_threads, 2 child processes using the library and 2 loops of `iptables-legacy -w`,
// all in one namespace and on one private xtables lock file, append and delete their own
// uniquely-commented rules (test/helpers/churn.ts). At the end every rule that should exist
// exists exactly once, no deleted one is left, and the rules nobody touched are unchanged.
// The long form (10,000 operations) is scripts/stress-concurrency.mjs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/index';
import { stress } from './helpers/churn';
import { execResult, withNetns } from './helpers/netns';

for (const backend of ['legacy', 'nft'] as Backend[]) {
  test(`${backend}: 1,000 operations from 10 concurrent writers of 4 kinds: every rule exactly once, nothing else changed, the lock free`, () =>
    withNetns(async (ns) => {
      const dir = mkdtempSync(join(tmpdir(), 'cl-stress-'));
      try {
        const lockPath = join(dir, 'xtables.lock');
        const r = await stress(ns, 1000, lockPath, 71, backend);
        console.log(`  ${backend}: ${r.ops} ops in ${r.ms} ms (${r.opsPerSecond}/s), ${r.finalRules} INPUT rules at the end`);
        assert.equal(r.failures, [], 'an operation failed');
        assert.equal(r.wrongCounts, [], 'a rule is missing or doubled');
        assert.equal(r.strays, [], 'a deleted rule is still there');
        assert.is(r.untouchedChanged, false, 'a rule nobody touched changed');
        assert.ok(r.finalRules > 100, 'the plan leaves rules behind');
        // nft writers never take it; legacy ones must all have let it go.
        assert.is((await execResult('flock', ['-n', lockPath, 'true'])).code, 0, 'the lock is free');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));
}

test.run();
