// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * An owner's name, and how the kernel records what it owns without the desired file: every
 * chain of owner `web` is named `web-...` (as fail2ban's chains are `f2b-<jail>` and
 * kube-proxy's `KUBE-...`). A user chain's name is the one thing the kernel keeps on every
 * backend that survives a flushed built-in chain, so `removeOwned('web')` finds the chains by
 * their names and the jumps into them by their targets.
 */
import { invalid } from '../errors';
import { quote } from '../echo';
import { describe } from '../rule/validate';

/**
 * Letters, digits and `_`: no `-`, so an owner's prefix `NAME-` can't begin another owner's
 * (`web` and `web-api` would both claim `web-api-LIMITS`). 16 at most, leaving 12 characters of
 * the 28 a chain name holds.
 */
const OWNER = /^[A-Za-z0-9_]{1,16}$/;

/**
 * Checks an owner's name.
 * @throws {ERR_CONNLIMIT_INVALID} at `path`
 * @example checkOwner('web', 'owner') // 'web'
 */
export function checkOwner(owner: unknown, path: string): string {
  if (typeof owner !== 'string' || !OWNER.test(owner)) {
    invalid(path, `expected an owner's name of 1 to 16 letters, digits or '_' (its chains are named NAME-...), got ${typeof owner === 'string' ? quote(owner) : describe(owner)}`);
  }
  return owner;
}

/** The prefix every chain of `owner` carries. */
export function ownerPrefix(owner: string): string {
  return `${owner}-`;
}

/** Whether a user chain's name says it belongs to `owner`. */
export function ownedByName(owner: string, chain: string): boolean {
  const prefix = ownerPrefix(owner);
  return chain.length > prefix.length && chain.startsWith(prefix);
}
