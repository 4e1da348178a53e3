// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: on the native nftables form (backend 'nftables'), the targets that act on a packet
// and let it go on (MARK, CONNMARK, NFLOG, TCPMSS), and -m time, do what they say, with real TCP
// connections on loopback inside a throwaway namespace. Our table's statement runs on the hook
// as the iptables rule would, and the next rule of the table sees its effect: a connlimit rule
// matching `-m mark` counts only the connections MARK marked. The oracles: the connections'
// outcomes, `conntrack -L --mark` for CONNMARK, and an nfnetlink_log listener for NFLOG
// (LOG itself is test 37's: the kernel log prints nothing for a namespace other than the host's).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { rejects } from './helpers/assert';
import { withNetns, type Netns } from './helpers/netns';
import { startNflogListener } from './helpers/nflog';
import { startPeer, type ConnectOutcome, type Peer } from './helpers/tcp';

const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);

async function withNative(fn: (ns: Netns, fw: Firewall, peer: Peer) => Promise<void>): Promise<void> {
  await withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ family: 'ipv4', backend: 'nftables', netns: ns.name });
    try {
      await fn(ns, fw, peer);
    } finally {
      await fw.close();
      await peer.exit();
    }
  });
}

test('MARK: a later connlimit rule matching the mark counts the marked connections only', () =>
  withNative(async (ns, fw, peer) => {
    for (const port of [7201, 7202]) await peer.listen(port, '127.0.0.1');
    await fw.append('INPUT', '-p tcp --dport 7201 -j MARK --set-mark 0x5');
    await fw.append('INPUT', '-p tcp --dport 7202 -j MARK --set-xmark 0x6/0xff');
    await fw.append('INPUT', '-p tcp -m mark --mark 0x5 -m connlimit --connlimit-above 1 -j REJECT --reject-with tcp-reset');
    assert.equal(results(await peer.connectMany(2, { host: '127.0.0.1', port: 7201, localAddress: '127.0.1.30' })), ['ok', 'refused']);
    // Marked 6: the connlimit rule never sees these.
    assert.equal(results(await peer.connectMany(3, { host: '127.0.0.1', port: 7202, localAddress: '127.0.1.31' })), ['ok', 'ok', 'ok']);
    const listed = await fw.list('INPUT');
    assert.equal(listed.map((r) => r.rule.target), [
      { kind: 'mark', value: 5, mask: 0xffffffff },
      { kind: 'mark', value: 6, mask: 0xff },
      { kind: 'reject', with: 'tcp-reset' },
    ]);
    assert.match((await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout, /tcp dport 7201 counter packets [1-9]\d* bytes \d+ meta mark set 0x00000005\n/);
  }));

test('CONNMARK: the connection mark is set (conntrack lists it) and restored to the packet, which a later rule sees', () =>
  withNative(async (ns, fw, peer) => {
    await peer.listen(7203, '127.0.0.1');
    await fw.transaction((tx) => {
      tx.append('INPUT', '-p tcp --dport 7203 -j CONNMARK --set-mark 0x7');
      tx.append('INPUT', '-p tcp --dport 7203 -j CONNMARK --restore-mark');
      tx.append('INPUT', '-p tcp -m mark --mark 0x7 -m connlimit --connlimit-above 1 -j REJECT --reject-with tcp-reset');
    });
    assert.equal(results(await peer.connectMany(2, { host: '127.0.0.1', port: 7203, localAddress: '127.0.1.32' })), ['ok', 'refused']);
    const flows = (await ns.run('conntrack', ['-L', '-p', 'tcp', '--orig-port-dst', '7203', '--mark', '7'])).stdout.split('\n').filter((l) => l.trim());
    assert.ok(flows.length >= 1, 'conntrack lists the marked connection');
    assert.ok(flows.every((l) => /mark=7\b/.test(l)), flows.join('\n'));
    assert.equal((await fw.list('INPUT')).slice(0, 2).map((r) => r.text), [
      '-A INPUT -p tcp -m tcp --dport 7203 -j CONNMARK --set-xmark 0x7/0xffffffff',
      '-A INPUT -p tcp -m tcp --dport 7203 -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    ]);
  }));

test('NFLOG: each new connection reaches the group with its prefix, its mark and --nflog-size bytes, and goes on', () =>
  withNative(async (ns, fw, peer) => {
    await peer.listen(7204, '127.0.0.1');
    const nflog = await startNflogListener(ns, 5);
    try {
      await fw.append('INPUT', '-p tcp --syn --dport 7204 -j MARK --set-mark 0x9');
      await fw.append('INPUT', '-p tcp --syn --dport 7204 -j NFLOG --nflog-group 5 --nflog-prefix "syn 7204" --nflog-size 40');
      assert.equal(results(await peer.connectMany(3, { host: '127.0.0.1', port: 7204, localAddress: '127.0.1.33' })), ['ok', 'ok', 'ok']);
      assert.equal(await nflog.waitFor(3), Array(3).fill({ prefix: 'syn 7204', mark: 9, bytes: 40 }));
      const [, rule] = await fw.list('INPUT');
      assert.equal(rule!.rule.target, { kind: 'nflog', prefix: 'syn 7204', group: 5, size: 40 });
      assert.is(rule!.packets, 3n);
    } finally {
      nflog.stop();
    }
  }));

test('TCPMSS: OUTPUT rewrites the SYN\'s MSS, which a later -m tcpmss rule at INPUT sees; never raised, and the SYN goes on', () =>
  withNative(async (_ns, fw, peer) => {
    for (const port of [7206, 7207, 7208]) await peer.listen(port, '127.0.0.1');
    await fw.transaction((tx) => {
      tx.append('OUTPUT', '-p tcp --syn --dport 7206 -j TCPMSS --set-mss 500');
      // Above the loopback SYN's own MSS (65495): xt_TCPMSS and nft alike leave it.
      tx.append('OUTPUT', '-p tcp --syn --dport 7208 -j TCPMSS --set-mss 65500');
      tx.append('INPUT', '-p tcp --syn -m tcpmss --mss 500 -j REJECT --reject-with tcp-reset');
      tx.append('INPUT', '-p tcp --syn -m tcpmss --mss 65500 -j REJECT --reject-with tcp-reset');
    });
    // 7206's SYN reaches INPUT carrying MSS 500 and is refused there; 7207's (no TCPMSS) and 7208's keep the stack's MSS.
    for (const [port, want] of [[7206, 'refused'], [7207, 'ok'], [7208, 'ok']] as const) {
      assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port, localAddress: '127.0.1.35' })), [want], `port ${port}`);
    }
    const out = await fw.list('OUTPUT');
    assert.equal(out.map((r) => r.rule.target), [{ kind: 'tcpmss', mss: 500 }, { kind: 'tcpmss', mss: 65500 }]);
    assert.equal(out.map((r) => r.packets), [1n, 1n]);
    assert.equal(out.map((r) => r.text), [
      '-A OUTPUT -p tcp -m tcp --dport 7206 --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 500',
      '-A OUTPUT -p tcp -m tcp --dport 7208 --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 65500',
    ]);
    // Clamping in OUTPUT lists back as it went in; in INPUT it is refused (xt_TCPMSS and nft's `rt` both refuse that hook).
    await fw.append('OUTPUT', '-p tcp --syn --dport 7209 -j TCPMSS --clamp-mss-to-pmtu');
    assert.equal((await fw.list('OUTPUT'))[2]!.rule.target, { kind: 'tcpmss', mss: 'clamp-to-pmtu' });
    await rejects(fw.append('INPUT', '-p tcp --syn -j TCPMSS --clamp-mss-to-pmtu'), (e) => e.code === 'ERR_CONNLIMIT_INVALID', 'clamp in INPUT');
  }));

