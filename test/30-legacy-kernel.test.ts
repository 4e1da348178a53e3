// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the legacy backend against the real kernel, every test in throwaway network
// namespaces (test/helpers/netns.ts); the CLI (iptables-legacy, iptables-legacy-save) is
// the oracle. The host namespace is only ever read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import type { NativeTable } from '../src/native-types';
import { packOps } from '../src/op-pack';
import { toNativeRule } from '../src/rule/index';
import { rejects } from './helpers/assert';
import { iptablesOracle } from './helpers/iptables-oracle';
import { withNetns } from './helpers/netns';
import { IPV4_RULES, IPV6_RULES } from './helpers/rule-tables';

const { cli, saveCli, save, sameAsCli } = iptablesOracle('legacy');

for (const [family, rules] of [['ipv4', IPV4_RULES], ['ipv6', IPV6_RULES]] as const) {
  test(`${family}: every rule prints in ${saveCli(family)} exactly as the CLI's own, lists back identically; each side deletes the other's`, () =>
    sameAsCli(family, rules));
}

// One commit reads its ops one at a time into one reused op, and encodes each rule reusing the
// bytes of a match or target equal to the previous rule's (native/core/packed_ops, legacy/
// entry_codec): every rule twice in a row (each match and target reused), then the table again
// (each kind after another), around ops without a rule, must save as the CLI's restore of the
// same lines.
for (const [family, rules] of [['ipv4', IPV4_RULES], ['ipv6', IPV6_RULES]] as const) {
  test(`${family}: the rule table in one transaction, each rule twice and between other ops, saves as ${cli(family)}-restore --noflush of the same lines`, () =>
    withNetns(async (ns) => {
      const order = [...rules.flatMap((r) => [r, r]), ...rules];
      const lines = ['*filter', ':LIMITS - [0:0]', ':SPARE - [0:0]', ...order.map(([chain, rule]) => `-A ${chain} ${rule}`), 'COMMIT', ''];
      await ns.run(`${cli(family)}-restore`, ['-w', '--noflush'], { input: lines.join('\n') });
      const expected = await save(ns, family);
      // Emptied again, user chains included, for the library to write the same.
      await ns.run(`${cli(family)}-restore`, ['-w'], { input: '*filter\nCOMMIT\n' });

      const fw = await Firewall.open({ family, backend: 'legacy', netns: ns.path });
      await fw.transaction((tx) => {
        tx.createChain('LIMITS').createChain('SPARE').createChain('GONE');
        order.forEach(([chain, rule], i) => {
          tx.append(chain, rule);
          if (i % 7 === 3) tx.flush('SPARE');
        });
        tx.deleteChain('GONE');
      });
      assert.is(await save(ns, family), expected);
      await fw.close();
    }));
}

test('a batch whose bytes end inside its last op commits nothing: a malformed-bytes error naming that op', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ family: 'ipv4', backend: 'legacy', netns: ns.path });
    await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
    const before = await save(ns);
    const ops = Array.from({ length: 50 }, (_, i) => ({ op: 'append' as const, chain: 'INPUT', rule: toNativeRule(`-p tcp --dport ${100 + i} -j ACCEPT`, 'ipv4') }));
    const bytes = packOps('ipv4', ops);
    // The ops before the cut are read and applied to the snapshot before the cut is found.
    const native = (fw as unknown as { native: NativeTable }).native;
    const e = (await native.commit(bytes.subarray(0, bytes.length - 3)).then(() => undefined, (x: unknown) => x)) as { kind?: string; opIndex?: number };
    assert.is(e?.kind, 'malformed');
    assert.is(e?.opIndex, 49);
    assert.is(await save(ns), before);
    await fw.close();
  }));

test('typed objects and iptables syntax give the same rule', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    await fw.append('INPUT', {
      protocol: 'tcp',
      syn: true,
      dport: 80,
      connlimit: { kind: 'above', count: 16, maskBits: 24 },
      target: { kind: 'reject', with: 'tcp-reset' },
      comment: 'web',
    });
    const [listed] = await fw.list('INPUT');
    assert.ok(listed);
    assert.is(
      listed.text,
      '-A INPUT -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 16 --connlimit-mask 24 --connlimit-saddr -m comment --comment web -j REJECT --reject-with tcp-reset',
    );
    assert.ok(await fw.check('INPUT', '-p tcp --syn --dport 80 -m connlimit --connlimit-above 16 --connlimit-mask 24 -m comment --comment web -j REJECT --reject-with tcp-reset'));
    assert.is(listed.rule.connlimit?.kind, 'above');
    assert.is(listed.rule.connlimit?.count, 16);
    await fw.close();
  }));

