// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 4: the live watch against the real kernel, in throwaway namespaces. Real loopback TCP
// and synthetic `conntrack -I` entries; `conntrack -L` is the oracle for every final count.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Conntrack, ConntrackWatch, Firewall, type WatchBatch } from '../src/index';
import { normalizeWatchOptions } from '../src/conntrack/watch-options';
import { catchError } from './helpers/assert';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';

const lockPath = join(tmpdir(), `connlimit-test-45-${process.pid}.lock`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Conntrack is only on in a namespace once something needs it: a connlimit rule does. */
async function enableConntrack(ns: Netns, port: number): Promise<void> {
  const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath });
  await fw.append('INPUT', `-p tcp --syn --dport ${port} -m connlimit --connlimit-above 1000 -j ACCEPT`);
  await fw.close();
}

/** Per original source (masked by `keyOf`) from `conntrack -L`, the oracle. */
async function cliCounts(ns: Netns, args: string[], keyOf: (src: string) => string = (s) => s): Promise<Map<string, number>> {
  const r = await ns.exec('conntrack', ['-L', ...args]);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /src=(\S+)/.exec(line);
    if (!m) continue;
    const k = keyOf(m[1] as string);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const sorted = (m: ReadonlyMap<string, number>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/** Waits until the watch's counts equal `want` (events are asynchronous), or fails with both. */
async function settle(watch: ConntrackWatch, want: () => Promise<Map<string, number>>, tries = 100): Promise<void> {
  let expected = new Map<string, number>();
  for (let i = 0; i < tries; i++) {
    expected = await want();
    if (JSON.stringify(sorted(watch.counts())) === JSON.stringify(sorted(expected))) return;
    await sleep(50);
  }
  assert.equal(sorted(watch.counts()), sorted(expected));
}

test('counts follow real connections from several sources and equal conntrack -L; changes arrive as events', () =>
  withNetns(async (ns) => {
    await enableConntrack(ns, 7200);
    const peer = await startPeer(ns);
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      await peer.listen(7200, '127.0.0.1');
      // Opened before the watch: the start-up dump must count it.
      await peer.connectMany(1, { host: '127.0.0.1', port: 7200, localAddress: '127.0.1.9' });
      const watch = ct.watch({ protocol: 'tcp', dport: 7200 });
      const changes: string[] = [];
      watch.on('change', (c) => changes.push(`${c.key}=${c.count}`));
      await watch.ready;
      assert.equal(sorted(watch.counts()), [['127.0.1.9', 1]]);

      const opened = [];
      for (const [src, n] of [['127.0.1.10', 3], ['127.0.1.11', 2], ['127.0.2.5', 1]] as const) {
        opened.push(...(await peer.connectMany(n, { host: '127.0.0.1', port: 7200, localAddress: src })));
      }
      const oracle = () => cliCounts(ns, ['-p', 'tcp', '--orig-port-dst', '7200']);
      await settle(watch, oracle);
      assert.equal(sorted(watch.counts()), [['127.0.1.10', 3], ['127.0.1.11', 2], ['127.0.1.9', 1], ['127.0.2.5', 1]]);
      assert.ok(changes.includes('127.0.1.10=3'), changes.join(' '));

      // conntrack -D sends DESTROY events: the counts drop at once.
      await ns.run('conntrack', ['-D', '-p', 'tcp', '-s', '127.0.1.10']);
      await settle(watch, oracle);
      assert.is(watch.counts().get('127.0.1.10'), undefined);
      assert.ok(changes.includes('127.0.1.10=0'), changes.join(' '));
      await watch.close();
    } finally {
      await ct.close();
      await peer.exit();
    }
  }));

test('a state filter follows UPDATE events: closed connections leave an ESTABLISHED watch', () =>
  withNetns(async (ns) => {
    await enableConntrack(ns, 7201);
    const peer = await startPeer(ns);
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      await peer.listen(7201, '127.0.0.1');
      const watch = ct.watch({ protocol: 'tcp', dport: 7201, state: 'ESTABLISHED' });
      await watch.ready;
      const conns = await peer.connectMany(3, { host: '127.0.0.1', port: 7201, localAddress: '127.0.3.1' });
      const oracle = () => cliCounts(ns, ['-p', 'tcp', '--orig-port-dst', '7201', '--state', 'ESTABLISHED']);
      await settle(watch, oracle);
      assert.is(watch.counts().get('127.0.3.1'), 3);
      await peer.closeClient(conns[0]?.id as number); // FIN: the entry stays, in TIME_WAIT
      await settle(watch, oracle);
      assert.is(watch.counts().get('127.0.3.1'), 2);
      assert.is((await cliCounts(ns, ['-p', 'tcp', '--orig-port-dst', '7201'])).get('127.0.3.1'), 3, 'conntrack still holds the closed one');
      await watch.close();
    } finally {
      await ct.close();
      await peer.exit();
    }
  }));

