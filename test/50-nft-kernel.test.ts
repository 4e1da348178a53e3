// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the nf_tables backend against the real kernel, every test in throwaway network
// namespaces; iptables-nft and iptables-nft-save are the oracle. The host is only ever read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import { fromNative } from '../src/errors';
import { Firewall } from '../src/index';
import { packOps } from '../src/op-pack';
import { toNativeRule } from '../src/rule/index';
import { rejects } from './helpers/assert';
import { iptablesOracle } from './helpers/iptables-oracle';
import { withNetns } from './helpers/netns';
import { IPV4_RULES, IPV6_RULES } from './helpers/rule-tables';

const { saveCli, save, sameAsCli } = iptablesOracle('nft');

for (const [family, rules] of [['ipv4', IPV4_RULES], ['ipv6', IPV6_RULES]] as const) {
  test(`${family}: every rule saves in ${saveCli(family)} exactly as the CLI's own; each side deletes the other's`, () => sameAsCli(family, rules));
}

test('first use creates the table and the base chain as iptables-nft does; the CLI then appends beside us', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    // Nothing exists yet: listing shows the empty built-in chains and creates nothing.
    assert.equal((await fw.chains()).map((c) => c.name), ['INPUT', 'FORWARD', 'OUTPUT']);
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '');
    await fw.append('INPUT', '-p tcp --dport 22 -j DROP');
    const listed = (await ns.run('nft', ['list', 'ruleset'])).stdout;
    assert.match(listed, /chain INPUT \{\n\s+type filter hook input priority filter; policy accept;/);
    await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'udp', '--dport', '53', '-j', 'ACCEPT']);
    assert.equal((await fw.list('INPUT')).map((r) => r.text), ['-A INPUT -p tcp -m tcp --dport 22 -j DROP', '-A INPUT -p udp -m udp --dport 53 -j ACCEPT']);
    await fw.close();
  }));

test('positions, replace, ensure, check, flush and chains, in one transaction and one at a time', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    await fw.transaction((tx) => {
      tx.createChain('LIMITS');
      tx.append('INPUT', '-p tcp --dport 1 -j DROP');
      tx.append('INPUT', '-p tcp --dport 3 -j DROP');
      tx.insert('INPUT', 2, '-p tcp --dport 2 -j DROP');
      tx.insert('INPUT', 1, '-p tcp --dport 443 -j LIMITS');
      tx.append('LIMITS', '-j RETURN');
      tx.replace('INPUT', 4, '-p tcp --dport 4 -j DROP');
      tx.delete('INPUT', '-p tcp --dport 1 -j DROP');
    });
    const texts = async () => (await fw.list('INPUT')).map((r) => r.text.replace(/^-A INPUT /, ''));
    assert.equal(await texts(), ['-p tcp -m tcp --dport 443 -j LIMITS', '-p tcp -m tcp --dport 2 -j DROP', '-p tcp -m tcp --dport 4 -j DROP']);
    await fw.insert('INPUT', 3, '-p tcp --dport 3 -j DROP');
    await fw.replace('INPUT', 1, '-p tcp --dport 443 -g LIMITS');
    assert.equal(await texts(), ['-p tcp -m tcp --dport 443 -g LIMITS', '-p tcp -m tcp --dport 2 -j DROP', '-p tcp -m tcp --dport 3 -j DROP', '-p tcp -m tcp --dport 4 -j DROP']);
    assert.is(await fw.ensure('INPUT', '-p tcp --dport 2 -j DROP'), false);
    assert.is(await fw.ensure('INPUT', '-p tcp --dport 5 -j DROP'), true);
    assert.ok(await fw.check('INPUT', '-p tcp --dport 5 -j DROP'));
    assert.ok(!(await fw.check('INPUT', '-p tcp --dport 6 -j DROP')));
    assert.is(await fw.delete('INPUT', 2), 2);
    const limits = (await fw.chains()).find((c) => c.name === 'LIMITS');
    assert.is(limits?.references, 1);
    await rejects(fw.deleteChain('LIMITS'), 'ERR_CONNLIMIT_IN_USE');
    await fw.flush('INPUT');
    await rejects(fw.deleteChain('LIMITS'), 'ERR_CONNLIMIT_IN_USE');
    await fw.flush();
    await fw.renameChain('LIMITS', 'LIM2');
    await fw.deleteChain('LIM2');
    await fw.setPolicy('FORWARD', 'DROP');
    assert.match(await save(ns, 'ipv4'), /:FORWARD DROP \[0:0\]/);
    await fw.close();
  }));

