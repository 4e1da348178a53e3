// SPDX-License-Identifier: GPL-2.0-or-later
// One round of a crash loop (crash-loop.ts, nftables-crash-loop.ts): start a victim that prints
// `ready G` and then `committed G` after each commit, SIGKILL it at a random moment, and say
// which generation it printed last. The caller then checks what the kernel holds.
import { spawn } from 'node:child_process';
import { bundleEnv } from './bundle';

export type KillOutcome = { delayMs: number; lastPrinted: number } | { problem: string };

/**
 * Runs `source` (node -e), waits until it is ready, then 0-maxDelayMs (drawn from `random`)
 * and kills it. Every third round first waits for one commit (bounded), so the victims make
 * progress however loaded the machine is and the last generation proves they did; the other
 * rounds kill at any moment, before the first commit included.
 */
export async function killRound(source: string, round: number, random: () => number, maxDelayMs: number): Promise<KillOutcome> {
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'pipe'], env: bundleEnv() });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let onCommitted: () => void = () => {};
  const committed = new Promise<void>((resolve) => (onCommitted = resolve));
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
      if (out.includes('committed')) onCommitted();
    });
    void exited.then(() => resolve());
  });
  await ready;
  if (round % 3 === 0) await Promise.race([committed, exited, new Promise((res) => setTimeout(res, 120_000).unref())]);
  const delayMs = Math.floor(random() * maxDelayMs);
  await new Promise((res) => setTimeout(res, delayMs));
  child.kill('SIGKILL');
  await exited;
  if (!out.includes('ready')) return { problem: `round ${round}: the victim died before it was ready: ${err.slice(0, 500)}` };
  const printed = [...out.matchAll(/(?:ready|committed) (\d+)/g)].map((m) => Number(m[1]));
  return { delayMs, lastPrinted: printed[printed.length - 1] ?? 0 };
}
