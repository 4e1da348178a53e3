// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Which handles' single-op calls may share one group commit (src/group-commit.ts). A group is
 * committed through one member's handle: its namespace fd, its lock file and timeout, its
 * nf_tables socket. That is what each member would have used alone exactly when the handles
 * agree on all of it, so handles group when they name the same table of the same family on the
 * same backend in the same namespace (the queue key: the namespace by the identity of its nsfs
 * inode, not by path) and wait for the same xtables lock (legacy: same lock path) with the same
 * timeout. Different timeouts never group: under the shorter one a member could fail busy where
 * alone it would have waited on; under the longer one it could wait longer than it asked.
 *
 * A handle groups only with itself (as before grouping across handles) when what it does
 * depends on its own socket's commits: it keeps a state (fw.keep() on nf_tables skips the
 * notifications of its own socket's commits as no drift, so another handle's socket must not
 * commit its calls, nor it another's), or it is on the native form (backend 'nftables': each
 * handle holds its own cache of the tables it writes).
 */
import type { Backend } from './table-shape';

export interface GroupSettings {
  readonly backend: Backend;
  readonly lockPath: string;
  readonly lockTimeoutMs: number;
}

/**
 * The owner `handle`'s calls join groups under (src/serial-queue.ts compares owners with ===):
 * the handle itself, or a string every compatible handle of the same queue key shares.
 */
export function groupOwner(handle: object, settings: GroupSettings, keepsState: boolean): object | string {
  if (keepsState || settings.backend === 'nftables') return handle;
  // nf_tables takes no xtables lock: there the lock file does not matter, the timeout still bounds the commit's retries.
  const lock = settings.backend === 'legacy' ? settings.lockPath : '';
  return `handles|${settings.lockTimeoutMs}|${lock}`;
}
