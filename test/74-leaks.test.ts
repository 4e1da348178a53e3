// SPDX-License-Identifier: GPL-2.0-or-later
// Reliability: append/delete cycles (with error paths and listings) leave no file descriptor
// and no thread behind, on both backends (nf_tables: each handle keeps one socket open). The long form, 100,000 cycles with RSS, is scripts/leak-check.mjs;
// RSS is reported there, not asserted here (it is a measurement, not a pass/fail on a shared box).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Firewall, Sets } from '../src/index';
import { fdCount, leakCycles, threadCount } from './helpers/leak-cycles';
import { withNetns } from './helpers/netns';

test('2,000 append/delete cycles: the fd count and the thread count end where they began', () =>
  withNetns(async (ns) => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-leak-'));
    try {
      const lockPath = join(dir, 'xtables.lock');
      // Warm up: the libuv pool and the addon start lazily.
      const warm = await Firewall.open({ netns: ns.name, lockPath, backend: 'legacy' });
      await Promise.all([warm.append('INPUT', '-j ACCEPT'), warm.list(), warm.list(), warm.list()]);
      await warm.flush();
      await warm.close();
      const fds = fdCount();
      const threads = threadCount();
      const r = await leakCycles(ns.name, lockPath, 2000, 500);
      assert.equal(r.errors, []);
      console.log(`  samples: ${r.samples.map((s) => `${s.cycle}:${s.fds}fd/${s.threads}thr/${s.rssMiB}MiB`).join(' ')}`);
      // An open handle holds the namespace's fd; nothing may grow with use. A slack of 2 absorbs
      // fds node itself opens and closes lazily; a leak per cycle would show thousands.
      const first = r.samples[0]?.fds ?? 0;
      for (const s of r.samples) assert.ok(Math.abs(s.fds - first) <= 2, `fds at cycle ${s.cycle}: ${s.fds}, at 0: ${first}`);
      assert.ok(fdCount() <= fds + 2, `fds: ${fdCount()} after, ${fds} before`);
      assert.is(threadCount(), threads, 'a thread leaked');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test('nft: 600 append/delete cycles on one handle (its socket reused, its cache made stale by another handle every 10th): fds and threads flat', () =>
  withNetns(async (ns) => {
    const warm = await Firewall.open({ netns: ns.name, backend: 'nft' });
    await Promise.all([warm.append('INPUT', '-j ACCEPT'), warm.list(), warm.list(), warm.list()]);
    await warm.flush();
    await warm.close();
    const fds = fdCount();
    const threads = threadCount();
    // nf_tables takes no xtables lock: the path is never opened.
    const r = await leakCycles(ns.name, join(tmpdir(), 'cl-leak-nft-unused.lock'), 600, 150, undefined, 'nft');
    assert.equal(r.errors, []);
    console.log(`  samples: ${r.samples.map((s) => `${s.cycle}:${s.fds}fd/${s.threads}thr/${s.rssMiB}MiB`).join(' ')}`);
    // Fewer cycles than legacy: each append after a delete waits for the kernel's deferred
    // destruction of the deleted rule (nft_compat), about 15 ms here. Two open handles: two
    // sockets (and namespace fds) for the whole run, never more.
    const first = r.samples[0]?.fds ?? 0;
    for (const s of r.samples) assert.ok(Math.abs(s.fds - first) <= 2, `fds at cycle ${s.cycle}: ${s.fds}, at 0: ${first}`);
    assert.ok(fdCount() <= fds + 2, `fds: ${fdCount()} after, ${fds} before`);
    assert.is(threadCount(), threads, 'a thread leaked');
  }));

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: 1,000 Firewall open/close cycles, some closed with calls in flight: no fd left`, () =>
    withNetns(async (ns) => {
      const before = fdCount();
      for (let i = 0; i < 1000; i++) {
        const fw = await Firewall.open({ netns: ns.name, family: i % 2 ? 'ipv6' : 'ipv4', backend });
        // In flight at close(): the nf_tables socket closes when the last call ends.
        const pending = i % 3 === 0 ? fw.list() : null;
        await fw.close();
        if (pending) await pending;
      }
      assert.ok(fdCount() <= before + 2, `fds: ${fdCount()} after, ${before} before`);
    }));
}

// A handle that runs its calls on a thread of its own (docs/threads.md, "A handle's own
// thread"): closed, with calls in flight or not, or dropped without close() and collected, it
// leaves no thread and no fd behind.
test('sets (both backends) and nftables handles: 300 opened and used, closed (some with calls in flight) or dropped: threads and fds end where they began', () =>
  withNetns(async (ns) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const use = async (i: number) => {
      const sets = await Sets.open({ netns: ns.name, backend: i % 3 === 1 ? 'nftables' : 'legacy', family: 'ipv4' });
      await sets.ensure('w', { type: 'hash:ip' });
      await Promise.all([sets.add('w', `10.1.${i >> 8}.${i & 255}`), sets.test('w', '10.0.0.1')]);
      const fw = await Firewall.open({ netns: ns.name, backend: 'nftables', family: 'ipv4' });
      await fw.append('INPUT', `-p udp --dport ${1 + i} -j DROP`);
      await fw.delete('INPUT', `-p udp --dport ${1 + i} -j DROP`);
      if (i % 4 === 3) return; // dropped: the finalizers stop the threads once collected
      // A call not yet started when close() comes is refused as closed; one in flight finishes.
      const pending = (i % 4 === 1 ? [sets.test('w', '10.0.0.1'), fw.list()] : []).map((p) => p.then(() => 'ok', (e: { code?: string }) => e.code));
      await Promise.all([sets.close(), fw.close()]);
      for (const outcome of await Promise.all(pending)) assert.ok(outcome === 'ok' || outcome === 'ERR_CONNLIMIT_CLOSED', String(outcome));
    };
    // The thread of a closed handle is joined on a loop turn after close(): wait until the
    // count stops moving (bounded) before taking it.
    const settled = async () => {
      const end = Date.now() + 20_000;
      for (let last = -1, same = 0; same < 3 && Date.now() < end; ) {
        gc();
        await new Promise((r) => setTimeout(r, 50));
        const n = threadCount();
        same = n === last ? same + 1 : 0;
        last = n;
      }
    };
    await use(0);
    await settled();
    const fds = fdCount();
    const threads = threadCount();
    for (let i = 1; i <= 300; i++) await use(i);
    // Bounded: the threads of collected handles end on the loop turns after the collection.
    const end = Date.now() + 20_000;
    while ((threadCount() > threads || fdCount() > fds + 2) && Date.now() < end) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.is(threadCount(), threads, 'a thread leaked');
    assert.ok(fdCount() <= fds + 2, `fds: ${fdCount()} after, ${fds} before`);
  }));

test.run();