test('delete by spec removes exactly one equal rule, whichever mask spelling', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const x = '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT';
    await fw.transaction((tx) => {
      tx.append('INPUT', x);
      tx.append('INPUT', '-p tcp --dport 9 -j DROP');
      tx.append('INPUT', x);
    });
    // The CLI could not delete this with the explicit /32 spelling (NETFILTER-NOTES.md §1.4); we can.
    assert.is(await fw.delete('INPUT', `${x.replace('-j REJECT', '--connlimit-mask 32 -j REJECT')}`), 1);
    const left = (await fw.list('INPUT')).map((r) => r.text);
    assert.is(left.length, 2);
    assert.match(left[0] ?? '', /--dport 9 /);
    assert.match(left[1] ?? '', /--connlimit-above 2 /);
    // By position, 1-based as the CLI.
    assert.is(await fw.delete('INPUT', 1), 1);
    assert.is((await fw.list('INPUT')).length, 1);
    // A listed rule passed back deletes itself.
    const [last] = await fw.list('INPUT');
    assert.ok(last);
    await fw.delete('INPUT', last);
    assert.is((await fw.list('INPUT')).length, 0);
    await fw.close();
  }));

test("a rule the CLI wrote with matches and targets we don't model survives our commits byte for byte", () =>
  withNetns(async (ns) => {
    const foreign = [
      ['-p', 'tcp', '-m', 'multiport', '--dports', '80,443', '-m', 'conntrack', '--ctstate', 'NEW', '-m', 'limit', '--limit', '5/sec', '-m', 'statistic', '--mode', 'random', '--probability', '0.5', '-j', 'ACCEPT'],
      ['-p', 'tcp', '--dport', '22', '-j', 'LOG', '--log-prefix', 'ssh: ', '--log-level', '4'],
      ['-m', 'recent', '--name', 'badguys', '--set', '-m', 'comment', '--comment', 'keep me'],
    ];
    for (const args of foreign) await ns.run('iptables-legacy', ['-w', '-A', 'INPUT', ...args]);
    const before = await save(ns, 'ipv4');

    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const listed = await fw.list('INPUT');
    assert.is(listed.length, 3);
    // statistic is no module of ours: it stays an opaque part; multiport is one now and lists typed.
    assert.ok(listed[0]?.rule.matches?.some((m) => m.kind === 'opaque' && m.name === 'statistic'), 'statistic kept as an opaque part');
    assert.ok(listed[0]?.rule.matches?.some((m) => m.kind === 'multiport'), 'multiport listed as its typed part');
    // LOG is a module now: the CLI's bytes list as its typed part, and still survive byte for byte.
    assert.equal(listed[1]?.rule.target, { kind: 'log', prefix: 'ssh: ' });
    // Our own changes around them, several commits.
    await fw.insert('INPUT', 1, '-p tcp --dport 7 -j DROP');
    await fw.append('INPUT', '-p tcp --dport 8 -j DROP');
    await fw.transaction((tx) => {
      tx.delete('INPUT', '-p tcp --dport 7 -j DROP');
      tx.delete('INPUT', '-p tcp --dport 8 -j DROP');
    });
    assert.is(await save(ns, 'ipv4'), before);
    // A listed foreign rule can be deleted through us, and the CLI agrees it is gone.
    await fw.delete('INPUT', listed[0] as (typeof listed)[number]);
    const r = await ns.exec('iptables-legacy', ['-w', '-C', 'INPUT', ...(foreign[0] ?? [])]);
    assert.is.not(r.code, 0);
    await fw.close();
  }));

test('a transaction is all or nothing', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
    const before = await save(ns, 'ipv4');
    try {
      await fw.transaction((tx) => {
        tx.createChain('NEWCHAIN');
        tx.append('INPUT', '-p tcp --dport 2 -j DROP');
        tx.append('MISSING', '-p tcp --dport 3 -j DROP');
      });
      assert.unreachable('the transaction should have failed');
    } catch (e) {
      assert.is((e as { code?: string }).code, 'ERR_CONNLIMIT_NOT_FOUND');
      assert.match(String((e as Error).message), /step 3 of 3/);
    }
    assert.is(await save(ns, 'ipv4'), before);
    // A function that throws applies nothing either.
    await rejects(
      fw.transaction((tx) => {
        tx.append('INPUT', '-p tcp --dport 4 -j DROP');
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.is(await save(ns, 'ipv4'), before);
    await fw.close();
  }));

test('ensure() is idempotent and commits nothing when the rule is there', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const rule = '-p tcp --syn --dport 23 -m connlimit ! --connlimit-above 2 -j ACCEPT';
    assert.is(await fw.ensure('INPUT', rule), true);
    assert.is(await fw.ensure('INPUT', rule), false);
    // The CLI's spelling of the same rule, as iptables-save prints it, is found too.
    assert.is(await fw.ensure('INPUT', '-p tcp -m tcp --dport 23 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-upto 2 --connlimit-mask 32 --connlimit-saddr -j ACCEPT'), false);
    assert.is((await fw.list('INPUT')).length, 1);
    await fw.close();
  }));