test('statements of other shapes, written into our table by hand, list as opaque parts and stay as they are', () =>
  withNative(async (ns, fw) => {
    await fw.append('INPUT', '-p tcp --dport 7205 -j MARK --set-mark 0x1');
    const foreign = [
      'meta mark set ct mark and 0xff', // a masked --restore-mark: no CONNMARK of ours
      'ct mark set mark and 0xff', // a masked --save-mark
      'log level audit', // no syslog level
      'log prefix "x" drop', // a statement and a verdict
      'meta mark set 0x2 meta mark 0x2 drop', // a match after the statement
      'meta hour "12:00"-"13:00" meta day != { 1, 2 } drop', // a negated day set: no translation writes one
    ];
    for (const body of foreign) await ns.run('nft', [`add rule ip connlimit INPUT ${body}`]);
    const listed = await fw.list('INPUT');
    assert.is(listed.length, 1 + foreign.length);
    listed.slice(1).forEach((r, i) => assert.ok((r.rule.matches ?? []).some((m) => m.kind === 'opaque' && m.name.startsWith('nft:')), `${foreign[i]}: ${r.text}`));
    // Ours still reads back typed, and is found and deleted by its line among them.
    assert.equal(listed[0]!.rule.target, { kind: 'mark', value: 1, mask: 0xffffffff });
    assert.is(await fw.delete('INPUT', '-p tcp --dport 7205 -j MARK --set-mark 0x1'), 1);
    const left = (await ns.run('nft', ['list', 'chain', 'ip', 'connlimit', 'INPUT'])).stdout;
    assert.is(left.split('\n').filter((l) => /^\t\t(?!type )\S/.test(l)).length, foreign.length, left);
  }));

