// SPDX-License-Identifier: GPL-2.0-or-later
// backend: 'auto' in namespaces prepared as legacy-only, nft-only, mixed and empty (throwaway
// namespaces; the CLI prepares them), and the choice itself as a pure function.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseBackend, systemIptablesBackend } from '../src/backend-detect';
import { Firewall } from '../src/index';
import { rejects } from './helpers/assert';
import { withNetns } from './helpers/netns';

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

test('auto: legacy-only namespace picks legacy, nft-only picks nft; fw.backend says so', async () => {
  await withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
    const fw = await Firewall.open({ backend: 'auto', netns: ns.name, lockPath: `/tmp/connlimit-test-${process.pid}.lock` });
    assert.is(fw.backend, 'legacy');
    assert.is((await fw.list('INPUT')).length, 1);
    // Probing created no nf_tables table.
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '');
    await fw.close();
  });
  await withNetns(async (ns) => {
    await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
    const fw = await Firewall.open({ backend: 'auto', netns: ns.name });
    assert.is(fw.backend, 'nft');
    assert.is((await fw.list('INPUT')).length, 1);
    // Probing created no legacy table (iptables-nft-save would then warn about one).
    assert.not.match((await ns.run('iptables-nft-save')).stdout + (await ns.run('iptables-nft-save')).stderr, /legacy tables present/);
    await fw.close();
  });
});

test('auto: rules in both backends is an error naming both, not a guess', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-w', '-A', 'INPUT', '-j', 'ACCEPT']);
    await ns.run('iptables-nft', ['-A', 'INPUT', '-j', 'ACCEPT']);
    const e = await rejects(Firewall.open({ backend: 'auto', netns: ns.name }), 'ERR_CONNLIMIT_BACKEND_CONFLICT');
    assert.match(e.message, /iptables-legacy \(1\) and iptables-nft \(1\)/);
    // Explicit backends still open.
    const legacy = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath: `/tmp/connlimit-test-${process.pid}.lock` });
    const nft = await Firewall.open({ backend: 'nft', netns: ns.name });
    assert.is((await legacy.list('INPUT')).length, 1);
    assert.is((await nft.list('INPUT')).length, 1);
    await legacy.close();
    await nft.close();
  }));

test('auto: an empty namespace follows the system iptables (nft when there is none)', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'auto', netns: ns.name });
    assert.is(fw.backend, systemIptablesBackend() ?? 'nft');
    await fw.close();
  }));

test.run();