test('chains, policies, counters, rename; typed errors for the kernel refusals', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    await fw.createChain('A');
    await rejects(fw.createChain('A'), 'ERR_CONNLIMIT_EXISTS');
    await fw.append('INPUT', '-j A');
    await rejects(fw.deleteChain('A'), 'ERR_CONNLIMIT_IN_USE');
    await fw.renameChain('A', 'B');
    assert.is((await fw.list('INPUT'))[0]?.text, '-A INPUT -j B');
    await fw.setPolicy('FORWARD', 'DROP');
    assert.match(await save(ns, 'ipv4'), /:FORWARD DROP/);
    await fw.flush('INPUT');
    await fw.deleteChain('B');
    await fw.zero();
    assert.not.match(await save(ns, 'ipv4'), /:B /);
    await rejects(fw.append('NOPE', '-j DROP'), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(fw.append('INPUT', '-j NOPE'), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(fw.delete('INPUT', 5), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(fw.insert('INPUT', 3, '-j DROP'), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(fw.delete('INPUT', '-p tcp --dport 1 -j DROP'), 'ERR_CONNLIMIT_NOT_FOUND');
    // A match the kernel does not have: the error names the module to load.
    await rejects(
      fw.append('INPUT', { matches: [{ kind: 'opaque', name: 'nosuchmatch', revision: 0, data: new Uint8Array(8) }], target: { kind: 'drop' } }),
      (e: { code?: string; message: string }) => e.code === 'ERR_CONNLIMIT_UNSUPPORTED' && /modprobe xt_nosuchmatch/.test(e.message),
    );
    await fw.close();
    await rejects(fw.append('INPUT', '-j DROP'), 'ERR_CONNLIMIT_CLOSED');
    await fw.close(); // idempotent
  }));

test('bad input is refused before the kernel is touched', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
    const before = await save(ns, 'ipv4');
    for (const bad of ['-p tcp --dport 22; rm -rf /', '-m connlimit --connlimit-above 4294967296 -j DROP', '-s 10.0.0.1/33 -j DROP', '-s ::1 -j DROP', '-j $(reboot)']) {
      await rejects(fw.append('INPUT', bad), 'ERR_CONNLIMIT_INVALID', bad);
    }
    await rejects(fw.append('X'.repeat(29), '-j DROP'), 'ERR_CONNLIMIT_INVALID');
    // What the CLI refuses for a built-in chain: -o in INPUT, -i in OUTPUT.
    const e = await rejects(fw.append('INPUT', '-o lo -j DROP'), 'ERR_CONNLIMIT_INVALID');
    assert.is((e as { path?: string }).path, 'rule.outInterface');
    await rejects(fw.append('OUTPUT', '-i lo -j DROP'), 'ERR_CONNLIMIT_INVALID');
    await rejects(fw.append('INPUT', { comment: 'x'.repeat(256) }), 'ERR_CONNLIMIT_INVALID');
    assert.is(await save(ns, 'ipv4'), before);
    await fw.close();
  }));

test('namespace and lock errors are typed', async () => {
  await rejects(Firewall.open({ backend: 'legacy', netns: 'cl-does-not-exist' }), 'ERR_CONNLIMIT_NOT_FOUND');
  // Not a namespace is bad input (it was ERR_CONNLIMIT_KERNEL/ENOTTY); test 78 has the rest.
  await rejects(Firewall.open({ backend: 'legacy', netns: '/proc/self/status' }), 'ERR_CONNLIMIT_INVALID');
  await rejects(Firewall.open({ backend: 'iptables' as never }), 'ERR_CONNLIMIT_INVALID');
  await withNetns(async (ns) => {
    // Another program holds the lock (flock(1) on our own lock file) past our timeout.
    const lockPath = `/tmp/connlimit-test-${process.pid}.lock`;
    const holder = ns.exec('flock', [lockPath, 'sleep', '2']);
    await new Promise((r) => setTimeout(r, 300));
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath, lockTimeoutMs: 200 });
    const t0 = Date.now();
    await rejects(fw.append('INPUT', '-j DROP'), 'ERR_CONNLIMIT_BUSY');
    assert.ok(Date.now() - t0 < 1500, 'the wait is bounded');
    await holder;
    await fw.append('INPUT', '-j DROP'); // free again
    await fw.close();
  });
});

test('concurrent iptables-legacy -w appends beside ours lose nothing', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const n = 40;
    const theirs = (async () => {
      for (let i = 0; i < n; i++) await ns.run('iptables-legacy', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', String(10000 + i), '-m', 'comment', '--comment', `cli-${i}`, '-j', 'ACCEPT']);
    })();
    const ours = (async () => {
      for (let i = 0; i < n; i++) await fw.append('INPUT', `-p tcp --dport ${20000 + i} -m comment --comment lib-${i} -j ACCEPT`);
    })();
    await Promise.all([theirs, ours]);
    const text = await save(ns, 'ipv4');
    for (let i = 0; i < n; i++) {
      assert.is(text.split(`--comment cli-${i} `).length - 1, 1, `cli-${i}`);
      assert.is(text.split(`--comment lib-${i} `).length - 1, 1, `lib-${i}`);
    }
    await fw.close();
  }));

test.run();
