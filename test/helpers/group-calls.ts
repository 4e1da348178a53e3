// SPDX-License-Identifier: GPL-2.0-or-later
// What the group-commit tests (55: calls on one handle; 68: calls spread over several handles)
// share: a fixed mix of calls, how a call's outcome is written down, and a count of the commits
// made while some work runs.
import { createHook } from 'node:async_hooks';
import type { Firewall } from '../../src/index';

export type Call = (fw: Firewall) => Promise<unknown>;

/** `count` calls of mixed kinds from a fixed pseudo-random sequence (an LCG), the same on every run. */
export function mixedCalls(count: number): Call[] {
  let seed = 39;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const rule = () => `-p tcp --dport ${1 + next(150)} -j DROP`;
  const out: Call[] = [];
  // Every argument is drawn here, not inside the call, so both runs make the same calls.
  for (let i = 0; i < count; i++) {
    const kind = next(100);
    const r = rule();
    const at = 1 + next(80); // in range or past the end
    const chain = `C${next(20)}`;
    if (kind < 30) out.push((fw) => fw.append('INPUT', r));
    else if (kind < 45) out.push((fw) => fw.delete('INPUT', r)); // present or missing
    else if (kind < 55) out.push((fw) => fw.insert('INPUT', at, r));
    else if (kind < 62) out.push((fw) => fw.delete('INPUT', at));
    else if (kind < 70) out.push((fw) => fw.ensure('LIMITS', r));
    else if (kind < 75) out.push((fw) => fw.createChain('LIMITS')); // exists: fails
    else if (kind < 78) out.push((fw) => fw.createChain(chain)); // the first create of a name succeeds
    else if (kind < 82) out.push((fw) => fw.append(chain, r)); // a chain that may not exist yet
    else if (kind < 86) out.push((fw) => fw.replace('INPUT', at, r));
    else if (kind < 90) out.push((fw) => fw.check('INPUT', r));
    else if (kind < 92) out.push(async (fw) => (await fw.list('INPUT')).map((x) => x.text));
    else out.push((fw) => fw.append('LIMITS', r));
  }
  return out;
}

/** The table the mixed calls start from: chain LIMITS and 40 rules in INPUT. */
export async function seedTable(fw: Firewall): Promise<void> {
  await fw.transaction((tx) => {
    tx.createChain('LIMITS');
    for (let i = 0; i < 40; i++) tx.append('INPUT', `-p tcp --dport ${1 + ((i * 7) % 150)} -j DROP`);
  });
}

/** What a call gave: its result, or its error's code, errno and message. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    return `ok ${JSON.stringify(await p)}`;
  } catch (e) {
    const err = e as { code?: string; errno?: string; message: string };
    return `${err.code} ${err.errno ?? ''} ${err.message}`;
  }
}

/** Counts the commits (pool workers named `<prefix>commit`) started while `work` runs. */
export async function countCommits<T>(work: () => Promise<T>): Promise<{ value: T; commits: number }> {
  let commits = 0;
  const hook = createHook({
    init(_id, type) {
      if (/^connlimit:(nft-)?commit$/.test(type)) commits++;
    },
  }).enable();
  try {
    return { value: await work(), commits };
  } finally {
    hook.disable();
  }
}
