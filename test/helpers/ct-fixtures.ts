// SPDX-License-Identifier: GPL-2.0-or-later
// Reader for the ctnetlink reply fixtures written by scripts/capture-ct-replies.sh: header
// lines (`# command:`, `# out:` = the CLI's stdout for the same bytes), then `recv N` blocks
// of hex, one per recvmsg() the CLI made. Reading them touches no kernel.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface CtFixture {
  command: string;
  /** What the CLI printed from these very bytes. */
  out: string[];
  /** One Buffer per recvmsg(), as the kernel sent it. */
  recvs: Buffer[];
}

export function readCtFixture(name: string): CtFixture {
  const text = readFileSync(resolve(__dirname, '..', 'fixtures', 'ct', `${name}.hex`), 'utf8');
  const fx: CtFixture = { command: '', out: [], recvs: [] };
  let hex: string[] | null = null;
  const flush = () => {
    if (hex) fx.recvs.push(Buffer.from(hex.join(''), 'hex'));
    hex = null;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('# command: ')) fx.command = line.slice(11);
    else if (line.startsWith('# out: ')) fx.out.push(line.slice(7));
    else if (line.startsWith('recv ')) {
      flush();
      hex = [];
    } else if (hex && /^[0-9a-f]+$/.test(line)) hex.push(line);
  }
  flush();
  return fx;
}

/** `key=value` fields of one `conntrack -L` line, first and second (reply) occurrence apart. */
export function parseCliLine(line: string): { proto: string; timeout: number; state: string | null; orig: Record<string, string>; reply: Record<string, string>; flags: string[]; rest: Record<string, string> } {
  const words = line.trim().split(/\s+/);
  const proto = words[0]!;
  const timeout = Number(words[2]);
  let i = 3;
  let state: string | null = null;
  if (/^[A-Z_]+[0-9]?$/.test(words[3]!)) {
    state = words[3]!;
    i = 4;
  }
  const orig: Record<string, string> = {};
  const reply: Record<string, string> = {};
  const rest: Record<string, string> = {};
  const flags: string[] = [];
  let target = orig;
  let tail = false; // past the tuples: id= is the entry's id, not an ICMP id
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('[')) {
      flags.push(w.slice(1, -1));
      continue;
    }
    const [k, v] = w.split('=') as [string, string];
    if (k === 'src' && 'src' in orig) target = reply;
    if (['mark', 'use', 'zone', 'secctx'].includes(k)) tail = true;
    if (tail) rest[k] = v;
    else target[k] = v;
  }
  return { proto, timeout, state, orig, reply, flags, rest };
}
