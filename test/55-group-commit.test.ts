// SPDX-License-Identifier: GPL-2.0-or-later
// Group commit (docs/threads.md, "Group commit"), on legacy and on nft: 1,000 calls of mixed
// kinds made at once on one handle (appends, inserts at positions in and out of range, deletes
// of present and missing rules by spec and by position, ensures, chain creates that fail and
// that succeed, and reads in between) give, call by call, the outcome the same calls give
// awaited one at a time in another namespace, and leave the same table, in far fewer commits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, type Backend } from '../src/index';
import { type Call, countCommits, mixedCalls, outcome, seedTable } from './helpers/group-calls';
import { iptablesOracle } from './helpers/iptables-oracle';
import { createNetns } from './helpers/netns';

const CALLS = 1000;

/** Runs `list` on two fresh namespaces, at once on one and awaited one by one on the other. */
async function bothWays(backend: Backend, prepare: (fw: Firewall) => Promise<void>, list: Call[]) {
  const together = await createNetns();
  const alone = await createNetns();
  try {
    const fwTogether = await Firewall.open({ backend, netns: together.name });
    const fwAlone = await Firewall.open({ backend, netns: alone.name });
    await prepare(fwTogether);
    await prepare(fwAlone);
    const t0 = performance.now();
    const { value: concurrent, commits } = await countCommits(() => Promise.all(list.map((call) => outcome(call(fwTogether)))));
    const t1 = performance.now();
    const sequential: string[] = [];
    for (const call of list) sequential.push(await outcome(call(fwAlone)));
    const t2 = performance.now();
    const { save } = iptablesOracle(backend);
    const saved = [await save(together), await save(alone)];
    await Promise.all([fwTogether.close(), fwAlone.close()]);
    return { concurrent, sequential, commits, saved, togetherMs: t1 - t0, aloneMs: t2 - t1 };
  } finally {
    await Promise.all([together.destroy(), alone.destroy()]);
  }
}

for (const backend of ['legacy', 'nft'] as Backend[]) {
  test(`${backend}: ${CALLS} concurrent mixed calls settle each as one at a time would, and leave the same table`, async () => {
    const r = await bothWays(backend, seedTable, mixedCalls(CALLS));
    console.log(`  ${backend}: together ${r.togetherMs.toFixed(0)} ms in ${r.commits} commits; one at a time ${r.aloneMs.toFixed(0)} ms`);
    for (let i = 0; i < CALLS; i++) assert.is(r.concurrent[i], r.sequential[i], `call ${i}`);
    assert.ok(r.sequential.some((o) => o.startsWith('ERR_CONNLIMIT_NOT_FOUND')), 'some calls fail as missing');
    assert.ok(r.sequential.some((o) => o.startsWith('ERR_CONNLIMIT_EXISTS')), 'some chain creates fail');
    assert.ok(r.sequential.filter((o) => o.startsWith('ok')).length > CALLS / 2, 'most calls succeed');
    assert.ok(r.commits < CALLS / 4, `${r.commits} commits for ${CALLS} calls: they were not grouped`);
    assert.is(r.saved[0], r.saved[1]);
  });

  test(`${backend}: a group the kernel refuses (a jump loop) is committed call by call, each with its own answer`, async () => {
    const loops = async (fw: Firewall) =>
      fw.transaction((tx) => {
        tx.createChain('A');
        tx.createChain('B');
        tx.append('INPUT', '-j A');
        tx.append('A', '-j B');
      });
    const list: Call[] = [
      (fw) => fw.append('INPUT', '-p tcp --dport 1 -j DROP'),
      (fw) => fw.append('B', '-j A'), // closes a loop: only the kernel sees it, at commit
      (fw) => fw.delete('INPUT', '-p tcp --dport 9 -j DROP'), // missing
      (fw) => fw.append('INPUT', '-p tcp --dport 2 -j DROP'),
      (fw) => fw.append('B', '-g A'), // another loop
      (fw) => fw.insert('INPUT', 1, '-p tcp --dport 3 -j DROP'),
    ];
    const r = await bothWays(backend, loops, list);
    assert.equal(r.concurrent, r.sequential);
    assert.match(r.sequential[1] ?? '', /^ERR_CONNLIMIT_KERNEL .*loop/);
    assert.match(r.sequential[2] ?? '', /^ERR_CONNLIMIT_NOT_FOUND/);
    assert.ok((r.sequential[5] ?? '').startsWith('ok'));
    // One try without the missing delete, refused by the kernel; then the five one by one.
    assert.ok(r.commits >= list.length, `${r.commits} commits: the group was not committed call by call`);
    assert.is(r.saved[0], r.saved[1]);
  });
}

test('a lone call commits at once, in a group of its own', async () => {
  const ns = await createNetns();
  try {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const { commits } = await countCommits(() => fw.append('INPUT', '-p tcp --dport 22 -j DROP'));
    assert.is(commits, 1);
    await fw.close();
  } finally {
    await ns.destroy();
  }
});

test.run();
