// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the native nftables form (backend 'nftables') against the real kernel, every test in
// a throwaway network namespace: real TCP on loopback proves the limits, `nft list` is the
// oracle for what we wrote, and other programs' tables must stay byte-identical.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { rejects } from './helpers/assert';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer, type ConnectOutcome } from './helpers/tcp';

const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);
const nftList = async (ns: Netns, ...what: string[]) => (await ns.run('nft', ['list', ...what])).stdout;

test('IPv4: the third parallel connection from one client is refused, another client is still accepted', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    try {
      assert.is(fw.backend, 'nftables');
      await peer.listen(7301, '127.0.0.1');
      await fw.append('INPUT', '-p tcp --syn --dport 7301 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      const opts = { host: '127.0.0.1', port: 7301 };
      assert.equal(results(await peer.connectMany(3, { ...opts, localAddress: '127.0.1.10' })), ['ok', 'ok', 'refused']);
      assert.equal(results(await peer.connectMany(2, { ...opts, localAddress: '127.0.1.11' })), ['ok', 'ok']);
    } finally {
      await peer.exit();
      await fw.close();
    }
  }));

test('IPv4 --connlimit-mask 24: clients of one /24 share the limit, another /24 has its own', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      await peer.listen(7302, '127.0.0.1');
      await fw.append('INPUT', { protocol: 'tcp', syn: true, dport: 7302, connlimit: { kind: 'above', count: 2, maskBits: 24 }, target: { kind: 'reject', with: 'tcp-reset' } });
      const opts = { host: '127.0.0.1', port: 7302 };
      assert.equal(results(await peer.connectMany(2, { ...opts, localAddress: '127.0.1.10' })), ['ok', 'ok']);
      assert.equal(results(await peer.connectMany(1, { ...opts, localAddress: '127.0.1.11' })), ['refused']);
      assert.equal(results(await peer.connectMany(3, { ...opts, localAddress: '127.0.2.10' })), ['ok', 'ok', 'refused']);
      assert.match(await nftList(ns, 'ruleset'), /add @connlimit0 \{ ip saddr & 255\.255\.255\.0 ct count over 2 \}/);
    } finally {
      await peer.exit();
      await fw.close();
    }
  }));