test('errors name the failing step, and a failed transaction applies nothing', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
    const before = await save(ns, 'ipv4');
    await rejects(fw.append('NOPE', '-j DROP'), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(fw.append('INPUT', '-j NOPE'), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(fw.delete('INPUT', '-p tcp --dport 2 -j DROP'), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(fw.createChain('INPUT2').then(() => fw.createChain('INPUT2')), 'ERR_CONNLIMIT_EXISTS');
    await fw.deleteChain('INPUT2');
    const e = await fw
      .transaction((tx) => {
        tx.append('INPUT', '-p tcp --dport 7 -j DROP');
        tx.delete('INPUT', 5);
      })
      .catch((x: Error) => x);
    assert.instance(e, Error);
    assert.match((e as Error).message, /transaction step 2 of 2/);
    assert.is(await save(ns, 'ipv4'), before);
    // A rule this backend cannot encode fails when the batch is built, naming its step.
    const q = await fw
      .transaction((tx) => {
        tx.append('INPUT', '-p tcp --dport 8 -j DROP');
        tx.append('INPUT', '-j QUEUE');
      })
      .catch((x: Error) => x);
    assert.match((q as Error).message, /QUEUE is not available on the nft backend.*step 2 of 2/);
    assert.is(await save(ns, 'ipv4'), before);
    await fw.close();
  }));

test('counts survive an unrelated append on nf_tables (the legacy caveat does not apply)', () =>
  withNetns(async (ns) => {
    const { startPeer } = await import('./helpers/tcp');
    const peer = await startPeer(ns);
    try {
      await peer.listen(7324, '127.0.0.1');
      const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
      await fw.append('INPUT', '-p tcp --syn --dport 7324 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      const opts = { host: '127.0.0.1', port: 7324, localAddress: '127.0.3.1' };
      const results = (xs: Array<{ result: string }>) => xs.map((x) => x.result);
      assert.equal(results(await peer.connectMany(3, opts)), ['ok', 'ok', 'refused']);
      await fw.append('INPUT', '-p udp --dport 9 -j DROP');
      await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'udp', '--dport', '10', '-j', 'DROP']);
      await fw.insert('INPUT', 1, '-p udp --dport 11 -j DROP');
      // Two connections are still open and still counted: the next one is refused.
      assert.equal(results(await peer.connectMany(1, opts)), ['refused']);
      // Another source has its own count.
      assert.equal(results(await peer.connectMany(3, { ...opts, localAddress: '127.0.3.2' })), ['ok', 'ok', 'refused']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test('IPv6 on nf_tables: the third connection from ::1 is refused', () =>
  withNetns(async (ns) => {
    const { startPeer } = await import('./helpers/tcp');
    const peer = await startPeer(ns);
    try {
      await peer.listen(7422, '::1');
      const fw = await Firewall.open({ family: 'ipv6', backend: 'nft', netns: ns.name });
      await fw.append('INPUT', '-p tcp --syn --dport 7422 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      const got = await peer.connectMany(3, { host: '::1', port: 7422, localAddress: '::1' });
      assert.equal(got.map((x) => x.result), ['ok', 'ok', 'refused']);
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test("what a handle remembers between calls never hides another writer's change", () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    const other = await Firewall.open({ backend: 'nft', netns: ns.name });
    await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
    await fw.append('INPUT', '-p tcp --dport 2 -j DROP');
    assert.is(await fw.delete('INPUT', '-p tcp --dport 2 -j DROP'), 2); // from what fw remembers
    // Another writer (the CLI, then another handle) puts rules at the head.
    await ns.run('iptables-nft', ['-I', 'INPUT', '1', '-p', 'udp', '--dport', '53', '-j', 'ACCEPT']);
    assert.is(await fw.delete('INPUT', 1), 1);
    await other.insert('INPUT', 1, '-p udp --dport 54 -j ACCEPT');
    assert.is(await fw.delete('INPUT', '-p tcp --dport 1 -j DROP'), 2);
    assert.equal((await fw.list('INPUT')).map((r) => r.text), ['-A INPUT -p udp -m udp --dport 54 -j ACCEPT']);
    // The CLI deletes a rule fw remembers; fw's delete by spec then finds nothing.
    await fw.append('INPUT', '-p tcp --dport 3 -j DROP');
    assert.is(await fw.check('INPUT', '-p tcp --dport 3 -j DROP'), true); // from what fw remembers
    await ns.run('iptables-nft', ['-D', 'INPUT', '-p', 'tcp', '--dport', '3', '-j', 'DROP']);
    assert.is(await fw.check('INPUT', '-p tcp --dport 3 -j DROP'), false);
    await rejects(fw.delete('INPUT', '-p tcp --dport 3 -j DROP'), 'ERR_CONNLIMIT_NOT_FOUND');
    // What fw remembers says "no such position" / "no such rule" / "already there", and the
    // CLI has changed it since: the refusal or no-op would be wrong, and is not made.
    await fw.flush('INPUT');
    await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '4', '-j', 'DROP']);
    assert.is(await fw.delete('INPUT', 1), 1);
    await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '5', '-j', 'DROP']);
    assert.is(await fw.delete('INPUT', '-p tcp --dport 5 -j DROP'), 1);
    assert.is(await fw.ensure('INPUT', '-p tcp --dport 6 -j DROP'), true);
    await ns.run('iptables-nft', ['-F', 'INPUT']);
    assert.is(await fw.ensure('INPUT', '-p tcp --dport 6 -j DROP'), true, 'ensure trusted a rule the CLI had flushed');
    // `iptables -D` semantics: the first rule equal in meaning goes, also when another writer
    // put an equal one before the rule fw added itself (and remembers the handle of).
    await fw.append('INPUT', '-p tcp --dport 7 -j DROP');
    await ns.run('iptables-nft', ['-I', 'INPUT', '1', '-p', 'tcp', '--dport', '7', '-j', 'DROP', '-m', 'comment', '--comment', 'x']);
    await ns.run('iptables-nft', ['-I', 'INPUT', '1', '-p', 'tcp', '--dport', '7', '-j', 'DROP']);
    assert.is(await fw.delete('INPUT', '-p tcp --dport 7 -j DROP'), 1);
    assert.equal(
      (await fw.list('INPUT')).map((r) => r.text),
      ['-A INPUT -p tcp -m tcp --dport 7 -m comment --comment x -j DROP', '-A INPUT -p tcp -m tcp --dport 6 -j DROP', '-A INPUT -p tcp -m tcp --dport 7 -j DROP'],
    );
    await other.close();
    await fw.close();
  }));

test('a native nftables rule in the table lists with its expressions opaque, survives our commits and deletes as listed', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
    await ns.run('nft', ['add', 'rule', 'ip', 'filter', 'INPUT', 'meta', 'length', '100', 'counter', 'drop']);
    const listed = await fw.list('INPUT');
    assert.is(listed.length, 2);
    assert.equal(
      listed[1]?.rule.matches?.map((m) => (m.kind === 'opaque' ? m.name : m.kind)),
      ['nft:meta', 'nft:cmp'],
    );
    await fw.append('INPUT', '-p tcp --dport 2 -j DROP');
    await fw.zero();
    assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'filter', 'INPUT'])).stdout, /meta length 100 counter packets 0 bytes 0 drop/);
    await fw.delete('INPUT', listed[1] as (typeof listed)[number]);
    assert.equal((await fw.list('INPUT')).map((r) => r.text), ['-A INPUT -p tcp -m tcp --dport 1 -j DROP', '-A INPUT -p tcp -m tcp --dport 2 -j DROP']);
    await fw.close();
  }));