/** `HH:MM:SS` of a time `s` seconds into the UTC day (wrapped). */
const clock = (s: number) => {
  const t = ((s % 86400) + 86400) % 86400;
  return [Math.floor(t / 3600), Math.floor(t / 60) % 60, t % 60].map((n) => String(n).padStart(2, '0')).join(':');
};
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

test('-m time: dates, a UTC window of the day and the weekday mean what xt_time means', () =>
  withNative(async (_ns, fw, peer) => {
    // A day's edge between writing and connecting would change the weekday: start clear of one.
    const deadline = Date.now() + 30_000;
    while (Date.now() % 86_400_000 > 86_400_000 - 15_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const now = new Date();
    const sec = now.getUTCHours() * 3600 + now.getUTCMinutes() * 60 + now.getUTCSeconds();
    const today = WEEKDAYS[now.getUTCDay()]!;
    const other = WEEKDAYS[(now.getUTCDay() + 3) % 7]!;
    const cases: [number, string, string][] = [
      [7211, '--datestart 2021', 'refused'],
      [7212, '--datestop 2021', 'ok'],
      // A window around now, which wraps past midnight when now is near it.
      [7213, `--timestart ${clock(sec - 3600)} --timestop ${clock(sec + 3600)}`, 'refused'],
      [7214, `--timestart ${clock(sec + 3 * 3600)} --timestop ${clock(sec + 5 * 3600)}`, 'ok'],
      [7215, `--weekdays ${today}`, 'refused'],
      [7216, `--weekdays ${other}`, 'ok'],
      // Several weekdays: an anonymous set of days.
      [7217, `--weekdays ${other},${today}`, 'refused'],
      [7218, `! --weekdays ${today}`, 'ok'],
    ];
    for (const [port, opts] of cases) {
      await peer.listen(port, '127.0.0.1');
      await fw.append('INPUT', `-p tcp --dport ${port} -m time ${opts} -j REJECT --reject-with tcp-reset`);
    }
    for (const [port, opts, want] of cases) {
      assert.equal(results(await peer.connectMany(1, { host: '127.0.0.1', port, localAddress: '127.0.1.34' })), [want], `-m time ${opts}`);
    }
  }));

test.run();
