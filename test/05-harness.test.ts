// SPDX-License-Identifier: GPL-2.0-or-later
// Proves the test harness itself: namespaces, the in-namespace TCP peer, and the
// golden fixture reader. If this file fails, every kernel test after it is suspect.

import { existsSync, readlinkSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeMismatch, libiptcStandardMap, listGoldens, maskedEqual, readGolden } from './helpers/golden';
import { cleanupStaleNetns, createNetns, execResult, withNetns, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';

/** Host legacy rulesets, read-only, without the timestamp comments. */
async function hostLegacyRules(): Promise<string> {
  const parts: string[] = [];
  for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) {
    const r = await execResult(tool, []);
    assert.is(r.code, 0, `${tool} on the host failed: ${r.stderr}`);
    // Rules and policies, not counters: a host whose legacy filter table exists counts its own
    // traffic on the policies, which says nothing about what the test changed.
    parts.push(r.stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).join('\n'));
  }
  return parts.join('\n---\n');
}

test('a namespace is created with lo up, isolated from the host, and destroyed', async () => {
  await cleanupStaleNetns();
  const ns = await createNetns();
  let destroyed = false;
  try {
    assert.match(ns.name, new RegExp(`^cl-${process.pid}-\\d+$`));
    assert.is(ns.path, `/run/netns/${ns.name}`);
    assert.ok(existsSync(ns.path), 'netns file exists');
    const inside = await ns.run('readlink', ['/proc/self/ns/net']);
    assert.is.not(inside.stdout.trim(), readlinkSync('/proc/self/ns/net'), 'exec runs in another netns');
    const lo = await ns.run('ip', ['-o', 'link', 'show', 'lo']);
    assert.match(lo.stdout, /[<,]UP[,>]/);
    const failed = await ns.exec('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    assert.equal([failed.code, failed.stdout, failed.stderr], [3, 'out\n', 'err\n']);
    try {
      await ns.run('false');
      assert.unreachable('run() must throw on a non-zero exit');
    } catch (err) {
      assert.instance(err, Error);
      assert.match((err as Error).message, /exited 1/);
    }
    assert.is(await ns.addAddress('127.0.1.10/8'), false, '127/8 is already local');
    assert.is(await ns.addAddress('::1/128'), false, '::1 is already local');
    assert.is(await ns.addAddress('fd00:c1::10/128'), true);
    assert.is(await ns.addAddress('fd00:c1::10/128'), false, 'second add is a no-op');
    assert.equal(await cleanupStaleNetns(), [], 'a live pid owns this namespace');
    await ns.destroy();
    destroyed = true;
    assert.not.ok(existsSync(ns.path), 'netns file removed');
    await ns.destroy(); // idempotent
  } finally {
    if (!destroyed) await ns.destroy();
  }
});

test('withNetns destroys the namespace and kills processes inside when fn throws', async () => {
  let seen: Netns | undefined;
  let peerPid = 0;
  try {
    await withNetns(async (ns) => {
      seen = ns;
      const peer = await startPeer(ns);
      peerPid = peer.pid;
      assert.ok((await ns.pids()).includes(peer.pid), 'peer child lives in the namespace');
      throw new Error('boom');
    });
    assert.unreachable('withNetns must rethrow');
  } catch (err) {
    assert.is((err as Error).message, 'boom');
  }
  assert.ok(seen);
  assert.not.ok(existsSync(seen.path));
  let alive = true;
  try {
    process.kill(peerPid, 0);
  } catch {
    alive = false;
  }
  assert.not.ok(alive, 'peer child was killed');
});

test('the peer connects to a listener inside the namespace (IPv4 from 127.x, IPv6 ::1)', async () => {
  await withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7001, '127.0.0.1');
      await peer.listen(7001, '::1');
      const v4 = await peer.connect({ host: '127.0.0.1', port: 7001, localAddress: '127.0.1.10' });
      assert.is(v4.result, 'ok');
      assert.is(v4.localAddress, '127.0.1.10');
      const v6 = await peer.connect({ host: '::1', port: 7001, localAddress: '::1' });
      assert.is(v6.result, 'ok');
      const none = await peer.connect({ host: '127.0.0.1', port: 7002 });
      assert.is(none.result, 'refused', 'no listener -> RST');
      const s = await peer.stats();
      assert.is(s.clients, 2);
      assert.is(s.listeners, 2);
      assert.ok(v4.id !== undefined);
      await peer.closeClient(v4.id);
      assert.is((await peer.stats()).clients, 1);
      await peer.closeAll();
      assert.is((await peer.stats()).clients, 0);
    } finally {
      await peer.exit();
    }
  });
});

