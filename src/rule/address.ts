// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Addresses for `-s`/`-d`: parse text into the bytes `struct ipt_ip`/`ip6t_ip6` hold, and print
 * them back as iptables-save 1.8.9 does.
 *
 * Parsing is stricter than the CLI on purpose. The CLI resolves host names through DNS, turns
 * a comma list into several rules, and takes inet_aton's legacy forms (`10.1`, `0x0a000001`,
 * `012.0.0.1` read as decimal); a firewall library should not do the first two behind the
 * caller's back, and the legacy forms are read differently by different tools. We take
 * dotted quads with decimal octets (and `0/0`, old scripts' spelling of all of IPv4), RFC 4291
 * IPv6 text (no zone, no brackets), and a mask as `/BITS` or as an address-shaped mask
 * (`/255.255.255.0`, `/ffff:ffff::`).
 */
import { isIP } from 'node:net';
import type { Family } from './types';
import type { NativeAddress } from '../native-types';
import { addressBits, addressBytes } from './names';
import { quote } from '../echo';

/** A parsed address (already masked) with its mask, or why the text is not one. */
export type AddressResult = { addr: Buffer; mask: Buffer } | { error: string };

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Strict dotted quad: four decimal octets 0–255 without leading zeros. */
export function parseIpv4(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (p.length > 3 || !DECIMAL.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** IPv6 text (RFC 4291 §2.2, including a trailing dotted quad) to 16 bytes; no zone ids, no brackets. */
export function parseIpv6(text: string): Buffer | null {
  if (text.length === 0 || text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  // A dotted quad may only end the address.
  if (halves.length === 2 && halves[0]!.includes('.')) return null;
  let words: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  // Belt and braces: Node's own parser must agree that this is IPv6 text.
  return isIP(text) === 6 ? out : null;
}

/** A mask of `bits` leading ones, 4 or 16 bytes. */
export function prefixToMask(bits: number, bytes: 4 | 16): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    const left = bits - i * 8;
    out[i] = left >= 8 ? 0xff : left <= 0 ? 0 : (0xff << (8 - left)) & 0xff;
  }
  return out;
}

/** The prefix length of a contiguous mask, or -1 when the ones are not contiguous (`xtables_ipmask_to_cidr`). */
export function maskToPrefix(mask: Buffer): number {
  let bits = 0;
  let i = 0;
  for (; i < mask.length && mask[i] === 0xff; i++) bits += 8;
  if (i < mask.length) {
    const b = mask[i]!;
    let ones = 0;
    while (ones < 8 && (b & (0x80 >> ones)) !== 0) ones++;
    if (((b << ones) & 0xff) !== 0) return -1;
    bits += ones;
    for (i++; i < mask.length; i++) if (mask[i] !== 0) return -1;
  }
  return bits;
}

/** True when every byte is zero (an all-zero mask matches every address). */
export function isZero(buf: Buffer): boolean {
  return buf.every((b) => b === 0);
}

function looksLikeHostName(text: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(text) && /[A-Za-z_]/.test(text);
}

function describe(text: string, family: Family): string | null {
  if (family === 'ipv4' && parseIpv6(text)) return `${quote(text)} is an IPv6 address; this is an ipv4 rule`;
  if (family === 'ipv6' && parseIpv4(text)) {
    return `${quote(text)} is an IPv4 address; this is an ipv6 rule (write ::ffff:${text} for an IPv4-mapped address)`;
  }
  if (text.includes('%')) return `${quote(text)}: zone ids (%eth0) are not part of a firewall address`;
  if (text.startsWith('[')) return `${quote(text)}: write IPv6 addresses without brackets`;
  if (looksLikeHostName(text)) {
    return `${quote(text)} looks like a host name: host names are not resolved (no DNS lookups in a firewall library); give an address`;
  }
  return null;
}

/** The address and mask words of `ADDR`, `ADDR/BITS` or `ADDR/MASK`, unmasked; mask null when none was given. */
function splitAddress(text: string, family: Family): { addr: Buffer; mask: Buffer | null } | { error: string } {
  const bytes = addressBytes(family);
  const width = addressBits(family);
  if (text === '') return { error: 'an empty address' };
  if (text.includes(',')) {
    return {
      error: `${quote(text)} is a list: the CLI would add one rule per address; add one rule per address yourself (or use an ipset match)`,
    };
  }
  if (/\s/.test(text)) return { error: `${quote(text)} contains white space` };
  // Old scripts' `-s 0/0`: the one inet_aton short form with a single reading in every tool
  // (all of IPv4); other short forms (`1.2.3`, `10/8`) stay refused.
  if (family === 'ipv4' && text === '0/0') return { addr: Buffer.alloc(4), mask: Buffer.alloc(4) };
  const slash = text.indexOf('/');
  const host = slash === -1 ? text : text.slice(0, slash);
  const maskText = slash === -1 ? null : text.slice(slash + 1);

  const addr = family === 'ipv6' ? parseIpv6(host) : parseIpv4(host);
  if (!addr) return { error: describe(host, family) ?? `${quote(host)} is not an ${family === 'ipv6' ? 'IPv6' : 'IPv4'} address` };
  if (maskText === null) return { addr, mask: null };
  if (DECIMAL.test(maskText)) {
    const bits = Number(maskText);
    if (bits > width) return { error: `prefix /${maskText} is wider than ${family === 'ipv6' ? 'IPv6' : 'IPv4'} (0-${width})` };
    return { addr, mask: prefixToMask(bits, bytes) };
  }
  const m = family === 'ipv6' ? parseIpv6(maskText) : parseIpv4(maskText);
  if (!m) return { error: `${quote(maskText)} is not a prefix length (0-${width}) or a mask` };
  return { addr, mask: m };
}

/**
 * Parse `ADDR`, `ADDR/BITS` or `ADDR/MASK` for `family` into masked bytes and a mask.
 * Without a mask the address is a host (/32, /128), as the CLI does.
 *
 * @example parseAddress('10.1.2.3/24', 'ipv4') // { addr: <0a 01 02 00>, mask: <ff ff ff 00> }
 */
export function parseAddress(text: string, family: Family): AddressResult {
  const r = splitAddress(text, family);
  if ('error' in r) return r;
  const bytes = addressBytes(family);
  const mask = r.mask ?? prefixToMask(addressBits(family), bytes);
  const addr = r.addr;
  for (let i = 0; i < bytes; i++) addr[i]! &= mask[i]!;
  return { addr, mask };
}

/**
 * An address as libxtables' `XTTYPE_HOSTMASK` stores it in a `union nf_inet_addr` pair (16
 * bytes each): the address unmasked, and without a mask 16 bytes of 0xFF whatever the family
 * (`xtopt_parse_host`), which for IPv4 differs from an explicit /32 (4 bytes of 0xFF, then 0).
 *
 * @example parseHostMask('10.1.2.3/8', 'ipv4') // { addr: <0a 01 02 03 00 ...>, mask: <ff 00 ...> }
 */
export function parseHostMask(text: string, family: Family): AddressResult {
  const r = splitAddress(text, family);
  if ('error' in r) return r;
  const addr = Buffer.alloc(16);
  r.addr.copy(addr);
  const mask = Buffer.alloc(16, r.mask ? 0 : 0xff);
  if (r.mask) r.mask.copy(mask);
  return { addr, mask };
}

/** Dotted quad, as inet_ntoa prints. */
export function formatIpv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * IPv6 text exactly as glibc's inet_ntop prints it (what ip6tables-save uses): the longest run
 * of two or more zero words (the first on a tie) becomes `::`, and `::a.b.c.d` / `::ffff:a.b.c.d`
 * keep a dotted tail.
 */
export function formatIpv6(b: Buffer): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(i * 2));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;

  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += formatIpv4(b.subarray(12, 16));
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** An address of either width: 4 bytes dotted, 16 bytes inet_ntop. */
export function formatIp(b: Buffer): string {
  return b.length === 16 ? formatIpv6(b) : formatIpv4(b);
}

/**
 * `ADDR/BITS`, or `ADDR/MASK` for a non-contiguous mask, as iptables-save 1.8.9 prints `-s`/`-d`
 * (`save_ipv4_addr`/`save_ipv6_addr`: `/32` and `/128` are printed, never dropped).
 *
 * @example formatAddress({ addr, mask, invert: false }) // '10.0.2.0/255.0.255.0'
 */
export function formatAddress(a: Pick<NativeAddress, 'addr' | 'mask'>): string {
  const bits = maskToPrefix(a.mask);
  return `${formatIp(a.addr)}/${bits === -1 ? formatIp(a.mask) : bits}`;
}
