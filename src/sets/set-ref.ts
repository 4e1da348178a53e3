// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The set a count or a watch is filtered by: a name (an ipset set) or a SetRef (a native-form
 * nf_tables set too), checked before anything is opened, and read into a snapshot through a
 * Sets handle of its own for the time of the read (members.ts).
 */
import { invalid } from '../errors';
import type { Family } from '../rule/types';
import { describe } from '../rule/validate';
import { readMembers, type SetMembers } from './members';
import { MAX_NFT_SET_NAME_BYTES } from './nftables';
import { Sets } from './sets';
import type { SetRef, SetsOptions } from './types';
import { handleFamily, ownOptions, setName, setsBackend } from './validate';

/** A checked {@link SetRef}: what Sets.open needs, and the name. */
export interface CheckedSetRef {
  name: string;
  backend: NonNullable<SetsOptions['backend']>;
  family: Family;
}

/** @throws {ERR_CONNLIMIT_INVALID} neither a set name nor a SetRef, or a bad field */
export function checkSetRef(v: unknown, path = 'set'): CheckedSetRef {
  if (typeof v === 'string') return { name: setName(v, path), backend: 'nft', family: 'ipv4' };
  if (typeof v !== 'object' || v === null) invalid(path, `must be a set name or { name, backend, family }, got ${describe(v)}`);
  const o = ownOptions(v as SetRef, path, ['name', 'backend', 'family']);
  const nftables = setsBackend(o.backend, `${path}.backend`) === 'nftables';
  return {
    name: setName(o.name, `${path}.name`, nftables ? MAX_NFT_SET_NAME_BYTES : undefined),
    backend: nftables ? 'nftables' : 'nft',
    family: handleFamily(o.family, `${path}.family`),
  };
}

/** A snapshot of the set in namespace `netns` (null: the caller's own). */
export async function readSetRef(netns: string | null, ref: CheckedSetRef): Promise<SetMembers> {
  const sets = await Sets.open({ backend: ref.backend, family: ref.family, ...(netns !== null ? { netns } : {}) });
  try {
    return await readMembers(sets, ref.name);
  } finally {
    await sets.close();
  }
}
