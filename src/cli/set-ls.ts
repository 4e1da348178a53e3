// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `connlimit set ls NAME`: the header, then each member as sets.entries() yields it (a batch at
 * a time from the kernel), written out in pieces as it comes, so a set of millions is never
 * held whole as list() would hold it. --json is the one document list() gave,
 * { "ok": true, "header": {...}, "entries": [...] }, written the same way.
 */
import { once } from 'node:events';
import { isConnlimitError, type ListedSetEntry, type SetHeaderInfo, type Sets } from '../index';
import { EXIT, exitCodeFor } from './exit-codes';
import { jsonReplacer } from './json-replacer';
import { stdoutGone } from './stdout-gone';

/** Output is written in pieces of about this many characters: few writes, bounded memory. */
const PIECE_CHARS = 64 * 1024;

/** As `ipset list` prints a set's header, up to `Members:`. */
function headerLines(h: SetHeaderInfo): string[] {
  const header = [`family ${h.family === 'ipv4' ? 'inet' : 'inet6'}`, `hashsize ${h.hashsize}`, `maxelem ${h.maxelem}`];
  if (h.timeout !== null) header.push(`timeout ${h.timeout}`);
  if (h.counters) header.push('counters');
  if (h.comment) header.push('comment');
  if (h.bucketsize) header.push(`bucketsize ${h.bucketsize}`);
  return [
    `Name: ${h.name}`,
    `Type: ${h.type}`,
    `Revision: ${h.revision}`,
    `Header: ${header.join(' ')}`,
    `Size in memory: ${h.memsize}`,
    `References: ${h.references}`,
    `Number of entries: ${h.size}`,
    'Members:',
  ];
}

/** A member in `ipset save` syntax, with its timeout, counters and comment. */
function memberLine(e: ListedSetEntry): string {
  let line = e.text;
  if (e.timeout !== undefined) line += ` timeout ${e.timeout}`;
  if (e.nomatch) line += ' nomatch';
  if (e.packets !== undefined) line += ` packets ${e.packets} bytes ${e.bytes ?? 0n}`;
  if (e.comment !== undefined) line += ` comment ${JSON.stringify(e.comment)}`;
  return line;
}

/** Writes `text`, waiting while stdout is full; false once its reader has gone (the listing then stops, an ordinary end). */
async function write(text: string): Promise<boolean> {
  if (process.stdout.write(text)) return true;
  return Promise.race([once(process.stdout, 'drain').then(() => true, () => false), stdoutGone().then(() => false)]);
}

/**
 * Lists set `name` to stdout; the exit code. A failure before the first piece is out (no such
 * set) is thrown as from any command; one after it ends what was written (the JSON document
 * closed with an `error` member, so it still parses) and is reported on stderr.
 */
export async function listSet(sets: Sets, name: string, json: boolean): Promise<number> {
  const header = await sets.header(name);
  let piece = json ? `{"ok":true,"header":${JSON.stringify(header, jsonReplacer)},"entries":[` : `${headerLines(header).join('\n')}\n`;
  let written = false;
  let count = 0;
  try {
    for await (const e of sets.entries(name)) {
      piece += json ? `${count++ === 0 ? '' : ','}${JSON.stringify(e, jsonReplacer)}` : `${memberLine(e)}\n`;
      if (piece.length < PIECE_CHARS) continue;
      written = true;
      if (!(await write(piece))) return EXIT.ok;
      piece = '';
    }
  } catch (e) {
    if (!written) throw e;
    const error = { code: isConnlimitError(e) ? e.code : 'ERR_UNKNOWN', message: (e as Error).message };
    await write(json ? `${piece}],"error":${JSON.stringify(error)}}\n` : piece);
    process.stderr.write(`connlimit: ${error.message} (after ${count} entries)\n`);
    return exitCodeFor(e);
  }
  await write(json ? `${piece}]}\n` : piece);
  return EXIT.ok;
}
