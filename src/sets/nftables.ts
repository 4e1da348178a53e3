// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Client sets on the native nftables form (`Sets.open({ backend: 'nftables' })`): what differs
 * from ipset, checked before anything reaches the kernel. The sets are nf_tables named sets in
 * the form's first table (`connlimit`, family ip or ip6 by the handle's family), so a rule of
 * that table can say `ip saddr @NAME` (docs/sets.md, "The native nftables form").
 */
import { invalid, KernelSupportError } from '../errors';
import { quote } from '../echo';
import type { NativeCreateSpec } from '../native-types';
import type { Family } from '../rule/types';
import type { AddOptions } from './types';

/** NFT_NAME_MAXLEN (256) less the NUL. */
export const MAX_NFT_SET_NAME_BYTES = 255;

/** The names the form gives a connlimit rule's own set (the kernel numbers `connlimit%d`). */
const RULE_SET_NAME = /^connlimit[0-9]+$/;

/** A set name on this form: taken by nf_tables, and none of the rules' own sets. */
export function checkNftablesSetName(name: string, path: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NFT_SET_NAME_BYTES) invalid(path, `${quote(name)} is ${bytes} bytes: nf_tables set names are at most ${MAX_NFT_SET_NAME_BYTES}`);
  if (RULE_SET_NAME.test(name)) invalid(path, `${quote(name)} is the name of a connlimit rule's own set on the native nftables form (connlimit<N>); pick another`);
}

/** A create() on this form: its type and options must have an nf_tables equivalent. */
export function checkNftablesCreate(spec: NativeCreateSpec, handle: Family): void {
  checkNftablesSetName(spec.name, 'name');
  if (spec.family !== handle) {
    invalid('options.family', `the sets of this handle live in the ${handle === 'ipv4' ? 'ip' : 'ip6'} table: open a Sets handle with family '${spec.family}' for ${spec.family} sets`);
  }
  if (spec.hashsize !== undefined) invalid('options.hashsize', 'nf_tables sets have no hash size (the kernel grows them); leave it out');
}

/** An add's options on this form: nf_tables elements have no `nomatch` (an exception inside a wider entry). */
export function checkNftablesAdd(options: AddOptions): AddOptions {
  if (options.nomatch) {
    invalid('options.nomatch', "nf_tables sets have no nomatch elements; use ipset (backend 'legacy' or 'nft'), or leave the exception out of the set");
  }
  return options;
}

/** nf_tables has no message that renames a set or exchanges two sets' contents. */
export function nftablesCannot(what: 'rename' | 'swap'): KernelSupportError {
  return new KernelSupportError('ERR_CONNLIMIT_UNSUPPORTED', `nf_tables named sets cannot be ${what === 'rename' ? 'renamed' : 'swapped'} (the kernel has no such message)`, {
    hint: what === 'rename' ? 'create the new set, addMany the entries, point the rules at it, destroy the old one' : 'fill the new set, then flush and refill the old one, or use ipset (backend legacy or nft)',
  });
}