test('IPv6: the set is keyed ipv6_addr; the third connection from ::1 is refused, another address is accepted', () =>
  withNetns(async (ns) => {
    await ns.addAddress('2001:db8::2/128');
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ family: 'ipv6', backend: 'nftables', netns: ns.name });
    try {
      await peer.listen(7303, '::');
      await fw.append('INPUT', '-p tcp --syn --dport 7303 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      const listed = await nftList(ns, 'ruleset');
      assert.match(listed, /table ip6 connlimit \{\n\tset connlimit0 \{\n\t\ttype ipv6_addr\n\t\tsize 65535\n\t\tflags dynamic\n/);
      assert.match(listed, /add @connlimit0 \{ ip6 saddr ct count over 2 \} counter packets \d+ bytes \d+ reject with tcp reset/);
      assert.equal(results(await peer.connectMany(3, { host: '::1', port: 7303, localAddress: '::1' })), ['ok', 'ok', 'refused']);
      assert.equal(results(await peer.connectMany(1, { host: '::1', port: 7303, localAddress: '2001:db8::2' })), ['ok']);
    } finally {
      await peer.exit();
      await fw.close();
    }
  }));

test('what nft lists is what iptables-translate renders; list() reads it back; delete removes the rule and its set', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const text = '-s 10.0.0.0/8 -p tcp --dport 80 -m connlimit --connlimit-upto 5 --connlimit-mask 24 --connlimit-daddr -m comment --comment web -j DROP';
    await fw.append('INPUT', text);
    await fw.append('INPUT', '-p udp --dport 53 -m connlimit --connlimit-above 9 -j REJECT');
    assert.is(
      await nftList(ns, 'table', 'ip', 'connlimit'),
      [
        'table ip connlimit {',
        '\tset connlimit0 {\n\t\ttype ipv4_addr\n\t\tsize 65535\n\t\tflags dynamic\n\t}\n',
        '\tset connlimit1 {\n\t\ttype ipv4_addr\n\t\tsize 65535\n\t\tflags dynamic\n\t}\n',
        '\tchain INPUT {',
        '\t\ttype filter hook input priority filter; policy accept;',
        '\t\tip saddr 10.0.0.0/8 tcp dport 80 add @connlimit0 { ip daddr & 255.255.255.0 ct count 5 } counter packets 0 bytes 0 drop comment "web"',
        '\t\tudp dport 53 add @connlimit1 { ip saddr ct count over 9 } counter packets 0 bytes 0 reject',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
    const rules = await fw.list('INPUT');
    assert.equal(rules.map((r) => r.text), [
      '-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 80 -m connlimit --connlimit-upto 5 --connlimit-mask 24 --connlimit-daddr -m comment --comment web -j DROP',
      '-A INPUT -p udp -m udp --dport 53 -m connlimit --connlimit-above 9 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable',
    ]);
    assert.is(await fw.check('INPUT', text), true);
    assert.is(await fw.ensure('INPUT', text), false);
    // By spec, and by a listed rule passed back.
    assert.is(await fw.delete('INPUT', text), 1);
    assert.is(await fw.delete('INPUT', rules[1]!), 1);
    assert.is(
      await nftList(ns, 'table', 'ip', 'connlimit'),
      'table ip connlimit {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n',
    );
    await fw.close();
  }));

test('other tables stay byte-identical through every operation of ours, and a hand-made rule in our table is kept', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-m', 'connlimit', '--connlimit-above', '3', '-j', 'REJECT']);
    await ns.run('iptables-nft', ['-A', 'INPUT', '-s', '10.0.0.0/8', '-j', 'ACCEPT']);
    await ns.run('nft', ['-f', '-'], {
      input: 'table inet mine {\n set s { type ipv4_addr; flags dynamic; }\n chain c { type filter hook input priority 10; tcp dport 99 add @s { ip saddr ct count over 1 } drop; meta mark 7 accept; }\n}\n',
    });
    const others = async () => [await nftList(ns, 'table', 'ip', 'filter'), await nftList(ns, 'table', 'inet', 'mine'), await nftList(ns, 'table', 'ip6', 'filter').catch(() => '')];
    const before = await others();
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const same = async (what: string) => assert.equal(await others(), before, `after ${what}`);
    await fw.append('INPUT', '-p tcp --dport 1 -m connlimit --connlimit-above 1 -j DROP');
    await same('append');
    // Someone adds a rule of their own to our table: it lists (opaquely) and survives our changes.
    await ns.run('nft', ['add', 'rule', 'ip', 'connlimit', 'INPUT', 'meta', 'cpu', '5', 'counter', 'drop']);
    await fw.insert('INPUT', 1, '-p tcp --dport 2 -j REJECT --reject-with tcp-reset');
    await same('insert');
    await fw.replace('INPUT', 2, '-p tcp --dport 3 -m connlimit --connlimit-above 3 -j DROP');
    await same('replace');
    await fw.transaction((tx) => {
      tx.append('OUTPUT', '-p udp --dport 4 -j DROP');
      tx.append('FORWARD', '-p udp --dport 5 -m connlimit --connlimit-above 2 -j DROP');
      tx.delete('INPUT', 1);
    });
    await same('transaction');
    const listed = await fw.list('INPUT');
    assert.equal(listed.map((r) => r.rule.target), [{ kind: 'drop' }, { kind: 'drop' }]);
    assert.match(listed[1]!.text, /-m nft:meta/);
    await fw.delete('INPUT', '-p tcp --dport 3 -m connlimit --connlimit-above 3 -j DROP');
    await fw.flush('OUTPUT');
    await fw.flush('FORWARD');
    await same('delete and flush');
    assert.match(await nftList(ns, 'table', 'ip', 'connlimit'), /meta cpu 5 counter packets \d+ bytes \d+ drop/);
    assert.not.match(await nftList(ns, 'table', 'ip', 'connlimit'), /set connlimit/);
    await fw.close();
  }));

