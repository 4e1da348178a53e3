// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the threading contract (docs/threads.md). Kernel work runs in the libuv pool, a
// pool thread never stays in a target namespace, and the addon works inside a Worker.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { withNetns } from './helpers/netns';
import { concurrentCallsComeBack, loopTurnsDuring } from './helpers/threads';

test('after many calls into a namespace, every thread of the process is still in its own', () =>
  withNetns((ns) => concurrentCallsComeBack(ns, 'legacy')));

test('a large transaction runs off the main thread: the event loop turns while it is in flight', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const turns = await loopTurnsDuring(
      fw.transaction((tx) => {
        for (let i = 0; i < 3000; i++) tx.append('INPUT', `-s 10.${i >> 8}.${i & 255}.0/24 -p tcp --dport 22 -m connlimit --connlimit-above 4 -j REJECT`);
      }),
    );
    assert.ok(turns > 0, 'the event loop never turned while the kernel worked');
    assert.is((await fw.list('INPUT')).length, 3000);
    await fw.close();
  }));

/** Each thread's CPUs (`Cpus_allowed_list` of /proc/self/task/TID/status), by thread id. */
function threadCpus(): Map<string, string> {
  const cpus = new Map<string, string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const line = /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'));
      if (line) cpus.set(tid, line[1] as string);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return cpus;
}

test("a big table's replace runs apart from the JavaScript thread's CPU, and every thread gets its CPUs back", () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const before = threadCpus();
    // 2000 rules: past the 1500 from which the replace moves (iptc_table.cc), twice (a
    // transaction, then one append onto the big table).
    await fw.transaction((tx) => {
      for (let i = 0; i < 2000; i++) tx.append('INPUT', `-p tcp --dport ${1024 + i} -j DROP`);
    });
    await fw.append('INPUT', '-p tcp --dport 22 -j ACCEPT');
    const after = threadCpus();
    for (const [tid, cpus] of before) if (after.has(tid)) assert.is(after.get(tid), cpus, `thread ${tid}`);
    for (const [tid, cpus] of after) if (!before.has(tid)) assert.is(cpus, after.get(String(process.pid)), `new thread ${tid}`);
    assert.is((await fw.list('INPUT')).length, 2001);
    await fw.close();
  }));

test("a refused op's message is its own while another namespace's commit runs beside it, over 200 rounds", () =>
  withNetns((a) =>
    withNetns(async (b) => {
      // Own lock files, so the two namespaces' commits run on two pool threads at once. While
      // B's thread walks 5000 rules before its refusal, A's refusals come one after another:
      // libiptc's own strerror named whichever call ran last in the process (iptc_table.cc).
      const locks = mkdtempSync(join(tmpdir(), 'connlimit-locks-'));
      const fwA = await Firewall.open({ backend: 'legacy', netns: a.name, lockPath: join(locks, 'a.lock') });
      const fwB = await Firewall.open({ backend: 'legacy', netns: b.name, lockPath: join(locks, 'b.lock') });
      try {
        const rule = (i: number) => `-s 10.${i >> 8}.${i & 255}.0/24 -p tcp --dport 22 -j DROP`;
        await fwA.createChain('LIMITS');
        await fwB.transaction((tx) => {
          tx.createChain('LIMITS');
          tx.createChain('REF');
          for (let i = 0; i < 5000; i++) tx.append('INPUT', rule(i));
        });
        const message = (p: Promise<unknown>) =>
          p.then(
            () => 'committed',
            (e: Error & { code?: string }) => `${e.code} ${e.message}`,
          );
        const refuseA = () => message(fwA.createChain('LIMITS'));
        // B refuses its second op, after an ensure that finds the chain's last rule.
        const refuseB = () => message(fwB.transaction((tx) => tx.ensure('INPUT', rule(4999)).renameChain('REF', 'LIMITS')));
        const aloneA = await refuseA();
        const aloneB = await refuseB();
        assert.match(aloneA, /^ERR_CONNLIMIT_EXISTS iptc_create_chain \(LIMITS: Chain already exists\)/);
        assert.match(aloneB, /^ERR_CONNLIMIT_EXISTS iptc_rename_chain \(REF: File exists\)/);
        let refusalsOfA = 0;
        for (let round = 0; round < 200; round++) {
          let doneB = false;
          const inB = refuseB().finally(() => (doneB = true));
          do {
            assert.is(await refuseA(), aloneA, `round ${round}, namespace A`);
            refusalsOfA++;
          } while (!doneB);
          assert.is(await inB, aloneB, `round ${round}, namespace B`);
        }
        // Each round's first refusal in A starts while B's call is in flight; more than one a
        // round on average means A's refusals kept landing during B's scan (~700 on a quiet VM).
        assert.ok(refusalsOfA > 400, `only ${refusalsOfA} refusals in A over 200 rounds`);
      } finally {
        await fwA.close();
        await fwB.close();
        rmSync(locks, { recursive: true, force: true });
      }
    }),
  ));

test('the addon loads and works inside a Worker, which can be terminated mid-operation', () =>
  withNetns(async (ns) => {
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      require('tsx/cjs');
      const { Firewall } = require(workerData.index);
      (async () => {
        const fw = await Firewall.open({ backend: 'legacy', netns: workerData.netns });
        await fw.append('INPUT', '-p tcp --dport 4242 -m connlimit --connlimit-above 3 -j DROP');
        parentPort.postMessage((await fw.list('INPUT')).map((r) => r.text));
        // Keep working until terminated.
        for (;;) await fw.list();
      })();
    `;
    const worker = new Worker(source, { eval: true, workerData: { index: join(__dirname, '..', 'src', 'index.ts'), netns: ns.name } });
    const texts = await new Promise<string[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.equal(texts, ['-A INPUT -p tcp -m tcp --dport 4242 -m connlimit --connlimit-above 3 --connlimit-mask 32 --connlimit-saddr -j DROP']);
    await new Promise((r) => setTimeout(r, 50));
    const code = await worker.terminate();
    assert.is(code, 1);
    // The process goes on; the table is intact.
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    assert.is((await fw.list('INPUT')).length, 1);
    await fw.close();
  }));

test.run();
