// SPDX-License-Identifier: GPL-2.0-or-later
// Reliability: a process SIGKILLed in the middle of its transactions leaves the table either
// as it was or as the transaction made it, never partial, and the xtables lock free (the
// kernel drops a dead process's flock; the commit is one setsockopt). test/helpers/crash-loop.ts
// has the details; scripts/crash-loop.mjs [--backend nft] runs 200 kills. On nft the same
// holds with no lock at all: the commit is one netlink batch the kernel applies whole. On the
// native nftables form the victim's batch is a 5,000-rule flush-and-refill over ten tables of
// ours (test/helpers/nftables-crash-loop.ts): no kill may leave a table too many or an empty one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/index';
import { crashLoop } from './helpers/crash-loop';
import { nftablesCrashLoop, RULES } from './helpers/nftables-crash-loop';
import { withNetns } from './helpers/netns';

for (const backend of ['legacy', 'nft'] as Backend[]) {
  test(`${backend}: 30 SIGKILLs at random moments: always one whole generation, the lock always free`, () =>
    withNetns(async (ns) => {
      const dir = mkdtempSync(join(tmpdir(), 'cl-crash-'));
      try {
        const r = await crashLoop(ns, join(dir, 'xtables.lock'), 30, 72, 250, backend);
        const advanced = r.rounds.filter((x) => x.found > 0).length;
        console.log(`  ${backend}: ${r.rounds.length} kills, ${r.midCommitKills} between a commit and its report, last generation ${r.rounds.at(-1)?.found}`);
        assert.equal(r.problems, []);
        assert.is(r.rounds.length, 30);
        // The victims did commit work between kills (else this proved nothing).
        assert.ok(advanced > 0 && (r.rounds.at(-1)?.found ?? 0) >= 10, 'the victims committed too little');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));
}

test(`nftables: 30 SIGKILLs during ${RULES}-rule transactions: always one whole generation in exactly the tables it needs, none extra or empty`, () =>
  withNetns(async (ns) => {
    const r = await nftablesCrashLoop(ns, 30, 72, 1000);
    console.log(`  nftables: ${r.rounds.length} kills, ${r.midCommitKills} between a commit and its report, last generation ${r.rounds.at(-1)?.found} in ${r.rounds.at(-1)?.tables} tables`);
    assert.equal(r.problems, []);
    assert.is(r.rounds.length, 30);
    assert.ok((r.rounds.at(-1)?.found ?? 0) >= 10, 'the victims committed too little');
  }));

test.run();
