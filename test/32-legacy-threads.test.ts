// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: the threading contract (docs/threads.md). Kernel work runs in the libuv pool, a
// pool thread never stays in a target namespace, and the addon works inside a Worker.
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
