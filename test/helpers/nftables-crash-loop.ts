// SPDX-License-Identifier: GPL-2.0-or-later
// SIGKILL a process in the middle of large transactions on the native nftables form (backend
// 'nftables'), again and again (test/72-crash). The victim replaces every rule of our tables
// with generation g+1 (RULES connlimit rules commented gen-<g+1>-<k>, one set each) in one
// transaction per step: a flush, then RULES appends, so the one batch deletes RULES rules and
// sets and adds RULES of each, spread over RULES/500 tables it reuses. It prints each committed
// generation. After each kill `nft list ruleset` in the namespace must show one whole
// generation (the last printed, or the next if the kill came between commit and print) in
// exactly the tables it needs (connlimit, connlimit_1, ... each holding rules, hooked at
// filter + its index), with one set per rule: no extra table, no empty one, no stray set.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Netns } from './netns';
import { bundleLibrary } from './bundle';
import { killRound } from './kill-round';
import { rng } from './fuzz-gen';
import { prioritiesIn } from './nft-priority';

export const RULES = 5000;
const PER_TABLE = 500;

/** The victim's source: reads the current generation, then commits g+1, g+2, ... forever. */
function victimSource(bundle: string, netns: string): string {
  return `
    const { Firewall } = require(${JSON.stringify(bundle)});
    (async () => {
      const fw = await Firewall.open({ netns: ${JSON.stringify(netns)}, backend: 'nftables', lockTimeoutMs: 60000 });
      const first = (await fw.list('INPUT'))[0];
      let g = first ? Number(/gen-(\\d+)-/.exec(first.text)[1]) : 0;
      console.log('ready ' + g);
      for (;;) {
        const next = g + 1;
        await fw.transaction((tx) => {
          tx.flush();
          for (let k = 0; k < ${RULES}; k++) tx.append('INPUT', '-s 10.' + (k >> 8) + '.' + (k & 255) + '.0/24 -p tcp --dport ' + (k + 1) + ' -m connlimit --connlimit-above ' + (k % 100) + ' -m comment --comment gen-' + next + '-' + k + ' -j DROP');
        });
        g = next;
        console.log('committed ' + g);
      }
    })();`;
}

export interface NftablesKillRound {
  round: number;
  delayMs: number;
  lastPrinted: number;
  found: number;
  tables: number;
}

/** The generation the ruleset holds and in how many tables, or what is wrong with it. */
async function observe(ns: Netns): Promise<{ gen: number; tables: number } | { problem: string }> {
  const text = (await ns.run('nft', ['list', 'ruleset'])).stdout;
  if (text.trim() === '') return { gen: 0, tables: 0 };
  const blocks = text.split(/^(?=table )/m).filter((b) => b.trim() !== '');
  const gens = new Map<number, number>();
  const names: string[] = [];
  for (const block of blocks) {
    const name = /^table ip (connlimit(?:_(\d+))?) \{/.exec(block);
    if (!name) return { problem: `a table that is not ours: ${block.split('\n')[0]}` };
    names.push(name[1] as string);
    const index = Number(name[2] ?? 0);
    const rules = [...block.matchAll(/comment "gen-(\d+)-\d+"/g)];
    if (rules.length === 0) return { problem: `table ${name[1]} holds no rule` };
    for (const r of rules) gens.set(Number(r[1]), (gens.get(Number(r[1])) ?? 0) + 1);
    const sets = (block.match(/^\tset connlimit\d+ \{/gm) ?? []).length;
    if (sets !== rules.length) return { problem: `table ${name[1]}: ${sets} sets for ${rules.length} rules` };
    const priorities = prioritiesIn(block);
    if (priorities.length === 0 || priorities.some((p) => p !== index)) return { problem: `table ${name[1]} hooks at ${priorities}` };
  }
  if (gens.size > 1) return { problem: `a mix of generations: ${JSON.stringify([...gens])}` };
  const [[gen, count]] = [...gens] as [[number, number]];
  if (count !== RULES) return { problem: `generation ${gen} has ${count} of ${RULES} rules` };
  const want = Array.from({ length: Math.ceil(RULES / PER_TABLE) }, (_, i) => (i === 0 ? 'connlimit' : `connlimit_${i}`));
  if (JSON.stringify(names) !== JSON.stringify(want)) return { problem: `tables ${names.join(' ')}, expected ${want.join(' ')}` };
  return { gen, tables: names.length };
}

/**
 * `kills` rounds: start the victim, wait a random 0-maxDelayMs after it is ready, SIGKILL it,
 * check the ruleset. Returns the rounds and the problems found.
 */
export async function nftablesCrashLoop(ns: Netns, kills: number, seed = 72, maxDelayMs = 2500): Promise<{ rounds: NftablesKillRound[]; problems: string[]; midCommitKills: number }> {
  const r = rng(seed);
  const bundle = bundleLibrary();
  const rounds: NftablesKillRound[] = [];
  const problems: string[] = [];
  let midCommitKills = 0;
  try {
    for (let round = 0; round < kills; round++) {
      const k = await killRound(victimSource(bundle, ns.name), round, r, maxDelayMs);
      if ('problem' in k) {
        problems.push(k.problem);
        continue;
      }
      const { delayMs, lastPrinted } = k;
      const o = await observe(ns);
      if ('problem' in o) {
        problems.push(`round ${round} (killed after ${delayMs} ms): ${o.problem}`);
        continue;
      }
      if (o.gen !== lastPrinted && o.gen !== lastPrinted + 1) problems.push(`round ${round}: found generation ${o.gen}, last printed ${lastPrinted}`);
      if (o.gen === lastPrinted + 1) midCommitKills++;
      rounds.push({ round, delayMs, lastPrinted, found: o.gen, tables: o.tables });
    }
  } finally {
    rmSync(dirname(bundle), { recursive: true, force: true });
  }
  return { rounds, problems, midCommitKills };
}