test('counts survive an unrelated append to our table and an iptables-nft -A in the filter table', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      await peer.listen(7304, '127.0.0.1');
      await fw.append('INPUT', '-p tcp --syn --dport 7304 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset');
      const opts = { host: '127.0.0.1', port: 7304, localAddress: '127.0.1.10' };
      assert.equal(results(await peer.connectMany(2, opts)), ['ok', 'ok']);
      await fw.append('INPUT', '-p udp --dport 9 -m connlimit --connlimit-above 1 -j DROP');
      await ns.run('iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'ACCEPT']);
      await fw.append('OUTPUT', '-p udp --dport 10 -j DROP');
      assert.equal(results(await peer.connectMany(1, opts)), ['refused']);
    } finally {
      await peer.exit();
      await fw.close();
    }
  }));

test('large: appends open connlimit_1, connlimit_2 ... every 500 rules; positions, check, delete and enforcement span them', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    try {
      const rule = (i: number) => `-p tcp --dport ${20000 + i} -m connlimit --connlimit-above 5 -j DROP`;
      await fw.transaction((tx) => {
        for (let i = 0; i < 700; i++) tx.append('INPUT', rule(i));
      });
      for (let i = 700; i < 1100; i++) await fw.append('INPUT', rule(i));
      await peer.listen(7305, '127.0.0.1');
      await fw.append('INPUT', '-p tcp --syn --dport 7305 -m connlimit --connlimit-above 1 -j REJECT --reject-with tcp-reset');
      const tables = (await nftList(ns, 'tables')).trim().split('\n');
      assert.equal(tables, ['table ip connlimit', 'table ip connlimit_1', 'table ip connlimit_2']);
      const count = async (t: string) => ((await nftList(ns, 'table', 'ip', t)).match(/ct count over/g) ?? []).length;
      assert.equal([await count('connlimit'), await count('connlimit_1'), await count('connlimit_2')], [500, 500, 101]);
      // Later tables hook in after the earlier ones.
      assert.match(await nftList(ns, 'table', 'ip', 'connlimit_2'), /type filter hook input priority filter \+ 2; policy accept;/);
      const listed = await fw.list('INPUT');
      assert.is(listed.length, 1101);
      assert.ok(listed.slice(0, 1100).every((r, i) => r.text.includes(`--dport ${20000 + i} `)));
      assert.is(await fw.check('INPUT', rule(777)), true);
      assert.is(await fw.delete('INPUT', rule(777)), 778);
      await fw.delete('INPUT', 501); // the first rule of connlimit_1
      await fw.insert('INPUT', 501, '-p tcp --dport 9 -j DROP');
      const after = (await fw.list('INPUT')).map((r) => r.text);
      assert.is(after.length, 1100);
      assert.match(after[499]!, /--dport 20499 /);
      assert.match(after[500]!, /--dport 9 /);
      assert.match(after[501]!, /--dport 20501 /);
      assert.match(after[776]!, /--dport 20776 /);
      assert.match(after[777]!, /--dport 20778 /);
      assert.match(await nftList(ns, 'table', 'ip', 'connlimit_1'), /chain INPUT \{\n\t\ttype filter hook input priority filter \+ 1; policy accept;\n\t\ttcp dport 9 counter/);
      // The rule in the third table limits as it would in the first.
      assert.equal(results(await peer.connectMany(2, { host: '127.0.0.1', port: 7305, localAddress: '127.0.1.10' })), ['ok', 'refused']);
      await fw.flush();
      assert.is((await fw.list()).length, 0);
      assert.not.match(await nftList(ns, 'ruleset'), /set connlimit|ct count/);
    } finally {
      await peer.exit();
      await fw.close();
    }
  }));

