// SPDX-License-Identifier: GPL-2.0-or-later
// Reliability: the addon loaded in 4 worker_threads at once, all doing rule work on one
// namespace (appends, deletes, transactions, listings), terminated mid-operation at random
// moments, three rounds on the legacy backend and two on nf_tables. The process survives, no
// worker thread and no fd stays behind, no thread is left inside the namespace, the lock is
// free, and the table is still whole and writable. Each worker also runs conntrack dumps and a live watch while entries are being
// inserted, so a watch thread is mid-event when its Worker goes: none may outlive it.
// Then 80 Workers calling every constructor and method of the addon in a tight loop, each
// terminated at a random moment: terminate() lands inside an addon call (see TIGHT_SOURCE).
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { rng } from './helpers/fuzz-gen';
import { fdCount, threadCount } from './helpers/leak-cycles';
import { execResult, withNetns } from './helpers/netns';

const SOURCE = `
  const { parentPort, workerData } = require('node:worker_threads');
  require('tsx/cjs');
  const { Conntrack, Firewall } = require(workerData.index);
  (async () => {
    const fw = await Firewall.open({ netns: workerData.netns, lockPath: workerData.lockPath, lockTimeoutMs: 60000, backend: workerData.backend });
    const ct = await Conntrack.open({ netns: workerData.netns });
    const watch = ct.watch({ key: 'source', mask: 24 });
    await watch.ready;
    parentPort.postMessage('ready');
    for (let i = 0; ; i++) {
      const rule = '-p tcp --dport ' + (1 + (i % 60000)) + ' -m connlimit --connlimit-above 2 -m comment --comment w' + workerData.id + '-' + i + ' -j DROP';
      await fw.append('INPUT', rule);
      await fw.transaction((tx) => { for (let k = 0; k < 50; k++) tx.append('FORWARD', '-s 10.' + workerData.id + '.' + k + '.0/24 -j DROP'); tx.flush('FORWARD'); });
      await fw.list();
      await ct.countBy({ key: 'source', mask: 24 });
      await fw.delete('INPUT', rule);
    }
  })();
`;

// terminate() marks the Worker's environment as stopping at once, from the parent thread, while
// the Worker's JS keeps running until V8 notices: an addon call in that window finds every
// Node-API call that may run JS failing, including node-addon-api's own napi_wrap (constructors)
// and napi_unwrap (methods) before our code runs. Its rethrow aborted the whole process
// ("terminate called after throwing an instance of 'Napi::Error'"; the first test of this file,
// about 1 run in 60 under load). The raw binding in a tight loop keeps the Worker inside an addon
// call nearly all the time, with kernel calls of every kind in flight: without the fix the
// abort came within about 5 terminations (16 at most in 8 runs).
const TIGHT_SOURCE = `
  const { parentPort, workerData } = require('node:worker_threads');
  require('tsx/cjs');
  const b = require(workerData.binding).binding();
  const { netnsPath, lockPath } = workerData;
  const ignore = () => {};
  // A packed batch of no ops (src/op-pack.ts: version 2, family 4).
  const EMPTY_BATCH = new Uint8Array([2, 4]);
  const filter = { family: 0, protocol: -1, invertProtocol: false, src: null, dst: null, sport: null, dport: null, tcpStates: 0, tcpStatesExcluded: 0, mark: null, zone: null, status: null };
  const nft = (family) => ({ family, table: 'filter', netnsPath, lockTimeoutMs: 60000 });
  (async () => {
    const watch = new b.ConntrackWatch({ netns: netnsPath, filter, key: 'source', mask4: 24, mask6: 64, threshold: 0, updates: false, receiveBuffer: 0, reconcileMs: 0 }, ignore);
    // A keeper's ruleset watch (its own thread and socket) goes with the Worker too.
    new b.RulesetWatch({ netns: netnsPath, family: 'ipv4', table: 'filter', tablePrefix: false }, ignore);
    const ct = new b.Conntrack({ netnsPath });
    const tables = [new b.LegacyTable({ ...nft('ipv4'), lockPath }), new b.IptablesNftTable(nft('ipv4')), new b.NftablesTable({ family: 'ipv4', netnsPath, lockTimeoutMs: 60000 })];
    // Set handles run their calls on a thread of their own, ended with the Worker.
    const setHandles = [new b.IpsetHandle({ netnsPath }), new b.NftablesSetHandle({ netnsPath, family: 'ipv4' })];
    await Promise.all([ct.open(), ...tables.map((t) => t.open()), ...setHandles.map((s) => s.open())]);
    parentPort.postMessage('ready');
    for (;;) {
      for (const t of tables) {
        t.list().catch(ignore);
        t.commit(EMPTY_BATCH).catch(ignore);
        t.version().catch(ignore);
      }
      for (const s of setHandles) {
        s.names().catch(ignore);
        s.header('absent', false).catch(ignore);
      }
      ct.count().catch(ignore);
      ct.countBy(filter, 'source', 24, 64, 0).catch(ignore);
      new b.ConntrackList(ct, filter, 64).next().catch(ignore);
      for (let k = 0; k < 300; k++) {
        const closed = new b.IptablesNftTable(nft('ipv6'));
        closed.close();
        closed.list().catch(ignore);
        new b.Conntrack({ netnsPath }).count().catch(ignore);
        watch.counts();
        watch.stats();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
`;

