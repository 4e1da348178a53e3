// SPDX-License-Identifier: GPL-2.0-or-later
// The threading contract (docs/threads.md) as both backends' tests check it (32 and 52): pool
// threads come back from the target namespace, and long kernel work leaves the event loop free.
import { readdirSync, readlinkSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { Firewall, type Backend } from '../../src/index';
import type { Netns } from './netns';

/** The network namespace of every thread of this process. */
export function threadNamespaces(): Set<string> {
  const out = new Set<string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.add(readlinkSync(`/proc/self/task/${tid}/ns/net`));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * 30 appends on each family's filter table and 30 listings of raw, all at once, so several pool
 * threads are in the namespace together; then every thread is back in the process's own
 * namespace and every append landed.
 */
export async function concurrentCallsComeBack(ns: Netns, backend: Backend): Promise<void> {
  const own = readlinkSync('/proc/self/ns/net');
  const fw = await Firewall.open({ backend, netns: ns.name });
  const fw6 = await Firewall.open({ backend, family: 'ipv6', netns: ns.name });
  const raw = await Firewall.open({ backend, table: 'raw', netns: ns.name });
  await Promise.all(
    Array.from({ length: 30 }, (_, i) => [
      fw.append('INPUT', `-p tcp --dport ${1000 + i} -j DROP`),
      fw6.append('INPUT', `-p tcp --dport ${1000 + i} -j DROP`),
      raw.list(),
    ]).flat(),
  );
  assert.equal([...threadNamespaces()], [own]);
  assert.is((await fw.list('INPUT')).length, 30);
  assert.is((await fw6.list('INPUT')).length, 30);
  await Promise.all([fw.close(), fw6.close(), raw.close()]);
}

/** How many times the event loop turned while `work` was in flight: none means it blocked. */
export async function loopTurnsDuring(work: Promise<unknown>): Promise<number> {
  let turns = 0;
  let inFlight = true;
  const spin = () => {
    if (!inFlight) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    await work;
  } finally {
    inFlight = false;
  }
  return turns;
}
