// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 5: fw.restore() against the kernel, legacy and nft, in throwaway namespaces. Oracle:
// the backend's own iptables-restore on the same text in a second namespace that held the same
// table before; both `*-save` outputs must be identical, with and without --noflush. Inputs:
// the hand-written files of test/fixtures/restore (policies, user chains, comments, counters,
// connlimit and compat modules, another table), the save output of a table the CLI filled,
// and `fw.save()` output. Bad input: a typed error naming the line, the table byte-identical.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, type Backend, type Family, type TableName } from '../src/index';
import { rejects } from './helpers/assert';
import { iptablesOracle } from './helpers/iptables-oracle';
import { withNetns, type Netns } from './helpers/netns';
import { argv, IPV4_RULES, IPV6_RULES } from './helpers/rule-tables';

const FILES = ['policies', 'user-chains', 'connlimit', 'mangle'];
const fixture = (name: string): string => readFileSync(join(__dirname, 'fixtures', 'restore', `${name}.rules`), 'utf8');
const tableOf = (text: string): TableName => (/^\*(\w+)$/m.exec(text)?.[1] ?? 'filter') as TableName;

/**
 * What both namespaces hold before the restore, so replacing and --noflush differ: a rule in a
 * built-in chain, a user chain the inputs also declare (KEEP) with a rule, one they don't
 * (OLD), jumped to, and a built-in chain's policy the inputs may leave unsaid.
 */
const BEFORE: string[][] = [
  ['-N', 'KEEP'],
  ['-N', 'OLD'],
  ['-A', 'INPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP'],
  ['-A', 'KEEP', '-j', 'ACCEPT'],
  ['-A', 'OLD', '-j', 'DROP'],
  ['-A', 'INPUT', '-j', 'OLD'],
  ['-P', 'FORWARD', 'DROP'],
];

