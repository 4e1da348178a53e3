// SPDX-License-Identifier: GPL-2.0-or-later
/** The `netns` option every object takes: a name under /run/netns, or a path. */
import * as path from 'node:path';
import { invalid } from './errors';
import { quote } from './echo';

/** PATH_MAX with its NUL: a longer path can only fail (ENAMETOOLONG), so it is bad input. */
export const MAX_PATH_BYTES = 4095;

/**
 * The namespace file to open, or null for the caller's own namespace. Names are checked here
 * (no '/', no '..'), so a name can never point outside /run/netns.
 * @internal
 */
export function resolveNetns(netns: unknown): string | null {
  if (netns === undefined || netns === null) return null;
  if (typeof netns !== 'string' || netns.length === 0 || netns.includes('\0')) invalid('netns', 'must be a namespace name or a path');
  if (Buffer.byteLength(netns, 'utf8') > MAX_PATH_BYTES) invalid('netns', `a path of ${Buffer.byteLength(netns, 'utf8')} bytes: longer than PATH_MAX`);
  if (netns.includes('/')) return path.resolve(netns);
  if (!/^[A-Za-z0-9_.-]{1,255}$/.test(netns) || netns === '.' || netns === '..') {
    invalid('netns', `${quote(netns)} is not a valid namespace name (letters, digits, '_', '.', '-')`);
  }
  return `/run/netns/${netns}`;
}
