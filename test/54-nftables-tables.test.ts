// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the native nftables form's own tables (backend 'nftables') against the real kernel,
// each test in a throwaway namespace with `nft list` as the oracle: tables a batch empties go
// in that batch, flush/refill cycles reuse the lowest indexes, every table hooks in within the
// filter range (priority filter .. filter + 49, before security at 50), destroy() and
// `connlimit flush --all` remove every table of ours and nothing else.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { rejects } from './helpers/assert';
import { execResult, withNetns, type Netns } from './helpers/netns';
import { prioritiesIn } from './helpers/nft-priority';

const nftList = async (ns: Netns, ...what: string[]) => (await ns.run('nft', ['list', ...what])).stdout;
const rule = (port: number, tag = 'r') => `-p tcp --dport ${port} -m connlimit --connlimit-above 3 -m comment --comment ${tag} -j DROP`;

interface TableView {
  name: string;
  rules: number;
  priorities: number[];
}

/** Every table of the family as `nft list table` prints it: its rule count and its base chains' priorities. */
async function tables(ns: Netns, family: 'ip' | 'ip6' = 'ip'): Promise<TableView[]> {
  const names = (await nftList(ns, 'tables', family)).split('\n').filter(Boolean).map((l) => l.split(' ')[2] as string);
  const out: TableView[] = [];
  for (const name of names) {
    const text = await nftList(ns, 'table', family, name);
    const rules = text.split('\n').filter((l) => /^\t\t\S/.test(l) && !/^\t\t(type|policy) /.test(l) && !/^\t\t(size|flags) /.test(l));
    const priorities = prioritiesIn(text);
    out.push({ name, rules: rules.length, priorities });
  }
  return out;
}

/** Our tables hold rules, hook in within the filter range, in the order of their indexes. */
function assertTidy(views: TableView[], what: string): void {
  for (const t of views) {
    assert.ok(t.rules > 0, `${what}: table ${t.name} is empty`);
    const index = t.name === 'connlimit' ? 0 : Number(t.name.replace('connlimit_', ''));
    assert.ok(t.priorities.length > 0 && t.priorities.every((p) => p === index && p <= 49), `${what}: ${t.name} hooks at ${t.priorities}`);
  }
}

test('60 flush/refill cycles of 1,001 rules (flush(), flush(chain), flush in the refill transaction): three tables, all in use, at filter .. filter + 2', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      for (let cycle = 0; cycle < 60; cycle++) {
        const refill = (tx: { append(chain: string, r: string): unknown }) => {
          for (let i = 0; i < 1001; i++) tx.append('INPUT', rule(10000 + i, `c${cycle}`));
        };
        if (cycle % 3 === 0) {
          await fw.flush();
          await fw.transaction(refill);
        } else if (cycle % 3 === 1) {
          await fw.flush('INPUT');
          await fw.transaction(refill);
        } else {
          await fw.transaction((tx) => {
            tx.flush();
            refill(tx);
          });
        }
        const names = (await nftList(ns, 'tables')).trim().split('\n');
        assert.equal(names, ['table ip connlimit', 'table ip connlimit_1', 'table ip connlimit_2'], `after cycle ${cycle}`);
      }
      const views = await tables(ns);
      assert.equal(views.map((t) => [t.name, t.rules]), [['connlimit', 500], ['connlimit_1', 500], ['connlimit_2', 1]]);
      assertTidy(views, 'after 60 cycles');
      // Every hooked chain holds rules: no empty base chain anywhere in the ruleset.
      const ruleset = await nftList(ns, 'ruleset');
      assert.not.match(ruleset, /policy accept;\n\t\}/);
      const listed = await fw.list('INPUT');
      assert.is(listed.length, 1001);
      assert.ok(listed.every((r, i) => r.text.includes(`--dport ${10000 + i} `) && r.text.includes('--comment c59 ')));
    } finally {
      await fw.close();
    }
  }));