for (const backend of ['legacy', 'nft'] as Backend[]) {
  const oracle = iptablesOracle(backend);
  const cli = (family: Family) => `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}`;

  async function prepare(ns: Netns, table: TableName, family: Family = 'ipv4'): Promise<void> {
    for (const args of BEFORE) await ns.run(cli(family), ['-w', '-t', table, ...args]);
  }

  async function restoreWithLibrary(ns: Netns, text: string, table: TableName, noflush: boolean, family: Family = 'ipv4') {
    const fw = await Firewall.open({ backend, family, table, netns: ns.path });
    try {
      return await fw.restore(text, { noflush });
    } finally {
      await fw.close();
    }
  }

  /** The CLI restores `text` in one namespace, the library in another, both prepared alike: same save. */
  async function sameAsCli(text: string, noflush: boolean, family: Family = 'ipv4', setup?: (ns: Netns) => Promise<unknown>): Promise<string> {
    const table = tableOf(text);
    return withNetns((viaCli) =>
      withNetns(async (viaLib) => {
        for (const ns of [viaCli, viaLib]) {
          await setup?.(ns);
          await prepare(ns, table, family);
        }
        await viaCli.run(`${cli(family)}-restore`, noflush ? ['--noflush'] : [], { input: text });
        await restoreWithLibrary(viaLib, text, table, noflush, family);
        const want = await oracle.save(viaCli, family, table);
        assert.is(await oracle.save(viaLib, family, table), want);
        return want;
      }),
    );
  }

  for (const file of FILES) {
    for (const noflush of [false, true]) {
      test(`${backend}: ${file}.rules${noflush ? ' --noflush' : ''} restores as ${cli('ipv4')}-restore does`, async () => {
        const saved = await sameAsCli(fixture(file), noflush);
        assert.ok(saved.includes(noflush ? '-A OLD -j DROP' : ':INPUT'), saved);
        if (!noflush) assert.not.ok(saved.includes(':OLD'), 'the undeclared user chain was deleted');
      });
    }
  }

  for (const family of ['ipv4', 'ipv6'] as Family[]) {
    test(`${backend} ${family}: the save output of a table the CLI filled restores as the CLI restores it, and to the same table`, () =>
      withNetns(async (filled) => {
        await filled.run(cli(family), ['-N', 'LIMITS']);
        for (const [chain, rule] of family === 'ipv4' ? IPV4_RULES : IPV6_RULES) await filled.run(cli(family), ['-w', '-A', chain, ...argv(rule)]);
        await filled.run(cli(family), ['-P', 'OUTPUT', 'DROP']);
        const text = (await filled.run(`${cli(family)}-save`, ['-t', 'filter'])).stdout;
        for (const noflush of [false, true]) {
          const restored = await sameAsCli(text, noflush, family);
          if (!noflush) assert.is(restored, await oracle.save(filled, family, 'filter'));
        }
      }),
    );
  }

  test(`${backend}: -m set rules restore with the sets' kernel indexes, as the CLI writes them`, async () => {
    const text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set second src -j DROP\n-A INPUT -p tcp -m set ! --match-set first dst,dst -j ACCEPT\nCOMMIT\n';
    const sets = async (ns: Netns) => {
      await ns.run('ipset', ['create', 'first', 'hash:ip,port']);
      await ns.run('ipset', ['create', 'second', 'hash:ip']);
    };
    for (const noflush of [false, true]) assert.match(await sameAsCli(text, noflush, 'ipv4', sets), /--match-set second src/);
  });

  test(`${backend}: a rule another tool wrote outside the rule language fails loudly, naming its line; nothing is applied`, () =>
    withNetns(async (filled) =>
      withNetns(async (target) => {
        await filled.run(cli('ipv4'), ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
        await filled.run(cli('ipv4'), ['-A', 'INPUT', '-m', 'statistic', '--mode', 'nth', '--every', '3', '--packet', '0', '-j', 'DROP']);
        await filled.run(cli('ipv4'), ['-A', 'INPUT', '-j', 'ACCEPT']);
        const text = (await filled.run(`${cli('ipv4')}-save`, ['-t', 'filter'])).stdout;
        const line = text.split('\n').findIndex((l) => l.includes('statistic')) + 1;
        await prepare(target, 'filter');
        const before = await oracle.save(target);
        const e = (await rejects(restoreWithLibrary(target, text, 'filter', false), 'ERR_CONNLIMIT_INVALID')) as { path?: string; message: string };
        assert.is(e.path, `line ${line}`);
        assert.match(e.message, /^line \d+: '-A INPUT -m statistic .*statistic/);
        assert.is(await oracle.save(target), before, 'the table changed');
      }),
    ),
  );

  const BAD: Array<[string, TableName, string, string, RegExp]> = [
    ['an unknown option', 'filter', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --frobnicate 1 -j DROP\nCOMMIT\n', 'line 3', /frobnicate/],
    ['no COMMIT', 'filter', '*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\n', 'line 1', /no COMMIT/],
    ['a policy on a user chain', 'filter', '*filter\n:MINE ACCEPT [0:0]\nCOMMIT\n', 'line 2', /user chain has no policy/],
    ['a policy no chain can have', 'filter', '*filter\n:INPUT RETURN [0:0]\nCOMMIT\n', 'line 2', /ACCEPT or DROP/],
    ['an -I line', 'filter', '*filter\n-I INPUT 1 -j DROP\nCOMMIT\n', 'line 2', /'-I' is not restored/],
    ['a rule outside a table', 'filter', '-A INPUT -j DROP\n*filter\nCOMMIT\n', 'line 1', /outside a table/],
    ['a chain declared twice', 'filter', '*filter\n:A - [0:0]\n:A - [0:0]\nCOMMIT\n', 'line 3', /declared twice/],
    ['a broken table after a good one', 'filter', '*filter\n-A INPUT -j DROP\nCOMMIT\n*nat\n:PREROUTING ACCEPT\n-A PREROUTING -j DROP\n', 'line 4', /no COMMIT/],
    ['an -o rule in INPUT', 'filter', '*filter\n:INPUT ACCEPT [0:0]\n\n-A INPUT -o eth0 -j DROP\nCOMMIT\n', 'line 4', /-o/],
    ['REJECT outside filter', 'mangle', '*mangle\n-A INPUT -j REJECT\nCOMMIT\n', 'line 2', /REJECT is only valid in the filter table/],
    ['CRLF line ends', 'filter', '*filter\r\n-A INPUT -j DROP\r\nCOMMIT\r\n', 'line 1', /carriage return/],
    ['no section for the table', 'filter', '*raw\nCOMMIT\n', 'text', /no \*filter section/],
  ];
  for (const [what, table, text, path, message] of BAD) {
    test(`${backend}: ${what} is ERR_CONNLIMIT_INVALID at ${path}, before anything is written`, () =>
      withNetns(async (ns) => {
        await prepare(ns, table);
        const before = await oracle.save(ns, 'ipv4', table);
        const e = (await rejects(restoreWithLibrary(ns, text, table, false), 'ERR_CONNLIMIT_INVALID')) as { path?: string; message: string };
        assert.is(e.path, path, e.message);
        assert.match(e.message, message);
        assert.is(await oracle.save(ns, 'ipv4', table), before, 'the table changed');
      }),
    );
  }

  test(`${backend}: a jump to a chain neither the input nor the table has is NOT_FOUND naming the line; nothing is applied`, () =>
    withNetns(async (ns) => {
      await prepare(ns, 'filter');
      const before = await oracle.save(ns);
      const text = '*filter\n:INPUT DROP [0:0]\n:NEW - [0:0]\n-A NEW -j ACCEPT\n-A INPUT -j MISSING\nCOMMIT\n';
      const e = await rejects(restoreWithLibrary(ns, text, 'filter', false), 'ERR_CONNLIMIT_NOT_FOUND');
      assert.match(e.message, /\[line 5: '-A INPUT -j MISSING'; nothing was applied\]/);
      assert.is(await oracle.save(ns), before, 'the table changed');
      assert.is((await ns.exec(`${cli('ipv4')}-restore`, [], { input: text })).code !== 0, true, 'the CLI refuses it too');
    }),
  );

  test(`${backend}: fw.save() output restores to the same table; other tables in the input are skipped and named`, () =>
    withNetns((source) =>
      withNetns(async (target) => {
        const fw = await Firewall.open({ backend, netns: source.path });
        let text: string;
        try {
          await fw.transaction((tx) => {
            tx.createChain('LIMITS');
            tx.append('LIMITS', '-p tcp --syn --dport 443 -m connlimit --connlimit-above 64 --connlimit-mask 24 -j DROP');
            tx.append('LIMITS', '-m conntrack --ctstate INVALID -j DROP');
            tx.append('INPUT', '-m comment --comment "a b" -j LIMITS');
            tx.setPolicy('FORWARD', 'DROP');
          });
          text = await fw.save();
        } finally {
          await fw.close();
        }
        await prepare(target, 'filter');
        const other = '*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
        const r = await restoreWithLibrary(target, other + text, 'filter', false);
        assert.equal(r, { table: 'filter', chains: 4, rules: 3, otherTables: ['raw'] });
        const back = await Firewall.open({ backend, netns: target.path });
        try {
          assert.is(await back.save(), text);
        } finally {
          await back.close();
        }
        assert.is(await oracle.save(target), await oracle.save(source));
      }),
    ),
  );
}

test('backend nftables refuses restore, typed, before anything is read', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.path });
    try {
      await rejects(fw.restore('*filter\nCOMMIT\n'), 'ERR_CONNLIMIT_INVALID');
      await rejects(fw.restore('*filter\nCOMMIT\n', { noflush: 1 } as never), 'ERR_CONNLIMIT_INVALID');
    } finally {
      await fw.close();
    }
  }),
);

test('Firewall.validateRestore checks every table with its own chains, naming the line', () => {
  assert.equal(Firewall.validateRestore({ backend: 'legacy' }, fixture('user-chains') + fixture('mangle')), ['filter', 'mangle']);
  let e: { path?: string } = {};
  try {
    Firewall.validateRestore({ backend: 'legacy' }, `${fixture('policies')}*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j REJECT\nCOMMIT\n`);
  } catch (err) {
    e = err as { path?: string };
  }
  assert.is(e.path, `line ${fixture('policies').split('\n').length + 2}`);
});

test.run();
