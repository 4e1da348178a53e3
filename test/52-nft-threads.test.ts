// SPDX-License-Identifier: GPL-2.0-or-later
// The threading contract (docs/threads.md) on the nf_tables backend: pool threads come back
// from the target namespace, and a large transaction (one batch) runs off the main thread.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { withNetns } from './helpers/netns';
import { concurrentCallsComeBack, loopTurnsDuring } from './helpers/threads';

test('after many concurrent nft calls into a namespace, every thread is back in its own', () =>
  withNetns((ns) => concurrentCallsComeBack(ns, 'nft')));

test('a 10k-rule nft transaction is one batch, off the main thread, and lists back whole', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'nft', netns: ns.name });
    const t0 = Date.now();
    const turns = await loopTurnsDuring(
      fw.transaction((tx) => {
        for (let i = 0; i < 10000; i++) tx.append('INPUT', `-s 10.${i >> 8}.${i & 255}.0/24 -p tcp --dport 22 -m connlimit --connlimit-above 4 -j REJECT`);
      }),
    );
    const ms = Date.now() - t0;
    assert.ok(turns > 5, `event loop turned ${turns} times in ${ms} ms`);
    assert.is((await fw.list('INPUT')).length, 10000);
    const saved = (await ns.run('iptables-nft-save')).stdout.split('\n').filter((l) => l.startsWith('-A INPUT'));
    assert.is(saved.length, 10000);
    // Too many rules to be echoed back: the next delete by spec reads the chain once.
    assert.is(await fw.delete('INPUT', '-s 10.39.15.0/24 -p tcp --dport 22 -m connlimit --connlimit-above 4 -j REJECT'), 10000);
    // A flush of them all is one message: nothing asks the kernel to echo each deleted rule
    // (that would overflow the socket's receive buffer), and the handle works on after it.
    await fw.flush('INPUT');
    await fw.append('INPUT', '-p tcp --dport 22 -j ACCEPT');
    assert.is((await fw.list('INPUT')).length, 1);
    await fw.close();
  }));

test.run();