test('the batch that deletes the last rule of connlimit_N, or flushes it, deletes the table; connlimit itself stays until flush()', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      await fw.transaction((tx) => {
        for (let i = 0; i < 501; i++) tx.append('INPUT', rule(20000 + i));
      });
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 500], ['connlimit_1', 1]]);
      // Delete of the last rule (by position, across the tables): connlimit_1 goes in that batch.
      assert.is(await fw.delete('INPUT', 501), 501);
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 500]]);
      // Delete by spec, in a transaction that also appends elsewhere: still no empty table.
      await fw.append('OUTPUT', rule(1, 'out'));
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 500], ['connlimit_1', 1]]);
      await fw.transaction((tx) => {
        tx.delete('OUTPUT', rule(1, 'out'));
        tx.delete('INPUT', 1);
      });
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 499]]);
      // Flush of a chain: connlimit_1 held only FORWARD rules.
      await fw.append('INPUT', rule(3));
      await fw.append('FORWARD', rule(4));
      await fw.append('FORWARD', rule(5));
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 500], ['connlimit_1', 2]]);
      await fw.flush('FORWARD');
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 500]]);
      // Rules added and deleted within one batch never create a table.
      await fw.transaction((tx) => {
        tx.append('OUTPUT', rule(6));
        tx.delete('OUTPUT', rule(6));
      });
      assert.equal((await tables(ns)).map((t) => t.name), ['connlimit']);
      // Emptying connlimit keeps it (its base chains empty), so the next append reuses it...
      await fw.transaction((tx) => {
        for (let i = 0; i < 500; i++) tx.delete('INPUT', 1);
      });
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 0]]);
      assert.not.match(await nftList(ns, 'table', 'ip', 'connlimit'), /set connlimit/);
      await fw.append('INPUT', rule(7));
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 1]]);
      // ...and flush() with no chain leaves no table at all.
      await fw.flush();
      assert.is(await nftList(ns, 'tables'), '');
      await fw.append('INPUT', rule(8));
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules, t.priorities]), [['connlimit', 1, [0]]]);
    } finally {
      await fw.close();
    }
  }));

test('emptied tables after the last one in use go with the next batch that reads them; a table holding a chain of someone else is kept', () =>
  withNetns(async (ns) => {
    // Left by an earlier version: empty tables at high indexes (out of the filter range).
    await ns.run('nft', ['-f', '-'], {
      input: [3, 60, 120].map((i) => `table ip connlimit_${i} {\n chain INPUT { type filter hook input priority ${i}; policy accept; }\n}\n`).join(''),
    });
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      await fw.append('INPUT', rule(1));
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['connlimit', 1]]);
      // A table someone added a chain to is theirs too: emptied, it stays.
      await fw.transaction((tx) => {
        for (let i = 0; i < 600; i++) tx.append('INPUT', rule(100 + i));
      });
      await ns.run('nft', ['add', 'chain', 'ip', 'connlimit_1', 'theirs']);
      await fw.transaction((tx) => {
        for (let i = 0; i < 101; i++) tx.delete('INPUT', 501);
      });
      const after = await tables(ns);
      assert.equal(after.map((t) => [t.name, t.rules]), [['connlimit', 500], ['connlimit_1', 0]]);
      assert.match(await nftList(ns, 'table', 'ip', 'connlimit_1'), /chain theirs \{/);
    } finally {
      await fw.close();
    }
  }));

test('appends never open a table past connlimit_49 (priority filter + 49): they stay in it', () =>
  withNetns(async (ns) => {
    // connlimit_49 made full by hand (500 plain rules), as if 25,000 appends had come before.
    const rules = Array.from({ length: 500 }, (_, i) => ` tcp dport ${1000 + i} drop\n`).join('');
    await ns.run('nft', ['-f', '-'], { input: `table ip connlimit_49 {\n chain INPUT { type filter hook input priority 49; policy accept;\n${rules} }\n}\n` });
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      await fw.append('INPUT', rule(2));
      await fw.append('OUTPUT', rule(3));
      const views = await tables(ns);
      assert.equal(views.map((t) => [t.name, t.rules]), [['connlimit_49', 502]]);
      assertTidy(views, 'at the bound');
      const listed = await fw.list();
      assert.is(listed.length, 502);
      assert.match(listed[500]!.text, /--dport 2 /);
    } finally {
      await fw.close();
    }
  }));