test('threshold: above fires at the crossing (threshold + 1), below when the count falls back', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    const watch = ct.watch({ protocol: 'tcp', threshold: 2 });
    const crossings: string[] = [];
    watch.on('above', (c) => crossings.push(`above ${c.key} ${c.count}`));
    watch.on('below', (c) => crossings.push(`below ${c.key} ${c.count}`));
    try {
      await watch.ready;
      for (let port = 1000; port < 1004; port++) {
        await ns.run('conntrack', ['-I', '-p', 'tcp', '-s', '10.0.0.1', '-d', '10.9.0.1', '--sport', String(port), '--dport', '443', '--state', 'ESTABLISHED', '-t', '600']);
      }
      await ns.run('conntrack', ['-I', '-p', 'tcp', '-s', '10.0.0.2', '-d', '10.9.0.1', '--sport', '1000', '--dport', '443', '--state', 'ESTABLISHED', '-t', '600']);
      await settle(watch, () => cliCounts(ns, ['-p', 'tcp']));
      assert.equal(crossings, ['above 10.0.0.1 3']);
      await ns.run('conntrack', ['-D', '-p', 'tcp', '-s', '10.0.0.1', '--orig-port-src', '1000']);
      await ns.run('conntrack', ['-D', '-p', 'tcp', '-s', '10.0.0.1', '--orig-port-src', '1001']);
      await settle(watch, () => cliCounts(ns, ['-p', 'tcp']));
      assert.equal(crossings, ['above 10.0.0.1 3', 'below 10.0.0.1 2']);
    } finally {
      await watch.close();
      await ct.close();
    }
  }));

test('IPv6 keys masked to /64, destination keys, and the async iterator', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    const bySrc = ct.watch({ family: 'ipv6', protocol: 'udp', mask: 64 });
    const byDst = ct.watch({ protocol: 'udp', key: 'destination', mask: 24 });
    try {
      await Promise.all([bySrc.ready, byDst.ready]);
      const batches: WatchBatch[] = [];
      const reading = (async () => {
        for await (const b of bySrc) {
          batches.push(b);
          if ([...bySrc.counts().values()].reduce((a, n) => a + n, 0) === 3) break;
        }
      })();
      const insert = (args: string[]) => ns.run('conntrack', ['-I', '-p', 'udp', ...args, '-t', '600']);
      await insert(['-s', '2001:db8:1::5', '-d', '2001:db8:9::1', '--sport', '5000', '--dport', '53']);
      await insert(['-s', '2001:db8:1::6', '-d', '2001:db8:9::1', '--sport', '5000', '--dport', '53']);
      await insert(['-s', '2001:db8:2::5', '-d', '2001:db8:9::1', '--sport', '5000', '--dport', '53']);
      await insert(['-s', '10.0.0.1', '-d', '10.9.0.1', '--sport', '5000', '--dport', '53']);
      await insert(['-s', '10.0.0.2', '-d', '10.9.0.7', '--sport', '5000', '--dport', '53']);
      await reading;
      assert.equal(sorted(bySrc.counts()), [['2001:db8:1::/64', 2], ['2001:db8:2::/64', 1]]);
      assert.ok(batches.length >= 1);
      assert.ok(batches.some((b) => b.changes.some((c) => c.key === '2001:db8:1::/64')));
      await settle(byDst, async () => new Map([['10.9.0.0/24', 2], ['2001:db8:9::1', 3]]));
    } finally {
      await bySrc.close();
      await byDst.close();
      await ct.close();
    }
  }));

