// SPDX-License-Identifier: GPL-2.0-or-later
/** The options of Firewall.restore(), checked before the input is read. */
import { invalid } from '../errors';
import { describe } from '../rule/validate';

export interface RestoreOptions {
  /**
   * As `iptables-restore --noflush`: keep the table's rules and chains, flush only the user
   * chains the input declares, and append. Default false: the table is replaced whole.
   */
  noflush?: boolean;
}

/** What restore() did: counted from the input, so a no-op restore still says what it held. */
export interface RestoreResult {
  table: string;
  /** Chain lines of the input's section. */
  chains: number;
  /** Rule lines of the input's section. */
  rules: number;
  /** Tables the input holds besides this handle's, in order: skipped, as `iptables-restore -T` skips them. */
  otherTables: string[];
}

export function checkRestoreOptions(o: unknown): { noflush: boolean } {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) invalid('options', 'must be an object');
  for (const k of Object.keys(o)) if (k !== 'noflush') invalid(k, 'unknown option (known: noflush)');
  const noflush = (o as RestoreOptions).noflush ?? false;
  if (typeof noflush !== 'boolean') invalid('noflush', `expected true or false, got ${describe(noflush)}`);
  return { noflush };
}
