// SPDX-License-Identifier: GPL-2.0-or-later
// backend: 'auto', the default, in namespaces prepared as legacy-only, nft-only, mixed and empty
// (throwaway namespaces; the CLI prepares them), and the choice itself as a pure function.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseBackend, systemIptablesBackend } from '../src/backend-detect';
import { Firewall } from '../src/index';
import { rejects } from './helpers/assert';
import { fdCount } from './helpers/leak-cycles';
import { withNetns, type Netns } from './helpers/netns';

/** The x_tables tables that exist in the namespace (one per line), read without creating any. */
const legacyTables = async (ns: Netns) => (await ns.run('cat', ['/proc/net/ip_tables_names', '/proc/net/ip6_tables_names'])).stdout.trim();

const none = { legacyTable: false, legacyRules: 0, nftTable: false, nftRules: 0 };

test('the order: rules in one backend, then a table in one, then the system iptables, then nft', () => {
  assert.is(chooseBackend({ ...none, legacyTable: true, legacyRules: 2 }, 'nft', 't'), 'legacy');
  assert.is(chooseBackend({ ...none, nftTable: true, nftRules: 1, legacyTable: true }, 'legacy', 't'), 'nft');
  assert.is(chooseBackend({ ...none, legacyTable: true }, 'nft', 't'), 'legacy');
  assert.is(chooseBackend({ ...none, nftTable: true }, 'legacy', 't'), 'nft');
  assert.is(chooseBackend(none, 'legacy', 't'), 'legacy');
  assert.is(chooseBackend({ ...none, legacyTable: true, nftTable: true }, 'legacy', 't'), 'legacy');
  assert.is(chooseBackend(none, null, 't'), 'nft');
  assert.throws(() => chooseBackend({ legacyTable: true, legacyRules: 1, nftTable: true, nftRules: 1 }, 'nft', 't'), /both/);
  // Whatever this host's iptables is, the lookup does not throw and says one of the two or nothing.
  assert.ok([null, 'legacy', 'nft'].includes(systemIptablesBackend()));
  assert.is(systemIptablesBackend('/nonexistent'), systemIptablesBackend(''));
});

test('auto (asked for, and the default): legacy-only namespace picks legacy, nft-only picks nft; fw.backend says so', async () => {
  const lockPath = `/tmp/connlimit-test-${process.pid}.lock`;
  await withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
    for (const options of [{ backend: 'auto' as const }, {}]) {
      const fw = await Firewall.open({ ...options, netns: ns.name, lockPath });
      assert.is(fw.backend, 'legacy', JSON.stringify(options));
      assert.is((await fw.list('INPUT')).length, 1);
      await fw.close();
    }
    // Probing created no nf_tables table.
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '');
    // A user chain alone is use too (ipv6 here), even beside an empty nf_tables table.
    await ns.run('ip6tables-nft', ['-N', 'GONE']);
    await ns.run('ip6tables-nft', ['-X', 'GONE']);
    await ns.run('ip6tables-legacy', ['-w', '-N', 'ONLY']);
    const fw6 = await Firewall.open({ family: 'ipv6', netns: ns.name, lockPath });
    assert.is(fw6.backend, 'legacy');
    await fw6.close();
  });
  await withNetns(async (ns) => {
    await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
    for (const options of [{ backend: 'auto' as const }, {}]) {
      const fw = await Firewall.open({ ...options, netns: ns.name });
      assert.is(fw.backend, 'nft', JSON.stringify(options));
      assert.is((await fw.list('INPUT')).length, 1);
      await fw.close();
    }
    // Probing created no legacy table (iptables-nft-save would then warn about one).
    assert.is(await legacyTables(ns), '');
  });
});

test('auto: rules in both backends is an error naming both, not a guess', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-w', '-A', 'INPUT', '-j', 'ACCEPT']);
    await ns.run('iptables-nft', ['-A', 'INPUT', '-j', 'ACCEPT']);
    // Rules are counted past the first only for this message: a user chain and 2 rules in
    // x_tables, a user chain and 3 rules in nf_tables.
    for (const tool of ['iptables-legacy', 'iptables-nft']) await ns.run(tool, ['-w', '-N', 'MORE']);
    await ns.run('iptables-legacy', ['-w', '-A', 'MORE', '-j', 'DROP']);
    for (const port of ['1', '2']) await ns.run('iptables-nft', ['-A', 'MORE', '-p', 'tcp', '--dport', port, '-j', 'DROP']);
    const e = await rejects(Firewall.open({ backend: 'auto', netns: ns.name }), 'ERR_CONNLIMIT_BACKEND_CONFLICT');
    assert.match(e.message, /iptables-legacy \(3\) and iptables-nft \(4\)/);
    // Explicit backends still open.
    const legacy = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath: `/tmp/connlimit-test-${process.pid}.lock` });
    const nft = await Firewall.open({ backend: 'nft', netns: ns.name });
    assert.is((await legacy.list('INPUT')).length, 1);
    assert.is((await nft.list('INPUT')).length, 1);
    await legacy.close();
    await nft.close();
  }));

test('the default in an empty namespace: the system iptables (nft when there is none), and its save shows our rule', () =>
  withNetns(async (ns) => {
    const expected = systemIptablesBackend() ?? 'nft';
    const fw = await Firewall.open({ netns: ns.name });
    assert.is(fw.backend, expected);
    // Opening made no table in either backend; the first write makes the one picked.
    assert.is(await legacyTables(ns), '');
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '');
    await fw.append('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT');
    await fw.close();
    const saved = (await ns.run(`iptables-${expected}-save`)).stdout;
    assert.match(saved, /^-A INPUT -p tcp -m tcp --dport 22 .*-m connlimit --connlimit-above 2 /m);
    // And the next default open follows the rule.
    const again = await Firewall.open({ netns: ns.name });
    assert.is(again.backend, expected);
    await again.close();
  }));

test('the default open, 200 times in a legacy namespace (probe, close the probe, open legacy): no fd left', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-w', '-A', 'INPUT', '-j', 'ACCEPT']);
    const lockPath = `/tmp/connlimit-test-${process.pid}.lock`;
    await (await Firewall.open({ netns: ns.name, lockPath })).close(); // warm: the pool and the addon start lazily
    const before = fdCount();
    for (let i = 0; i < 200; i++) {
      const fw = await Firewall.open({ netns: ns.name, lockPath });
      assert.is(fw.backend, 'legacy');
      await fw.close();
    }
    assert.ok(fdCount() <= before + 2, `fds: ${fdCount()} after, ${before} before`);
  }));

test.run();