test('destroy() deletes every table of ours in its family, in one batch, and nothing else; other backends refuse it', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    await ns.run('nft', ['-f', '-'], { input: 'table inet mine {\n chain c { type filter hook input priority 10; meta mark 7 accept; }\n}\n' });
    const others = async () => [await nftList(ns, 'table', 'ip', 'filter'), await nftList(ns, 'table', 'inet', 'mine')];
    const before = await others();
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const fw6 = await Firewall.open({ family: 'ipv6', backend: 'nftables', netns: ns.name });
    try {
      await fw.transaction((tx) => {
        for (let i = 0; i < 1100; i++) tx.append('INPUT', rule(30000 + i));
      });
      await fw6.append('INPUT', rule(9));
      await ns.run('nft', ['add', 'chain', 'ip', 'connlimit_1', 'theirs']);
      assert.equal((await tables(ns)).map((t) => t.name), ['filter', 'connlimit', 'connlimit_1', 'connlimit_2']);
      assert.is(await fw.destroy(), 3);
      assert.equal((await tables(ns)).map((t) => t.name), ['filter']);
      assert.equal((await tables(ns, 'ip6')).map((t) => t.name), ['connlimit']);
      assert.equal(await others(), before);
      assert.is(await fw.destroy(), 0);
      // The handle stays usable: the next write creates connlimit again.
      await fw.append('INPUT', rule(1));
      assert.equal((await tables(ns)).map((t) => [t.name, t.rules]), [['filter', 1], ['connlimit', 1]]);
    } finally {
      await fw.close();
      await fw6.close();
    }
    await rejects(fw.destroy(), (e: { code?: string }) => e.code === 'ERR_CONNLIMIT_CLOSED', 'closed');
    for (const backend of ['legacy', 'nft'] as const) {
      const h = await Firewall.open({ backend, netns: ns.name });
      const e = await rejects(h.destroy(), (x: { code?: string }) => x.code === 'ERR_CONNLIMIT_INVALID', backend);
      assert.match(e.message, /does not own.*flush\(\)/);
      await h.close();
    }
    assert.equal(await others(), before);
  }));

const cliMain = join(__dirname, '..', 'src', 'cli', 'main.ts');
const cli = (args: string[]) => execResult(process.execPath, ['--import', 'tsx', cliMain, ...args], { env: { ...process.env, NODE_OPTIONS: '' }, timeoutMs: 30_000 });

test('connlimit flush --all --backend nftables removes our tables of both families (or of --family); misuse is a usage error that opens nothing', () =>
  withNetns(async (ns) => {
    await ns.run('nft', ['add', 'table', 'ip', 'mine']);
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const fw6 = await Firewall.open({ family: 'ipv6', backend: 'nftables', netns: ns.name });
    try {
      await fw.transaction((tx) => {
        for (let i = 0; i < 600; i++) tx.append('INPUT', rule(40000 + i));
      });
      await fw6.append('OUTPUT', rule(1));
      for (const args of [
        ['flush', '--all', '--netns', ns.name],
        ['flush', '--all', '--backend', 'nft', '--netns', ns.name],
        ['flush', '--all', '--backend', 'nftables', '--netns', ns.name, 'INPUT'],
        ['ls', '--all', '--backend', 'nftables', '--netns', ns.name],
      ]) {
        const r = await cli(args);
        assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /--all|flush --all/);
      }
      assert.equal((await tables(ns)).map((t) => t.name), ['mine', 'connlimit', 'connlimit_1']);
      const six = await cli(['flush', '--all', '--backend', 'nftables', '--family', 'ipv6', '--netns', ns.name, '--json']);
      assert.is(six.code, 0, six.stderr);
      assert.equal(JSON.parse(six.stdout), { ok: true, backend: 'nftables', removed: { ipv6: 1 } });
      assert.equal((await tables(ns, 'ip6')).length, 0);
      assert.equal((await tables(ns)).map((t) => t.name), ['mine', 'connlimit', 'connlimit_1']);
      await fw6.append('OUTPUT', rule(1));
      const both = await cli(['flush', '--all', '--backend', 'nftables', '--netns', ns.name, '--json']);
      assert.is(both.code, 0, both.stderr);
      assert.equal(JSON.parse(both.stdout), { ok: true, backend: 'nftables', removed: { ipv4: 2, ipv6: 1 } });
      assert.is(await nftList(ns, 'tables'), 'table ip mine\n');
      const help = await cli(['flush', '--help']);
      assert.match(help.stdout, /--all \(backend nftables only\)/);
    } finally {
      await fw.close();
      await fw6.close();
    }
  }));

test.run();
