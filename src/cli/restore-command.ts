// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `connlimit restore [--noflush] [--table T] [FILE]`: iptables-save text from FILE or stdin,
 * checked whole (every table, every line) before any namespace is opened, then restored one
 * table at a time in input order, each in one commit, as iptables-restore commits each table at
 * its COMMIT: when the kernel refuses a later table, the earlier ones stay restored (the error
 * says which).
 */
import { readFile } from 'node:fs/promises';
import { Firewall, type TableName } from '../index';
import { invalid } from '../errors';
import { quote } from '../echo';
import { usageError } from './usage-error';
import { firewallOptions, type Output } from './rule-commands';
import { EXIT } from './exit-codes';
import type { CommonOptions } from './args';

async function readInput(rest: string[]): Promise<string> {
  if (rest.length > 1) usageError('FILE', `restore takes at most one file (else stdin), got ${rest.length} arguments`);
  const file = rest[0];
  // Read as a stream: stdin may be a socket, which open('/dev/stdin') can't reopen (ENXIO).
  if (file === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    return usageError('FILE', `can't read ${quote(file)}: ${(e as Error).message}`);
  }
}

export async function runRestoreCommand(options: CommonOptions, rest: string[]): Promise<Output> {
  const text = await readInput(rest);
  const base = firewallOptions(options);
  const held = Firewall.validateRestore(base, text);
  const tables: TableName[] = options.table === undefined ? held : held.filter((t) => t === options.table);
  if (options.table !== undefined && tables.length === 0) invalid('--table', `the input has no *${options.table} section (it holds ${held.join(', ') || 'no table'})`);
  const done: { table: string; backend: string; chains: number; rules: number }[] = [];
  for (const table of tables) {
    const fw = await Firewall.open({ ...base, table }).catch((e: Error) => Promise.reject(restoredBefore(e, done)));
    try {
      const r = await fw.restore(text, { noflush: options.noflush });
      done.push({ table, backend: fw.backend, chains: r.chains, rules: r.rules });
    } catch (e) {
      throw restoredBefore(e as Error, done);
    } finally {
      await fw.close();
    }
  }
  const lines = done.map((d) => `restored ${d.table} (${d.backend}): ${d.chains} chains, ${d.rules} rules`);
  return { text: lines.join('\n'), json: { ok: true, noflush: options.noflush, tables: done }, exitCode: EXIT.ok };
}

/** The error, saying which tables were restored before it (they stay, as with iptables-restore). */
function restoredBefore(e: Error, done: { table: string }[]): Error {
  if (done.length > 0) e.message += ` (restored before this failure, and left so: ${done.map((d) => d.table).join(', ')})`;
  return e;
}