test('watchFor(rule): the rule\'s view live, with its limit as the threshold', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath });
    const ct = await Conntrack.open({ netns: ns.name });
    const rule = '-p tcp --syn --dport 7202 -m connlimit --connlimit-above 2 --connlimit-mask 24 -j REJECT --reject-with tcp-reset';
    try {
      await fw.append('INPUT', rule);
      await peer.listen(7202, '127.0.0.1');
      await peer.listen(7203, '127.0.0.1');
      const watch = ct.watchFor(rule);
      const crossings: string[] = [];
      watch.on('above', (c) => crossings.push(`above ${c.key} ${c.count}`));
      watch.on('below', (c) => crossings.push(`below ${c.key} ${c.count}`));
      await watch.ready;
      assert.is(watch.limit, 2);
      const a = await peer.connectMany(3, { host: '127.0.0.1', port: 7202, localAddress: '127.0.4.1' });
      assert.equal(a.map((x) => x.result), ['ok', 'ok', 'refused']);
      await peer.connectMany(2, { host: '127.0.0.1', port: 7203, localAddress: '127.0.4.2' }); // another port: not the rule's
      await settle(watch, async () => new Map([['127.0.4.0/24', 2]]));
      // The counts equal what countFor sees, and the rule let exactly that many through.
      assert.equal([...(await ct.countFor(rule))].map(([k, v]) => [k, v.count]), [['127.0.4.0/24', 2]]);
      // On loopback the refused SYN's entry exists for a moment (confirmed on the way out,
      // before INPUT refuses it) until the reset moves it to CLOSE, which connlimit skips: the
      // watch sees the client go above the limit and back, as conntrack -E shows.
      assert.equal(crossings, ['above 127.0.4.0/24 3', 'below 127.0.4.0/24 2']);
      await peer.closeClient(a[0]?.id as number); // FIN: TIME_WAIT is not counted by connlimit
      await settle(watch, async () => new Map([['127.0.4.0/24', 1]]));
      await watch.close();
    } finally {
      await ct.close();
      await fw.close();
      await peer.exit();
    }
  }));

test('a forced overrun is reported, then the counts are exact again', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      lines.push(`-I -p tcp -s 10.${(i >> 8) & 255}.${i & 7}.${1 + (i % 200)} -d 10.250.0.1 --sport ${20000 + i} --dport 443 --state ESTABLISHED -t 600`);
    }
    const file = join(tmpdir(), `connlimit-45-burst-${process.pid}.txt`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    // A small buffer and a thread that sleeps through the burst: the kernel must drop events.
    // The stall is long next to the burst (well under a second here) so a loaded machine that
    // is slow to start conntrack(8) still overflows the buffer before the thread wakes. The
    // stall is a test-only option of the addon, so the watch is built as Conntrack.watch builds it.
    const options = normalizeWatchOptions(ct.netns, { protocol: 'tcp', mask: 24, receiveBuffer: 4096 });
    const watch = new ConntrackWatch(ct.netns, { ...options, testStallMs: 5000 });
    const overruns: number[] = [];
    watch.on('overrun', (o) => overruns.push(o.overrunsTotal));
    try {
      await watch.ready;
      await ns.run('conntrack', ['-R', file]);
      const oracle = () => cliCounts(ns, ['-p', 'tcp'], (s) => `${s.split('.').slice(0, 3).join('.')}.0/24`);
      await settle(watch, oracle, 300);
      // counts() is repaired before the batch saying so reaches JS: wait for the event too.
      for (let i = 0; i < 100 && overruns.length === 0; i++) await sleep(50);
      assert.ok(overruns.length >= 1, 'overrun reported');
      assert.ok(watch.stats().overruns >= 1);
      assert.is([...watch.counts().values()].reduce((a, n) => a + n, 0), 3000);
    } finally {
      await watch.close();
      await ct.close();
    }
  }));

test('kernel errors reach ready and the error event; bad options throw before anything starts', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      assert.is(catchError(() => ct.watch({ threshold: 0 })).code, 'ERR_CONNLIMIT_INVALID');
      assert.is(catchError(() => ct.watch({ mask: 33 })).code, 'ERR_CONNLIMIT_INVALID');
      assert.is(catchError(() => ct.watch({ bogus: 1 } as never)).code, 'ERR_CONNLIMIT_INVALID');
      assert.is(catchError(() => ct.watch({ receiveBuffer: 10 })).code, 'ERR_CONNLIMIT_INVALID');
    } finally {
      await ct.close();
    }
    const r = spawnSync('unshare', ['--user', process.execPath, '--import', 'tsx', '-e', `
      const { ConntrackWatch } = require(${JSON.stringify(join(__dirname, '..', 'src', 'conntrack', 'watch.ts'))});
      const { normalizeWatchOptions } = require(${JSON.stringify(join(__dirname, '..', 'src', 'conntrack', 'watch-options.ts'))});
      const w = new ConntrackWatch(${JSON.stringify(ns.path)}, normalizeWatchOptions(${JSON.stringify(ns.path)}, {}));
      let events = 0;
      w.on('error', () => events++);
      w.ready.then(() => console.log('{"code":"none"}'), (e) => { setImmediate(async () => { await w.close(); console.log(JSON.stringify({ code: e.code, events, message: e.message })); }); });
    `], { cwd: join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
    const line = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    assert.is(line.code, 'ERR_CONNLIMIT_PERMISSION', r.stdout + r.stderr);
    assert.is(line.events, 1);
    assert.match(line.message, /CAP_NET_ADMIN/);
  }));

