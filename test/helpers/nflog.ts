// SPDX-License-Identifier: GPL-2.0-or-later
// An nfnetlink_log listener inside a namespace, the oracle of what NFLOG handed to userspace:
// test/helpers/nflog-listen.py binds the group and prints one line per packet (prefix, packet
// mark, payload bytes copied).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Netns } from './netns';

export interface NflogPacket {
  prefix: string;
  mark: number;
  /** Bytes of the packet copied (the rule's --nflog-size, or all of it). */
  bytes: number;
}

export interface NflogListener {
  /** Resolves with the packets logged so far once there are at least `n`; rejects after `ms`. */
  waitFor(n: number, ms?: number): Promise<NflogPacket[]>;
  stop(): void;
}

const READY_MS = 10_000;

export async function startNflogListener(ns: Netns, group: number): Promise<NflogListener> {
  const child = spawn('ip', ['netns', 'exec', ns.name, 'python3', join(__dirname, 'nflog-listen.py'), String(group)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const packets: NflogPacket[] = [];
  let ready = false;
  let partial = '';
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr += c));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') ready = true;
      const [prefix, mark, bytes] = line.split('\t');
      if (bytes !== undefined) packets.push({ prefix: prefix!, mark: Number(mark), bytes: Number(bytes) });
    }
  });
  const until = async (done: () => boolean, ms: number, what: string): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nflog listener: ${what} (${stderr.trim() || `exit ${child.exitCode}`})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until(() => ready, READY_MS, 'never bound its group');
  return {
    async waitFor(n, ms = 5_000) {
      await until(() => packets.length >= n, ms, `${packets.length} of ${n} packets`);
      return [...packets];
    },
    stop() {
      child.kill('SIGKILL');
    },
  };
}