function settle<T>(read: () => T, target: T, ms: number): Promise<T> {
  // Worker threads end asynchronously after terminate() resolves; wait (bounded) for the count.
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = () => {
      const v = read();
      if (v === target || Date.now() - t0 > ms) resolve(v);
      else setTimeout(tick, 20);
    };
    tick();
  });
}

// nf_tables: each Worker's handle holds a socket, closed by the handle's finalizer when the
// Worker's environment goes (or when its last call in flight ends); two rounds keep it short.
for (const [backend, rounds] of [['legacy', 3], ['nft', 2]] as const) {
  test(`${backend}: 4 Workers doing rule and conntrack work with a watch running, terminated mid-operation, ${rounds} rounds: no crash, no leaked thread or fd, the table whole`, () =>
    withNetns(async (ns) => {
      const dir = mkdtempSync(join(tmpdir(), 'cl-workers-'));
      const own = readlinkSync('/proc/self/ns/net');
      try {
        const lockPath = join(dir, 'xtables.lock');
        const index = join(__dirname, '..', 'src', 'index.ts');
        const r = rng(75);
        // Warm the pool and the addon in this thread first, so the baseline includes them.
        const fw = await Firewall.open({ netns: ns.name, lockPath, backend });
        await Promise.all([fw.list(), fw.list(), fw.list(), fw.list()]);
        const fds = fdCount();
        const threads = threadCount();
        const exitCodes: number[] = [];
        for (let round = 0; round < rounds; round++) {
          const workers = Array.from({ length: 4 }, (_, id) => new Worker(SOURCE, { eval: true, workerData: { index, netns: ns.name, lockPath, id: round * 4 + id, backend } }));
          const errors: unknown[] = [];
          for (const w of workers) w.on('error', (e) => errors.push(e));
          await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
          // Conntrack events for the watches while the workers are being terminated.
          const entries = join(dir, `entries-${round}`);
          writeFileSync(entries, Array.from({ length: 1500 }, (_, i) => `-I -p udp -s 10.${round}.${i >> 8}.${i & 255} -d 10.250.0.1 --sport ${1000 + i} --dport 53 -t 60`).join('\n') + '\n');
          const inserting = execResult('ip', ['netns', 'exec', ns.name, 'conntrack', '-R', entries]);
          // Each keeps working until terminated at its own random moment.
          exitCodes.push(...(await Promise.all(workers.map((w) => new Promise<number>((resolve) => setTimeout(() => resolve(w.terminate()), 20 + Math.floor(r() * 300)))))));
          assert.equal(errors, [], 'a worker failed before it was terminated');
          assert.is((await inserting).code, 0);
        }
        assert.equal(exitCodes, Array(rounds * 4).fill(1), 'terminate() ended each worker');
        assert.is(await settle(threadCount, threads, 10_000), threads, 'a thread outlived its Worker');
        assert.ok((await settle(fdCount, fds, 10_000)) <= fds + 2, `fds: ${fdCount()} now, ${fds} before`);
        // No thread of this process is left inside the namespace.
        for (const tid of readdirSync('/proc/self/task')) {
          try {
            assert.is(readlinkSync(`/proc/self/task/${tid}/ns/net`), own, `thread ${tid} is in another namespace`);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
        }
        // The lock is free, the table consistent (the CLI reads it) and still ours to write.
        assert.is((await execResult('flock', ['-n', lockPath, 'true'])).code, 0, 'the lock is held');
        await ns.run(backend === 'nft' ? 'iptables-nft-save' : 'iptables-legacy-save');
        await fw.flush();
        await fw.append('INPUT', '-p tcp --dport 1 -j DROP');
        assert.is((await fw.list()).length, 1);
        await fw.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));
}

test('every addon constructor and method running when terminate() lands, 80 Workers with kernel calls in flight: no crash, no leaked thread or fd', () =>
  withNetns(async (ns) => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-workers-'));
    try {
      const lockPath = join(dir, 'xtables.lock');
      const r = rng(7580);
      // Warm the pool and the addon in this thread first, so the baseline includes them.
      const fw = await Firewall.open({ netns: ns.name, lockPath, backend: 'legacy' });
      await Promise.all([fw.list(), fw.list(), fw.list(), fw.list()]);
      await fw.close();
      const fds = fdCount();
      const threads = threadCount();
      const exitCodes: number[] = [];
      for (let i = 0; i < 80; i++) {
        const w = new Worker(TIGHT_SOURCE, { eval: true, workerData: { binding: join(__dirname, '..', 'src', 'binding.ts'), netnsPath: ns.path, lockPath } });
        const errors: unknown[] = [];
        w.on('error', (e) => errors.push(e));
        await new Promise((resolve) => w.once('message', resolve));
        await new Promise((resolve) => setTimeout(resolve, Math.floor(r() * 20)));
        exitCodes.push(await w.terminate());
        assert.equal(errors, [], `worker ${i} failed before it was terminated`);
      }
      assert.equal(exitCodes, Array(80).fill(1), 'terminate() ended each worker');
      assert.is(await settle(threadCount, threads, 10_000), threads, 'a thread outlived its Worker');
      assert.ok((await settle(fdCount, fds, 10_000)) <= fds + 2, `fds: ${fdCount()} now, ${fds} before`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test.run();