const openFds = () => readdirSync('/proc/self/fd').length;
const threadCount = () => readdirSync('/proc/self/task').length;

test('close() while events flow, 1,000 open/close cycles: fds and threads flat', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    try {
      const flowing = ct.watch({});
      await flowing.ready;
      const file = join(tmpdir(), `connlimit-45-flow-${process.pid}.txt`);
      writeFileSync(file, Array.from({ length: 2000 }, (_, i) => `-I -p udp -s 10.1.${i >> 8}.${i & 255} -d 10.2.0.1 --sport 1 --dport 2 -t 60`).join('\n') + '\n');
      const burst = ns.run('conntrack', ['-R', file]);
      await sleep(20);
      await flowing.close();
      await flowing.close(); // idempotent
      await burst;

      const fds = openFds();
      const threads = threadCount();
      for (let i = 0; i < 1000; i++) {
        const w = ct.watch({ protocol: 'udp' });
        if (i % 2 === 0) await w.ready;
        await w.close();
      }
      assert.is(openFds(), fds);
      assert.is(threadCount(), threads);
    } finally {
      await ct.close();
    }
  }));

test('an unref()ed watch lets the process exit; a watch inside a terminated Worker leaves nothing behind', () =>
  withNetns(async (ns) => {
    const src = join(__dirname, '..', 'src', 'index.ts');
    const child = (code: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
    const unref = child(`
      const { Conntrack } = require(${JSON.stringify(src)});
      (async () => { const ct = await Conntrack.open({ netns: ${JSON.stringify(ns.name)} });
        const w = ct.watch({}); await ct.close(); await w.ready; w.unref(); console.log('waiting'); })();`);
    assert.is(unref.status, 0, unref.stderr);
    assert.is(unref.stdout.trim(), 'waiting');

    const worker = child(`
      const { Worker } = require('node:worker_threads');
      const fs = require('node:fs');
      const before = fs.readdirSync('/proc/self/fd').length;
      const w = new Worker(\`
        require('tsx/cjs');
        const { Conntrack } = require(${JSON.stringify(src)});
        (async () => { const ct = await Conntrack.open({ netns: ${JSON.stringify(ns.name)} });
          const watch = ct.watch({}); await watch.ready; require('node:worker_threads').parentPort.postMessage('ready'); })();\`, { eval: true });
      w.once('message', async () => { await w.terminate(); setTimeout(() => {
        const threads = fs.readdirSync('/proc/self/task').map((t) => { try { return fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim(); } catch { return ''; } });
        console.log(JSON.stringify({ ct: threads.filter((n) => n === 'connlimit-ct').length, fdsBack: fs.readdirSync('/proc/self/fd').length <= before + 2 }));
      }, 200); });`);
    assert.is(worker.status, 0, worker.stderr);
    assert.equal(JSON.parse(worker.stdout.trim().split('\n').pop() ?? '{}'), { ct: 0, fdsBack: true });
  }));

test('count(key) equals counts().get(key) ?? 0, keys by text or by any address inside them; counts() stays exact as keys come, go and are renumbered', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    const by24 = ct.watch({ protocol: 'udp', mask: 24 });
    const by32 = ct.watch({ protocol: 'udp' });
    const file = join(tmpdir(), `connlimit-test-45-count-${process.pid}.ct`);
    const restore = async (sources: string[]) => {
      writeFileSync(file, sources.map((s, i) => `-I -p udp -s ${s} -d ${s.includes(':') ? 'fd00::9' : '10.9.0.1'} --sport ${1024 + (i % 50000)} --dport 53 -t 600\n`).join(''));
      await ns.run('conntrack', ['-R', file]);
    };
    try {
      await Promise.all([by24.ready, by32.ready]);
      await restore(['10.1.2.3', '10.1.2.4', '10.1.2.4', '10.1.3.9', 'fd00::1']);
      await settle(by32, async () => new Map([['10.1.2.3', 1], ['10.1.2.4', 2], ['10.1.3.9', 1], ['fd00::1', 1]]));
      await settle(by24, async () => new Map([['10.1.2.0/24', 3], ['10.1.3.0/24', 1], ['fd00::1', 1]]));
      for (const w of [by24, by32]) for (const [key, n] of w.counts()) assert.is(w.count(key), n, key);
      assert.is(by24.count('10.1.2.200'), 3, 'any address inside the /24');
      assert.is(by24.count('10.7.7.7'), 0);
      assert.is(by32.count('fd00::1'), 1);
      assert.is(by32.count('fd00::1/128'), 1);
      for (const bad of ['10.1.2.0/16', 'nonsense', '10.1.2.0/', '']) assert.is(catchError(() => by24.count(bad)).code, 'ERR_CONNLIMIT_INVALID', bad);
      assert.is(catchError(() => by32.count(7 as unknown as string)).code, 'ERR_CONNLIMIT_INVALID');

      // 5000 keys seen, then gone, then a few new ones: the ids are renumbered, the Map exact.
      const many = Array.from({ length: 5000 }, (_, i) => `10.${50 + (i >> 8)}.${i & 255}.1`);
      await restore(many);
      await settle(by32, async () => new Map([['10.1.2.3', 1], ['10.1.2.4', 2], ['10.1.3.9', 1], ['fd00::1', 1], ...many.map((s) => [s, 1] as [string, number])]));
      await ns.run('conntrack', ['-D', '-p', 'udp']);
      await settle(by32, async () => new Map());
      await restore(['10.1.2.4', '10.200.0.1', '10.200.0.1']);
      await settle(by32, async () => new Map([['10.1.2.4', 1], ['10.200.0.1', 2]]));
      assert.equal([...by32.counts()], [['10.200.0.1', 2], ['10.1.2.4', 1]], 'most first');
      assert.is(by32.count('10.200.0.1'), 2);
      assert.is(by32.count('10.50.0.1'), 0);
    } finally {
      await by24.close();
      await by32.close();
      await ct.close();
    }
  }));