test('another writer committing all along (nft in a loop) makes commits retry, never lose or double a rule', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    await ns.run('nft', ['add', 'table', 'ip', 'busy']);
    const writer = ns.exec('bash', ['-c', 'for i in $(seq 1 400); do nft add chain ip busy c$i || exit 1; done']);
    for (let i = 0; i < 60; i++) await fw.append('INPUT', `-p tcp --dport ${30000 + i} -m connlimit --connlimit-above 3 -j DROP`);
    assert.is((await writer).code, 0);
    const listed = await fw.list('INPUT');
    assert.equal(listed.map((r) => r.text.match(/--dport (\d+)/)?.[1]), Array.from({ length: 60 }, (_, i) => String(30000 + i)));
    assert.is(((await nftList(ns, 'table', 'ip', 'connlimit')).match(/\tset connlimit\d+ \{/g) ?? []).length, 60);
    await fw.close();
  }));

test('forms the native table cannot hold are refused with a typed error before anything is written', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nftables', netns: ns.name });
    const invalid = (e: { code?: string }) => e.code === 'ERR_CONNLIMIT_INVALID';
    const accept = await rejects(fw.append('INPUT', '-p tcp --syn --dport 23 -m connlimit ! --connlimit-above 2 -j ACCEPT'), invalid);
    assert.match(accept.message, /ACCEPT in one nftables table does not end evaluation in another.*backend 'nft'/);
    for (const rule of [
      '-p tcp --dport 1 -j RETURN',
      '-p tcp --dport 1',
      '-f -j DROP',
      '-p tcp --tcp-option 2 -j DROP',
      '-p tcp -m multiport --ports 1,2 -j DROP',
      '-p udp -m multiport ! --ports 53,1000:2000 -j DROP',
      '-m connlimit --connlimit-above 1 -m connlimit --connlimit-above 2 -j DROP',
    ]) await rejects(fw.append('INPUT', rule), invalid, rule);
    // -m time and CONNMARK forms whose translation would change the rule (docs/nft.md), each named.
    for (const [rule, why] of [
      ['-m time --monthdays 1,15 -j DROP', /match time is not available in the native nftables form \(--monthdays/],
      ['-m time --timestart 12:00 --kerneltz -j DROP', /\(--kerneltz: nft's `meta hour` is always UTC/],
      ['-m time --timestart 22:00 --timestop 06:00 --contiguous -j DROP', /\(--contiguous: nft tests `meta hour` and `meta day` apart/],
      ['-m time -j DROP', /a -m time without options matches every packet/],
      ['-j CONNMARK --save-mark --mask 0xff', /-j CONNMARK is not available in the native nftables form here \(--save-mark with a mask/],
      ['-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xf', /\(--restore-mark with a mask/],
      ['-j CONNMARK --set-mark 0x10 --left-shift-mark 2', /a shifted --set-xmark VALUE\/0xffffffff is a constant/],
      ['-j NFQUEUE --queue-num 1', /-j NFQUEUE is not available in the native nftables form here \(the reader's accept would end evaluation of our table only/],
      ['-m connlimit --connlimit-above 2 -j SET --add-set banned src', /-j SET is not available in the native nftables form/],
    ] as const) {
      const e = await rejects(fw.append('INPUT', rule), invalid, rule);
      assert.match(e.message, why, rule);
      assert.match(e.message, /backend 'nft'/, rule);
    }
    for (const [typed, why] of [
      [{ matches: [{ kind: 'time', monthdays: [1] }], target: { kind: 'drop' } }, /--monthdays/],
      [{ target: { kind: 'connmark', mode: 'save', nfmask: 0xff } }, /--save-mark with a mask/],
    ] as const) assert.match((await rejects(fw.append('INPUT', typed as never), invalid, 'typed')).message, why);
    await rejects(fw.append('LIMITS', '-j DROP'), invalid, 'a user chain');
    await rejects(fw.createChain('LIMITS'), invalid, 'createChain');
    await rejects(fw.setPolicy('INPUT', 'DROP'), invalid, 'setPolicy');
    await rejects(fw.zero(), invalid, 'zero');
    await rejects(fw.transaction((tx) => { tx.append('INPUT', '-p tcp --dport 2 -j DROP'); tx.append('INPUT', '-j ACCEPT'); }), invalid, 'transaction');
    await rejects(Firewall.open({ backend: 'nftables', table: 'nat', netns: ns.name }), invalid, 'table nat');
    assert.is(await nftList(ns, 'ruleset'), '');
    await fw.close();
  }));

test.run();
