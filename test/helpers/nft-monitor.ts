// SPDX-License-Identifier: GPL-2.0-or-later
// `nft monitor` inside a namespace as the oracle of what a call sent to nf_tables: every
// committed change prints a line. A call is bracketed by two marker tables the test adds itself;
// the lines between the markers are the call's, and none means nothing was committed (no
// `# new generation` line either: the kernel's generation id did not move).
import { spawn } from 'node:child_process';
import type { Netns } from './netns';

export interface NftMonitor {
  /** The lines printed by `work`, between two markers. */
  during(work: () => Promise<unknown>): Promise<string[]>;
  stop(): void;
}

const WAIT_MS = 5_000;

export async function startNftMonitor(ns: Netns): Promise<NftMonitor> {
  const child = spawn('ip', ['netns', 'exec', ns.name, 'nft', 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l.trim() !== ''));
  });
  let n = 0;
  /** Adds a marker table and waits for its line; the index of that line, or -1 when it did not show within `ms`. */
  const mark = async (ms: number): Promise<number> => {
    const name = `marker_${n++}`;
    await ns.run('nft', ['add', 'table', 'inet', name]);
    const deadline = Date.now() + ms;
    for (;;) {
      const i = lines.findIndex((l) => l.includes(`table inet ${name}`));
      if (i >= 0) return i;
      if (Date.now() > deadline) return -1;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  // The subscription starts some time after spawn: markers until one is seen.
  const ready = Date.now() + WAIT_MS;
  while ((await mark(200)) < 0) if (Date.now() > ready) throw new Error('nft monitor printed nothing');
  return {
    async during(work) {
      const start = await mark(WAIT_MS);
      await work();
      const end = await mark(WAIT_MS);
      if (start < 0 || end < 0) throw new Error('nft monitor lost a marker');
      // Each marker's own commit ends with `# new generation N by process P (nft)`: not the call's.
      return lines.slice(start + 1, end).filter((l) => !/^# new generation \d+ by process \d+ \(nft\)$/.test(l));
    },
    stop() {
      child.kill('SIGKILL');
    },
  };
}
