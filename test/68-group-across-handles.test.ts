// SPDX-License-Identifier: GPL-2.0-or-later
// Group commit across handles (docs/threads.md, "Group commit"), on legacy and on nft: 1,000
// mixed calls made at once, spread over four handles of one namespace opened through three
// different paths (its name, its /run/netns path, a symlink), give call by call the outcome of
// the same calls awaited one at a time, leave the same table, and take far fewer commits than
// calls. Handles whose settings differ (lock timeout; legacy: lock file) never share a commit,
// handles of two namespaces never do, a handle's close() while its calls are queued settles
// them as documented, and a handle whose path names another namespace now writes nothing.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupOwner } from '../src/group-owner';
import { Firewall, type Backend } from '../src/index';
import { countCommits, mixedCalls, outcome, seedTable, type Call } from './helpers/group-calls';
import { iptablesOracle } from './helpers/iptables-oracle';
import { createNetns, type Netns } from './helpers/netns';

const CALLS = 1000;
const HANDLES = 4;

/** Which handle makes call `i`: hops irregularly, so neighbouring calls mostly differ in handle. */
const handleOf = (i: number) => (i * 7 + (i >> 2)) % HANDLES;

/** A scratch directory for symlinks and lock files, removed by `use`'s end. */
async function withDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'cl-68-'));
  try {
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Four handles on `ns`, through its name, its path, and a symlink to it in `dir`. */
async function handlesOn(backend: Backend, ns: Netns, dir: string): Promise<Firewall[]> {
  const alias = join(dir, `alias-${ns.name}`);
  symlinkSync(ns.path, alias);
  return Promise.all([ns.name, ns.path, alias, ns.name].map((netns) => Firewall.open({ backend, netns })));
}

const closeAll = (fws: Firewall[]) => Promise.all(fws.map((fw) => fw.close()));

for (const backend of ['legacy', 'nft'] as Backend[]) {
  const { save } = iptablesOracle(backend);

  test(`${backend}: ${CALLS} mixed calls at once over ${HANDLES} handles of one namespace settle each as one at a time would`, async () => {
    const list = mixedCalls(CALLS);
    const together = await createNetns();
    const alone = await createNetns();
    try {
      await withDir(async (dir) => {
        const fwTogether = await handlesOn(backend, together, dir);
        const fwAlone = await handlesOn(backend, alone, dir);
        await seedTable(fwTogether[0] as Firewall);
        await seedTable(fwAlone[0] as Firewall);
        const t0 = performance.now();
        const { value: concurrent, commits } = await countCommits(() => Promise.all(list.map((call, i) => outcome(call(fwTogether[handleOf(i)] as Firewall)))));
        const t1 = performance.now();
        const sequential: string[] = [];
        for (const [i, call] of list.entries()) sequential.push(await outcome(call(fwAlone[handleOf(i)] as Firewall)));
        console.log(`  ${backend}: together ${(t1 - t0).toFixed(0)} ms in ${commits} commits; one at a time ${(performance.now() - t1).toFixed(0)} ms`);
        for (let i = 0; i < CALLS; i++) assert.is(concurrent[i], sequential[i], `call ${i}`);
        assert.ok(sequential.some((o) => o.startsWith('ERR_CONNLIMIT_NOT_FOUND')), 'some calls fail as missing');
        assert.ok(sequential.some((o) => o.startsWith('ERR_CONNLIMIT_EXISTS')), 'some chain creates fail');
        assert.ok(commits < CALLS / 4, `${commits} commits for ${CALLS} calls over ${HANDLES} handles: they were not grouped`);
        assert.is(await save(together), await save(alone));
        await Promise.all([closeAll(fwTogether), closeAll(fwAlone)]);
      });
    } finally {
      await Promise.all([together.destroy(), alone.destroy()]);
    }
  });

  test(`${backend}: handles with different lock settings never share a commit`, async () => {
    const ns = await createNetns();
    try {
      await withDir(async (dir) => {
        const otherLock = join(dir, 'xtables.lock');
        writeFileSync(otherLock, '');
        const same = await Firewall.open({ backend, netns: ns.name });
        const shorter = await Firewall.open({ backend, netns: ns.name, lockTimeoutMs: 4000 });
        const elsewhere = await Firewall.open({ backend, netns: ns.name, lockPath: otherLock });
        const fws = [same, shorter, elsewhere];
        // Alternating handles: a call of another group owner ends the open group.
        const rounds = 10;
        const rule = (i: number) => `-p tcp --dport ${100 + i} -j ACCEPT`;
        const { commits } = await countCommits(() => Promise.all(Array.from({ length: 3 * rounds }, (_, i) => (fws[i % 3] as Firewall).append('INPUT', rule(i)))));
        // The lock file is the xtables lock's alone: nf_tables takes none, so there `elsewhere`
        // and the next round's `same` share a group (the first call of `same` leads its own).
        // At least that many: a shared commit would make fewer. More can happen when a loaded
        // machine lets a commit start before the next call is queued, which changes nothing here.
        const expected = backend === 'legacy' ? 3 * rounds : 2 * rounds + 1;
        assert.ok(commits >= expected, `${commits} commits for ${3 * rounds} calls of three handles (at least ${expected})`);
        const lines = (await save(ns)).split('\n').filter((l) => l.startsWith('-A INPUT'));
        assert.equal(
          lines.map((l) => /--dport (\d+)/.exec(l)?.[1]),
          Array.from({ length: 3 * rounds }, (_, i) => String(100 + i)),
        );
        await closeAll(fws);
      });
    } finally {
      await ns.destroy();
    }
  });

  test(`${backend}: handles on two namespaces never group; each namespace ends as if alone`, async () => {
    const list = mixedCalls(300);
    const [one, two, alone] = await Promise.all([createNetns(), createNetns(), createNetns()]);
    try {
      const fwOne = await Promise.all([one.name, one.name].map((netns) => Firewall.open({ backend, netns })));
      const fwTwo = await Promise.all([two.name, two.name].map((netns) => Firewall.open({ backend, netns })));
      const fwAlone = await Firewall.open({ backend, netns: alone.name });
      await Promise.all([seedTable(fwOne[0] as Firewall), seedTable(fwTwo[0] as Firewall), seedTable(fwAlone)]);
      const both = list.flatMap((call: Call, i) => [outcome(call(fwOne[i % 2] as Firewall)), outcome(call(fwTwo[(i + 1) % 2] as Firewall))]);
      const outcomes = await Promise.all(both);
      const sequential: string[] = [];
      for (const call of list) sequential.push(await outcome(call(fwAlone)));
      assert.equal(
        outcomes.filter((_, i) => i % 2 === 0),
        sequential,
      );
      assert.equal(
        outcomes.filter((_, i) => i % 2 === 1),
        sequential,
      );
      const expected = await save(alone);
      assert.is(await save(one), expected);
      assert.is(await save(two), expected);
      await Promise.all([closeAll(fwOne), closeAll(fwTwo), fwAlone.close()]);
    } finally {
      await Promise.all([one.destroy(), two.destroy(), alone.destroy()]);
    }
  });

  test(`${backend}: close() while its calls are queued in a shared group: they settle, later calls reject`, async () => {
    const ns = await createNetns();
    try {
      const [a, b] = await Promise.all([Firewall.open({ backend, netns: ns.name }), Firewall.open({ backend, netns: ns.name })]);
      const fa = a as Firewall;
      const fb = b as Firewall;
      const queued = Array.from({ length: 40 }, (_, i) => outcome((i % 2 === 0 ? fa : fb).append('INPUT', `-p tcp --dport ${200 + i} -j ACCEPT`)));
      const closing = fa.close();
      const after = outcome(fa.append('INPUT', '-p tcp --dport 999 -j ACCEPT'));
      assert.ok((await Promise.all(queued)).every((o) => o.startsWith('ok')));
      await closing;
      assert.match(await after, /^ERR_CONNLIMIT_CLOSED/);
      // The other handle goes on, alone now.
      await fb.append('INPUT', '-p tcp --dport 300 -j ACCEPT');
      const ports = (await save(ns))
        .split('\n')
        .filter((l) => l.startsWith('-A INPUT'))
        .map((l) => /--dport (\d+)/.exec(l)?.[1]);
      assert.equal(ports, [...Array.from({ length: 40 }, (_, i) => String(200 + i)), '300']);
      await fb.close();
    } finally {
      await ns.destroy();
    }
  });

  test(`${backend}: a handle whose path names another namespace now writes nothing, in whichever place of a group`, async () => {
    const [home, other] = await Promise.all([createNetns(), createNetns()]);
    try {
      await withDir(async (dir) => {
        const alias = join(dir, 'alias');
        symlinkSync(home.path, alias);
        const moved = await Firewall.open({ backend, netns: alias });
        const stays = await Firewall.open({ backend, netns: home.name });
        // The alias now names the other namespace: `moved` must not write into either.
        rmSync(alias);
        symlinkSync(other.path, alias);
        const rule = (i: number) => `-p tcp --dport ${400 + i} -j ACCEPT`;
        // Groups led by each: the first member's handle commits the group.
        const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => outcome((i % 4 < 2 ? moved : stays).append('INPUT', rule(i)))));
        outcomes.forEach((o, i) => {
          if (i % 4 < 2) assert.match(o, /^ERR_CONNLIMIT_NETNS_GONE/, `call ${i}`);
          else assert.ok(o.startsWith('ok'), `call ${i}: ${o}`);
        });
        const ports = (text: string) => text.split('\n').filter((l) => l.startsWith('-A INPUT')).map((l) => /--dport (\d+)/.exec(l)?.[1]);
        assert.equal(ports(await save(home)), Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 4 >= 2).map((i) => String(400 + i)));
        assert.equal(ports(await save(other)), []);
        await Promise.all([moved.close(), stays.close()]);
      });
    } finally {
      await Promise.all([home.destroy(), other.destroy()]);
    }
  });
}

test('who may share a group: same lock settings; never a handle keeping a state, nor the native form', () => {
  const [h1, h2] = [{}, {}];
  const legacy = { backend: 'legacy', lockPath: '/run/xtables.lock', lockTimeoutMs: 5000 } as const;
  assert.is(groupOwner(h1, legacy, false), groupOwner(h2, legacy, false));
  assert.is.not(groupOwner(h1, legacy, false), groupOwner(h2, { ...legacy, lockTimeoutMs: 4000 }, false));
  assert.is.not(groupOwner(h1, legacy, false), groupOwner(h2, { ...legacy, lockPath: '/tmp/other.lock' }, false));
  const nft = { ...legacy, backend: 'nft' } as const;
  assert.is(groupOwner(h1, nft, false), groupOwner(h2, { ...nft, lockPath: '/tmp/other.lock' }, false), 'nf_tables takes no xtables lock');
  assert.is(groupOwner(h1, legacy, true), h1, 'fw.keep() on the handle');
  assert.is(groupOwner(h1, { ...legacy, backend: 'nftables' }, false), h1);
});

test.run();
