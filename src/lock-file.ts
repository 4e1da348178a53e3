// SPDX-License-Identifier: GPL-2.0-or-later
/** The `lockPath` option, looked at when a Firewall opens. */
import { stat } from 'node:fs/promises';
import { invalid } from './errors';

function kindOf(s: { isFIFO(): boolean; isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Refuse a lock path that names something other than a regular file, on every backend (with
 * 'auto' any handle may turn out legacy). stat(2) in the libuv pool opens nothing, so a FIFO
 * cannot hang it; a missing file is fine (the first legacy write creates it), and other stat
 * failures are left to that write, which reports them with the lock's own hint. The native
 * lock checks again at each write, for a file swapped in later.
 * @internal
 */
export async function checkLockFile(lockPath: string): Promise<void> {
  let s;
  try {
    s = await stat(lockPath);
  } catch {
    return;
  }
  if (!s.isFile()) {
    invalid('lockPath', `${lockPath} is ${kindOf(s)}: the xtables lock (lockPath or $XTABLES_LOCKFILE) must be a regular file, as iptables' /run/xtables.lock`);
  }
}
