// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Counts filtered by set membership (`countBy({ set })`): the addon counts per full address,
 * this keeps the addresses that are members of the set's snapshot (sets/members.ts) and folds
 * them into the caller's prefixes, ordered as the addon orders keys (count, then IPv4 before
 * IPv6, then address bytes). A key prefix cannot be filtered after the fact (a /24 may hold
 * members and others), which is why the addon counts full addresses here.
 */
import { formatIp, parseIpv4, parseIpv6, prefixToMask } from '../rule/address';
import type { SetMembers } from '../sets/members';

function keyOf(addr: Buffer, bits: number): string {
  const width = addr.length * 8;
  if (bits === width) return formatIp(addr);
  const mask = prefixToMask(bits, addr.length as 4 | 16);
  const out = Buffer.alloc(addr.length);
  for (let i = 0; i < addr.length; i++) out[i] = addr[i]! & mask[i]!;
  return `${formatIp(out)}/${bits}`;
}

/**
 * @param counts full-address counts from the addon ('10.1.2.7' => 3)
 * @param top the N largest counts, 0 for all
 */
export function countsInSet(counts: Iterable<[string, number]>, members: SetMembers, mask4: number, mask6: number, top: number): Map<string, number> {
  const sums = new Map<string, { count: number; addr: Buffer }>();
  for (const [address, n] of counts) {
    if (!members.has(address)) continue;
    const addr = parseIpv4(address) ?? parseIpv6(address);
    if (!addr) continue;
    const key = keyOf(addr, addr.length === 4 ? mask4 : mask6);
    const seen = sums.get(key);
    if (seen) seen.count += n;
    else sums.set(key, { count: n, addr: parseIpv4(key.split('/')[0]!) ?? parseIpv6(key.split('/')[0]!)! });
  }
  const ordered = [...sums].sort(([, a], [, b]) => b.count - a.count || a.addr.length - b.addr.length || Buffer.compare(a.addr, b.addr));
  return new Map((top > 0 ? ordered.slice(0, top) : ordered).map(([k, v]) => [k, v.count]));
}
