// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A snapshot of a set's members, for counts filtered by set (Conntrack.countBy, watch): read
 * once through a streamed listing, then matched in JS as the kernel matches
 * `-m set --match-set NAME src` on hash:ip and hash:net (an address is a member when it lies
 * inside an entry's prefix). A snapshot rather than a kernel TEST per address: one dump
 * however many addresses are asked about, and one consistent view for the whole count.
 */
import { ValidationError } from '../errors';
import { parseIpv4, parseIpv6, prefixToMask } from '../rule/address';
import type { Family } from '../rule/types';
import type { Sets } from './sets';

/** The types whose members are addresses or prefixes alone: what a count can be filtered by. */
const ADDRESS_TYPES = new Set(['hash:ip', 'hash:net']);

function masked(addr: Buffer, bits: number): string {
  const mask = prefixToMask(bits, addr.length as 4 | 16);
  const out = Buffer.alloc(addr.length);
  for (let i = 0; i < addr.length; i++) out[i] = addr[i]! & mask[i]!;
  return out.toString('latin1');
}

export class SetMembers {
  /**
   * Per prefix length present in the set, longest first (the order the kernel tries them in):
   * masked address bytes (latin1) to whether the entry is `nomatch`.
   */
  private byPrefix: Array<[bits: number, keys: Map<string, boolean>]> = [];
  private entries = 0;

  constructor(
    readonly name: string,
    readonly family: Family,
    /** The set has timeouts: members may leave without a change notice. */
    readonly expires: boolean,
    /** The set's type, for reading its change notices (set-follow.ts). */
    readonly type: string,
  ) {}

  /** Entries read into the snapshot. */
  get size(): number {
    return this.entries;
  }

  /** @internal While the snapshot is read. */
  add(address: string, cidr: number | undefined, nomatch = false): void {
    const addr = this.family === 'ipv4' ? parseIpv4(address) : parseIpv6(address);
    if (!addr) return;
    const bits = cidr ?? addr.length * 8;
    let keys = this.byPrefix.find(([b]) => b === bits)?.[1];
    if (!keys) {
      keys = new Map();
      this.byPrefix.push([bits, keys]);
      this.byPrefix.sort((a, b) => b[0] - a[0]);
    }
    const key = masked(addr, bits);
    if (!keys.has(key)) this.entries++;
    keys.set(key, nomatch);
  }

  /** @internal An entry that left the set (a change notice). */
  remove(address: string, cidr: number | undefined): void {
    const addr = this.family === 'ipv4' ? parseIpv4(address) : parseIpv6(address);
    if (!addr) return;
    const bits = cidr ?? addr.length * 8;
    if (this.byPrefix.find(([b]) => b === bits)?.[1].delete(masked(addr, bits))) this.entries--;
  }

  /**
   * Whether an address (of either family; the other family is never a member) is in the set:
   * the most specific entry that holds it decides, so a `nomatch` entry inside a wider one
   * keeps its addresses out, as the kernel's hash:net match does.
   */
  has(address: string): boolean {
    const addr = this.family === 'ipv4' ? parseIpv4(address) : parseIpv6(address);
    if (!addr) return false;
    for (const [bits, keys] of this.byPrefix) {
      const nomatch = keys.get(masked(addr, bits));
      if (nomatch !== undefined) return !nomatch;
    }
    return false;
  }
}

/**
 * Reads a hash:ip or hash:net set into a snapshot, batch by batch.
 * @throws {ERR_CONNLIMIT_INVALID} a set of a port type (its members are not addresses alone)
 * @throws {ERR_CONNLIMIT_NOT_FOUND} no such set
 */
export async function readMembers(sets: Sets, name: string, path = 'set'): Promise<SetMembers> {
  const header = await sets.headerUncounted(name);
  if (!ADDRESS_TYPES.has(header.type)) {
    throw new ValidationError([{ path, message: `counts filter by hash:ip or hash:net sets; ${name} is ${header.type}` }]);
  }
  const members = new SetMembers(header.name, header.family, header.timeout !== null, header.type);
  for await (const e of sets.entries(name)) members.add(e.address, e.cidr, e.nomatch === true);
  return members;
}