test('counts() hands out one read-only Map until a count changes: no copy from native memory meanwhile, a new Map after, the old one left as it was', () =>
  withNetns(async (ns) => {
    const ct = await Conntrack.open({ netns: ns.name });
    const watch = ct.watch({ protocol: 'udp' });
    const file = join(tmpdir(), `connlimit-test-45-view-${process.pid}.ct`);
    const restore = async (sources: string[], sport: number) => {
      writeFileSync(file, sources.map((s, i) => `-I -p udp -s ${s} -d 10.9.0.1 --sport ${sport + i} --dport 53 -t 600\n`).join(''));
      await ns.run('conntrack', ['-R', file]);
    };
    try {
      await watch.ready;
      await restore(['10.1.2.3', '10.1.2.4', '10.1.2.4'], 2000);
      await settle(watch, async () => new Map([['10.1.2.3', 1], ['10.1.2.4', 2]]));
      // Every copy out of native memory, counted: none while nothing changes.
      const native = (watch as unknown as { native: { counts: () => unknown } }).native;
      const copy = native.counts.bind(native);
      let copies = 0;
      // Defined, not assigned: the addon's methods are read-only properties of its prototype.
      Object.defineProperty(native, 'counts', { value: () => (copies++, copy()) });
      const first = watch.counts();
      for (let i = 0; i < 1000; i++) assert.ok(watch.counts() === first, 'the same Map while no count changed');
      assert.is(copies, 0);
      for (const mutate of [() => (first as Map<string, number>).set('10.1.2.3', 7), () => (first as Map<string, number>).delete('10.1.2.3'), () => (first as Map<string, number>).clear()]) {
        const e = catchError(mutate);
        assert.ok(e instanceof TypeError, String(e));
        assert.match(e.message, 'read-only');
      }
      assert.equal([...watch.counts()], [['10.1.2.4', 2], ['10.1.2.3', 1]], 'unchanged by the refused edits, most first');
      assert.ok(first instanceof Map);
      const mine = new Map(first);
      mine.set('10.1.2.3', 9);
      assert.is(watch.counts().get('10.1.2.3'), 1, 'a copy is the caller\'s own');

      await restore(['10.1.2.3', '10.7.7.7'], 3000);
      await settle(watch, async () => new Map([['10.1.2.3', 2], ['10.1.2.4', 2], ['10.7.7.7', 1]]));
      const second = watch.counts();
      assert.ok(second !== first, 'a new Map once a count changed');
      assert.ok(copies > 0);
      assert.equal(sorted(first), [['10.1.2.3', 1], ['10.1.2.4', 2]], 'the Map handed out before is left as it was');
      for (const [key, n] of second) assert.is(watch.count(key), n, key);
      assert.ok(watch.counts() === second);
    } finally {
      await watch.close();
      await ct.close();
    }
  }));

test.run();
