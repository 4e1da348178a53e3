// SPDX-License-Identifier: GPL-2.0-or-later
// SIGKILL a process in the middle of its transactions, again and again (test/72-crash, short;
// scripts/crash-loop.mjs, long). The victim replaces the whole chain GEN with generation g+1
// (RULES rules commented gen-<g+1>-<k>) in one transaction per step and prints each committed
// generation. After each kill the chain must hold one whole generation (the last printed, or
// the one after it if the kill came between commit and print), never a mix, and the xtables
// lock must be free again.
//
// Per backend: legacy commits with one IPT_SO_SET_REPLACE setsockopt under the xtables lock; nft
// commits one netlink batch (BATCH_BEGIN .. BATCH_END) that the kernel applies whole or not at
// all, and a socket closed by the dying process before BATCH_END is abandoned by the kernel. The
// same observation (iptables-nft-save for nft) proves both.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { execResult, type Netns } from './netns';
import { bundleLibrary } from './bundle';
import { killRound } from './kill-round';
import { rng } from './fuzz-gen';
import type { Backend } from '../../src/index';

export const RULES = 300;

/** The victim's source: reads the current generation, then commits g+1, g+2, ... forever. */
function victimSource(bundle: string, netns: string, lockPath: string, backend: Backend): string {
  const index = JSON.stringify(bundle);
  return `
    const { Firewall } = require(${index});
    (async () => {
      const fw = await Firewall.open({ netns: ${JSON.stringify(netns)}, lockPath: ${JSON.stringify(lockPath)}, lockTimeoutMs: 60000, backend: ${JSON.stringify(backend)} });
      const first = (await fw.list('GEN'))[0];
      let g = first ? Number(/gen-(\\d+)-/.exec(first.text)[1]) : 0;
      console.log('ready ' + g);
      for (;;) {
        const next = g + 1;
        await fw.transaction((tx) => {
          tx.flush('GEN');
          for (let k = 0; k < ${RULES}; k++) tx.append('GEN', '-s 10.' + (k >> 8) + '.' + (k & 255) + '.0/24 -p tcp --dport ' + (k + 1) + ' -m connlimit --connlimit-above ' + k + ' -m comment --comment gen-' + next + '-' + k + ' -j DROP');
          tx.setPolicy('FORWARD', next % 2 ? 'DROP' : 'ACCEPT');
        });
        g = next;
        console.log('committed ' + g);
      }
    })();`;
}

export interface KillRound {
  round: number;
  delayMs: number;
  lastPrinted: number;
  found: number;
}

/** The generation the table holds, or a description of what is wrong with it. */
async function observe(ns: Netns, backend: Backend): Promise<{ gen: number } | { problem: string }> {
  const text = (await ns.run(backend === 'nft' ? 'iptables-nft-save' : 'iptables-legacy-save', ['-t', 'filter'])).stdout;
  const gens = new Map<number, number>();
  const lines = text.split('\n').filter((l) => l.startsWith('-A GEN '));
  for (const l of lines) {
    const m = /--comment gen-(\d+)-(\d+) /.exec(l);
    if (!m) return { problem: `a rule without a generation: ${l}` };
    gens.set(Number(m[1]), (gens.get(Number(m[1])) ?? 0) + 1);
  }
  if (gens.size === 0) return { gen: 0 };
  if (gens.size > 1) return { problem: `a mix of generations: ${JSON.stringify([...gens])}` };
  const [[gen, count]] = [...gens] as [[number, number]];
  if (count !== RULES) return { problem: `generation ${gen} has ${count} of ${RULES} rules` };
  // The policy is written in the same transaction: it must agree with the rules.
  const policy = /:FORWARD (\w+)/.exec(text)?.[1];
  if (policy !== (gen % 2 ? 'DROP' : 'ACCEPT')) return { problem: `generation ${gen} with FORWARD policy ${policy}` };
  return { gen };
}

/**
 * `kills` rounds: start the victim, wait a random 0-maxDelayMs after it is ready, SIGKILL it,
 * check the table and the lock. Returns the rounds and the problems found.
 */
export async function crashLoop(ns: Netns, lockPath: string, kills: number, seed = 72, maxDelayMs = 250, backend: Backend = 'legacy'): Promise<{ rounds: KillRound[]; problems: string[]; midCommitKills: number }> {
  const r = rng(seed);
  const bundle = bundleLibrary();
  await ns.run(backend === 'nft' ? 'iptables-nft' : 'iptables-legacy', ['-w', '-N', 'GEN']);
  const rounds: KillRound[] = [];
  const problems: string[] = [];
  let midCommitKills = 0;
  for (let round = 0; round < kills; round++) {
    const k = await killRound(victimSource(bundle, ns.name, lockPath, backend), round, r, maxDelayMs);
    if ('problem' in k) {
      problems.push(k.problem);
      continue;
    }
    const { delayMs, lastPrinted } = k;
    const o = await observe(ns, backend);
    if ('problem' in o) {
      problems.push(`round ${round} (killed after ${delayMs} ms): ${o.problem}`);
      continue;
    }
    if (o.gen !== lastPrinted && o.gen !== lastPrinted + 1) problems.push(`round ${round}: found generation ${o.gen}, last printed ${lastPrinted}`);
    if (o.gen === lastPrinted + 1) midCommitKills++;
    const lock = await execResult('flock', ['-n', lockPath, 'true']);
    if (lock.code !== 0) problems.push(`round ${round}: the xtables lock is still held after the kill`);
    rounds.push({ round, delayMs, lastPrinted, found: o.gen });
  }
  rmSync(dirname(bundle), { recursive: true, force: true });
  return { rounds, problems, midCommitKills };
}
