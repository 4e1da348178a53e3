// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6: `connlimit restore`. Each run is set beside the backend's own iptables-restore on the
// same input in a second throwaway namespace (the oracle: identical `*-save` of every table);
// bad input exits 2 naming the line, with nothing opened; a table the kernel refuses after an
// earlier one leaves the earlier one restored, as iptables-restore does, and says so.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/index';
import { iptablesOracle } from './helpers/iptables-oracle';
import { execResult, withNetns, type ExecResult, type Netns } from './helpers/netns';

const root = join(__dirname, '..');
const cliMain = join(root, 'src', 'cli', 'main.ts');
const fixtureFile = (name: string): string => join(__dirname, 'fixtures', 'restore', `${name}.rules`);
const TWO_TABLES = readFileSync(fixtureFile('user-chains'), 'utf8') + readFileSync(fixtureFile('mangle'), 'utf8');

function connlimit(args: string[], input?: string): Promise<ExecResult> {
  return execResult(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
    timeoutMs: 60_000,
    ...(input !== undefined ? { input } : {}),
  });
}

for (const backend of ['legacy', 'nft'] as Backend[]) {
  const oracle = iptablesOracle(backend);
  const both = async (a: Netns, b: Netns) => {
    for (const table of ['filter', 'mangle']) assert.is(await oracle.save(b, 'ipv4', table), await oracle.save(a, 'ipv4', table), table);
  };
  const seed = async (ns: Netns) => {
    await ns.run(`iptables-${backend}`, ['-N', 'OLD']);
    await ns.run(`iptables-${backend}`, ['-A', 'INPUT', '-j', 'OLD']);
    await ns.run(`iptables-${backend}`, ['-t', 'mangle', '-A', 'OUTPUT', '-j', 'ACCEPT']);
  };

  test(`${backend}: restore FILE and restore --noflush < stdin leave what iptables-${backend}-restore leaves, every table`, () =>
    withNetns((viaCli) =>
      withNetns(async (ours) => {
        await seed(viaCli);
        await seed(ours);
        await viaCli.run(`iptables-${backend}-restore`, [fixtureFile('connlimit')]);
        const r = await connlimit(['restore', '--backend', backend, '--netns', ours.name, fixtureFile('connlimit')]);
        assert.is(r.code, 0, r.stderr);
        assert.is(r.stdout, `restored filter (${backend}): 4 chains, 9 rules\n`);
        await both(viaCli, ours);
        await viaCli.run(`iptables-${backend}-restore`, ['--noflush'], { input: TWO_TABLES });
        const j = await connlimit(['restore', '--noflush', '--json', '--backend', backend, '--netns', ours.name], TWO_TABLES);
        assert.is(j.code, 0, j.stderr);
        assert.equal(JSON.parse(j.stdout), {
          ok: true,
          noflush: true,
          tables: [
            { table: 'filter', backend, chains: 6, rules: 7 },
            { table: 'mangle', backend, chains: 6, rules: 3 },
          ],
        });
        await both(viaCli, ours);
      }),
    ),
  );

  test(`${backend}: what connlimit save prints, connlimit restore puts back in another namespace`, () =>
    withNetns((source) =>
      withNetns(async (target) => {
        await source.run(`iptables-${backend}-restore`, [fixtureFile('connlimit')]);
        const saved = await connlimit(['save', '--backend', backend, '--netns', source.name]);
        assert.is(saved.code, 0, saved.stderr);
        const r = await connlimit(['restore', '--backend', backend, '--netns', target.name], saved.stdout);
        assert.is(r.code, 0, r.stderr);
        assert.is(await oracle.save(target), await oracle.save(source));
        assert.is((await connlimit(['save', '--backend', backend, '--netns', target.name])).stdout, saved.stdout);
      }),
    ),
  );

  test(`${backend}: --table restores that table only, as iptables-restore -T`, () =>
    withNetns((viaCli) =>
      withNetns(async (ours) => {
        await seed(viaCli);
        await seed(ours);
        await viaCli.run(`iptables-${backend}-restore`, ['-T', 'mangle'], { input: TWO_TABLES });
        const r = await connlimit(['restore', '-t', 'mangle', '--backend', backend, '--netns', ours.name], TWO_TABLES);
        assert.is(r.code, 0, r.stderr);
        await both(viaCli, ours);
        const none = await connlimit(['restore', '-t', 'raw', '--backend', backend, '--netns', ours.name], TWO_TABLES);
        assert.is(none.code, 2);
        assert.match(none.stderr, /no \*raw section/);
      }),
    ),
  );

  test(`${backend}: a bad line anywhere exits 2 naming it, before any table is touched (--json too)`, () =>
    withNetns(async (ns) => {
      await seed(ns);
      const before = [await oracle.save(ns), await oracle.save(ns, 'ipv4', 'mangle')];
      const bad = `${TWO_TABLES.replace('-A MARKS -j CONNMARK', '-A MARKS -m statistic --mode nth --every 2 -j CONNMARK')}`;
      const line = bad.split('\n').findIndex((l) => l.includes('statistic')) + 1;
      const r = await connlimit(['restore', '--backend', backend, '--netns', ns.name], bad);
      assert.is(r.code, 2);
      assert.match(r.stderr, new RegExp(`^connlimit: line ${line}: '-A MARKS -m statistic`));
      assert.is(r.stderr.split('\n').length, 2, 'one line');
      const j = await connlimit(['restore', '--json', '--backend', backend, '--netns', ns.name], '*filter\n-A INPUT -j DROP\n');
      assert.is(j.code, 2);
      assert.is(JSON.parse(j.stdout).error.code, 'ERR_CONNLIMIT_INVALID');
      assert.equal([await oracle.save(ns), await oracle.save(ns, 'ipv4', 'mangle')], before);
    }),
  );

  test(`${backend}: when the kernel refuses a later table the earlier one stays restored, and the error says so`, () =>
    withNetns((viaCli) =>
      withNetns(async (ours) => {
        const text = `${readFileSync(fixtureFile('policies'), 'utf8')}*mangle\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j MISSING\nCOMMIT\n`;
        const cli = await viaCli.exec(`iptables-${backend}-restore`, [], { input: text });
        assert.is.not(cli.code, 0);
        const r = await connlimit(['restore', '--backend', backend, '--netns', ours.name], text);
        assert.is(r.code, 5, r.stderr);
        assert.match(r.stderr, /line 13: '-A OUTPUT -j MISSING'.*restored before this failure, and left so: filter/);
        await both(viaCli, ours);
      }),
    ),
  );
}

test('--noflush belongs to restore', async () => {
  const r = await connlimit(['ls', '--noflush']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--noflush: belongs to restore/);
});

test.run();