test("nft's own `meta mark` rules list as -m mark, as iptables-nft reads them, and delete as listed", () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    await fw.append('INPUT', '-p tcp --dport 1 -j DROP'); // makes iptables-nft's table and chain
    await fw.delete('INPUT', 1);
    await ns.run('nft', ['add', 'rule', 'ip', 'filter', 'INPUT', 'meta', 'mark', '5', 'counter', 'drop']);
    await ns.run('nft', ['add', 'rule', 'ip', 'filter', 'INPUT', 'meta', 'mark', 'and', '0xf0', '!=', '0x10', 'counter', 'accept']);
    const listed = await fw.list('INPUT');
    assert.equal(listed.map((r) => r.text), ['-A INPUT -m mark --mark 0x5 -j DROP', '-A INPUT -m mark ! --mark 0x10/0xf0 -j ACCEPT']);
    assert.equal(listed[1]!.rule.matches, [{ kind: 'mark', mark: { not: 0x10 }, mask: 0xf0 }]);
    await fw.delete('INPUT', '-m mark --mark 5 -j DROP');
    await fw.delete('INPUT', listed[1]!);
    assert.is((await fw.list('INPUT')).length, 0);
    await fw.close();
  }));

test('a stale generation id is refused by the kernel with ERESTART; the batch is re-read and redone, bounded', () =>
  withNetns(async (ns) => {
    // lockTimeoutMs 0: no time budget, so the retries stop at the minimum count (8).
    const t = new (binding().IptablesNftTable)({ family: 'ipv4', table: 'filter', netnsPath: ns.path, lockTimeoutMs: 0 });
    await t.open();
    const op = { op: 'append' as const, chain: 'INPUT', rule: toNativeRule('-p tcp --dport 5 -j DROP', 'ipv4') };
    const batch = () => packOps('ipv4', [op]);
    // Two refused attempts, the third goes through; the rule is there once.
    assert.is(await t._commitStale(batch(), 2), 3);
    assert.is((await save(ns, 'ipv4')).match(/--dport 5 -j DROP/g)?.length, 1);
    // Refused every time: after 8 attempts the error says so, and nothing was written.
    const e = await t._commitStale(batch(), 100).catch((x: unknown) => x);
    assert.is((e as { errno?: number }).errno, 85); // ERESTART
    assert.is((fromNative(e) as { code?: string }).code, 'ERR_CONNLIMIT_BUSY');
    assert.is((await save(ns, 'ipv4')).match(/--dport 5 -j DROP/g)?.length, 1);
    t.close();
  }));

