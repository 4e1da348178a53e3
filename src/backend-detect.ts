// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `backend: 'auto'`: which backend the system's iptables uses for this table, in this order
 * (docs/nft.md):
 *
 * 1. the target namespace's table, read in both backends without creating anything: rules (or
 *    user chains) in both is an error, {@link BackendConflictError}, never a guess; rules in
 *    one picks it;
 * 2. neither has rules: a table that exists in only one backend picks it;
 * 3. neither exists: the `iptables` command the system runs, followed through its symlinks
 *    (the alternatives link): `xtables-legacy-multi` / `iptables-legacy` picks legacy,
 *    `xtables-nft-multi` / `iptables-nft` picks nft;
 * 4. no `iptables` found: nft, what current distributions default to.
 *
 * Nothing here forks: the command is found by walking PATH.
 */
import { existsSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { BackendConflictError } from './errors';
import type { NativeBackendUsage } from './native-types';

export type ResolvedBackend = 'legacy' | 'nft';

/** What `iptables` resolves to on this system, or null when there is none or it says neither. */
export function systemIptablesBackend(envPath = process.env.PATH ?? ''): ResolvedBackend | null {
  const dirs = [...envPath.split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'iptables');
    if (!existsSync(candidate)) continue;
    let target: string;
    try {
      target = path.basename(realpathSync(candidate));
    } catch {
      continue;
    }
    if (target.includes('legacy')) return 'legacy';
    if (target.includes('nft')) return 'nft';
    return null;
  }
  return null;
}

/** Steps 1-4 above, from the probe of the namespace and the system's iptables. */
export function chooseBackend(usage: NativeBackendUsage, system: ResolvedBackend | null, what: string): ResolvedBackend {
  if (usage.legacyRules > 0 && usage.nftRules > 0) {
    throw new BackendConflictError(
      'ERR_CONNLIMIT_BACKEND_CONFLICT',
      `${what} has rules in both iptables-legacy (${usage.legacyRules}) and iptables-nft (${usage.nftRules})`,
      { hint: "pass backend: 'legacy' or backend: 'nft' explicitly (see iptables-legacy-save and iptables-nft-save)" },
    );
  }
  if (usage.legacyRules > 0) return 'legacy';
  if (usage.nftRules > 0) return 'nft';
  if (usage.legacyTable !== usage.nftTable) return usage.legacyTable ? 'legacy' : 'nft';
  return system ?? 'nft';
}