test('iptables-legacy inside the namespace changes outcomes there and never on the host', async () => {
  const hostBefore = await hostLegacyRules();
  await withNetns(async (ns) => {
    const peer = await startPeer(ns);
    try {
      await peer.listen(7001, '127.0.0.1');
      const target = { host: '127.0.0.1', port: 7001, localAddress: '127.0.1.10' };
      assert.is((await peer.connect(target)).result, 'ok');

      await ns.run('iptables-legacy', ['-w', '10', '-A', 'INPUT', '-p', 'tcp', '--dport', '7001', '-j', 'REJECT', '--reject-with', 'tcp-reset']);
      const rejected = await peer.connect(target);
      assert.is(rejected.result, 'refused');
      assert.is(rejected.code, 'ECONNREFUSED');

      await ns.run('iptables-legacy', ['-w', '10', '-I', 'INPUT', '-p', 'tcp', '--dport', '7001', '-j', 'DROP']);
      assert.is((await peer.connect({ ...target, timeoutMs: 200 })).result, 'timeout');

      const save = await ns.run('iptables-legacy-save', ['-t', 'filter']);
      assert.match(save.stdout, /-A INPUT -p tcp -m tcp --dport 7001 -j REJECT --reject-with tcp-reset/);
    } finally {
      await peer.exit();
    }
  });
  assert.fixture(await hostLegacyRules(), hostBefore, 'host legacy tables unchanged');
});

test('golden fixtures parse, and maskedEqual ignores exactly the masked ranges', () => {
  const names = listGoldens();
  assert.ok(names.includes('seed-reject') && names.includes('v6-seed'), `fixtures: ${names.join(', ')}`);
  for (const name of names) {
    const g = readGolden(name);
    assert.ok(g.bytes.length > 0 && g.bytes.length % 8 === 0, `${name}: XT_ALIGNed length`);
    const nextOffset = g.bytes.readUInt16LE(g.family === 'ipv4' ? 90 : 142);
    assert.is(nextOffset, g.bytes.length, `${name}: next_offset is the blob length`);
    assert.ok(g.maskedRanges.length >= 2, `${name}: comefrom and counters are masked`);
    assert.ok(maskedEqual(Buffer.from(g.bytes), g));
  }
  const g = readGolden('seed-reject');
  assert.is(g.family, 'ipv4');
  assert.equal(g.maskedRanges, [[92, 4], [96, 16]]);
  assert.match(g.command, /^iptables-legacy .*-A INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT$/);
  assert.equal(g.args.slice(0, 3), ['-p', 'tcp', '--syn']);
  const inMask = Buffer.from(g.bytes);
  inMask[100] = 0xaa;
  assert.ok(maskedEqual(inMask, g), 'counters are ignored');
  const outside = Buffer.from(g.bytes);
  outside[160 + 32 + 16] = 3; // connlimit limit
  assert.not.ok(maskedEqual(outside, g));
  assert.match(describeMismatch(outside, g) ?? '', /@208: expected 02000000, got 03000000/);
  assert.not.ok(maskedEqual(g.bytes.subarray(0, 8), g), 'length matters');
  const v6 = readGolden('v6-seed');
  assert.equal(v6.maskedRanges, [[144, 4], [152, 16]]);
});

test('libiptcStandardMap turns a named verdict into the kernel form the fixtures hold', () => {
  for (const [name, verdict] of [['upto-accept', 'ACCEPT'], ['mask24-drop', 'DROP'], ['daddr-upto', 'RETURN']] as const) {
    const g = readGolden(name);
    const t = g.bytes.readUInt16LE(88);
    assert.is(g.bytes.readInt32LE(t + 32) < 0, true, `${name}: fixture has a standard verdict`);
    const named = Buffer.from(g.bytes);
    named.write(verdict, t + 2, 'latin1'); // what the CLI (and our encoder) hand to libiptc
    named.writeInt32LE(0, t + 32);
    assert.not.ok(maskedEqual(named, g));
    assert.ok(maskedEqual(libiptcStandardMap(named, 'ipv4'), g), describeMismatch(libiptcStandardMap(named, 'ipv4'), g) ?? '');
  }
  const reject = readGolden('seed-reject');
  assert.ok(libiptcStandardMap(reject.bytes, 'ipv4').equals(reject.bytes), 'extension targets untouched');
});

test.run();