test('a concurrent iptables-nft -A loop beside our transactions: nothing is lost', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    await fw.append('INPUT', '-p tcp --dport 1 -j ACCEPT');
    // The CLI appends 40 rules in one process loop while we commit 40 transactions of two rules.
    const loop = ns.run('sh', ['-c', 'i=0; while [ $i -lt 40 ]; do iptables-nft -A INPUT -p udp --dport $((1000 + i)) -j DROP || exit 1; i=$((i + 1)); done']);
    for (let i = 0; i < 40; i++) {
      await fw.transaction((tx) => {
        tx.append('INPUT', `-p tcp --dport ${2000 + i} -j DROP`);
        tx.insert('INPUT', 2, `-p tcp --dport ${3000 + i} -j DROP`);
      });
    }
    await loop;
    const texts = (await fw.list('INPUT')).map((r) => r.text);
    assert.is(texts.length, 1 + 40 + 80);
    for (let i = 0; i < 40; i++) {
      assert.ok(texts.includes(`-A INPUT -p udp -m udp --dport ${1000 + i} -j DROP`), `CLI rule ${i}`);
      assert.ok(texts.includes(`-A INPUT -p tcp -m tcp --dport ${2000 + i} -j DROP`), `our append ${i}`);
      assert.ok(texts.includes(`-A INPUT -p tcp -m tcp --dport ${3000 + i} -j DROP`), `our insert ${i}`);
    }
    // Each insert went to position 2, after the one rule that was there first.
    assert.is(texts[0], '-A INPUT -p tcp -m tcp --dport 1 -j ACCEPT');
    assert.is(texts[1], '-A INPUT -p tcp -m tcp --dport 3039 -j DROP');
    await fw.close();
  }));

test.run();
