// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Client sets: every input checked and normalized before anything reaches the kernel. Names
 * as the kernel takes them (1-31 bytes, no NUL), entries parsed as ipset writes them and
 * checked against the set's type and family, timeouts within ipset's range, comments within
 * 255 bytes. Problems are ERR_CONNLIMIT_INVALID naming the field.
 */
import { isIP } from 'node:net';
import { invalid, ValidationError, type ValidationIssue } from '../errors';
import { quote } from '../echo';
import { dottedQuad } from './dotted-quad';
import type { NativeCreateSpec, NativeSetElement } from '../native-types';
import type { Family } from '../rule/types';
import { snapshot } from '../rule/snapshot';
import { describe } from '../rule/validate';
import type { AddOptions, CreateSetOptions, DeleteOptions, SetEntry, SetEntryInput, SetProtocol, SetType, TestOptions } from './types';

/** IPSET_MAXNAMELEN (32) less the NUL. */
export const MAX_SET_NAME_BYTES = 31;
/** IPSET_MAX_TIMEOUT: (UINT_MAX >> 1) / MSEC_PER_SEC seconds (include/linux/netfilter/ipset/ip_set_timeout.h). */
export const MAX_TIMEOUT = 2147483;
/** IPSET_MAX_COMMENT_SIZE. */
export const MAX_COMMENT_BYTES = 255;

export const SET_TYPES: readonly SetType[] = ['hash:ip', 'hash:net', 'hash:ip,port', 'hash:net,port', 'hash:ip,port,ip', 'hash:net,iface'];
/** IFNAMSIZ less the NUL. */
export const MAX_IFACE_BYTES = 15;
const PROTOCOLS: Record<SetProtocol, number> = { tcp: 6, udp: 17, sctp: 132, udplite: 136 };
const PROTOCOL_NAMES = new Map<number, SetProtocol>(Object.entries(PROTOCOLS).map(([k, v]) => [v, k as SetProtocol]));

/** What element calls are checked against: the set's type, family and options. */
export interface SetShape {
  type: string;
  family: Family;
  timeout: boolean;
  comment: boolean;
  /** A named set of the native nftables form (no `physdev:` there). */
  nftables?: boolean;
}

export function hasPort(type: string): boolean {
  return type === 'hash:ip,port' || type === 'hash:net,port' || type === 'hash:ip,port,ip';
}

/** The types whose ipset(8) page lists `nomatch` (of those made here): the net types. */
const NOMATCH_TYPES = new Set(['hash:net', 'hash:net,port', 'hash:net,iface']);

/** An add with `nomatch` into a set whose type has no such entries (ipset refuses the word). */
export function nomatchProblem(shape: SetShape): ValidationIssue | null {
  if (NOMATCH_TYPES.has(shape.type)) return null;
  return { path: 'options.nomatch', message: `${shape.type} has no nomatch entries (only ${[...NOMATCH_TYPES].join(', ')})` };
}

function hasCidr(type: string): boolean {
  return type === 'hash:net' || type === 'hash:net,port' || type === 'hash:net,iface';
}

export function protocolName(n: number): SetProtocol | number {
  return PROTOCOL_NAMES.get(n) ?? n;
}

/** A private copy of a caller's options object (a throwing getter becomes ERR_CONNLIMIT_INVALID). */
export function ownOptions<T extends object>(value: T | undefined, path: string, known: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(path, `must be an object, got ${describe(value)}`);
  const o = snapshot(value, path);
  for (const k of Object.keys(o)) if (!known.includes(k)) invalid(`${path}.${k}`, `unknown option (known: ${known.join(', ')})`);
  return o;
}

export function setName(name: unknown, path = 'name', maxBytes = MAX_SET_NAME_BYTES): string {
  if (typeof name !== 'string') invalid(path, `must be a set name string, got ${describe(name)}`);
  if (name.length === 0) invalid(path, 'must not be empty');
  if (name.includes('\0')) invalid(path, 'must not contain NUL');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > maxBytes) invalid(path, `${quote(name)} is ${bytes} bytes: set names are at most ${maxBytes}`);
  return name;
}

function familyOption(v: unknown, path: string): Family {
  if (v !== 'ipv4' && v !== 'ipv6') invalid(path, `must be 'ipv4' or 'ipv6', got ${describe(v)}`);
  return v;
}

export function handleFamily(v: unknown, path = 'family'): Family {
  return v === undefined ? 'ipv4' : familyOption(v, path);
}

/** Which kind of set a Firewall backend's name means (SetsOptions.backend). */
export function setsBackend(v: unknown, path = 'options.backend'): 'ipset' | 'nftables' {
  if (v === undefined || v === 'legacy' || v === 'nft') return 'ipset';
  if (v === 'nftables') return 'nftables';
  return invalid(path, `must be 'legacy' or 'nft' (ipset) or 'nftables' (named sets of the native nftables form), got ${describe(v)}`);
}

function integer(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) invalid(path, `must be an integer ${min}-${max}, got ${describe(v)}`);
  return v;
}

function timeout(v: unknown, path: string): number {
  return integer(v, path, 0, MAX_TIMEOUT);
}

function flag(v: unknown, path: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') invalid(path, `must be true or false, got ${describe(v)}`);
  return v;
}

function comment(v: unknown, path: string): string {
  if (typeof v !== 'string') invalid(path, `must be a string, got ${describe(v)}`);
  if (v.includes('\0')) invalid(path, 'must not contain NUL');
  const bytes = Buffer.byteLength(v, 'utf8');
  if (bytes > MAX_COMMENT_BYTES) invalid(path, `is ${bytes} bytes: comments are at most ${MAX_COMMENT_BYTES}`);
  return v;
}

export function createSpec(name: unknown, options: CreateSetOptions, handle: Family, maxNameBytes = MAX_SET_NAME_BYTES): NativeCreateSpec {
  const o = ownOptions(options, 'options', ['type', 'family', 'timeout', 'maxelem', 'hashsize', 'counters', 'comment', 'exist']);
  const spec: NativeCreateSpec = {
    name: setName(name, 'name', maxNameBytes),
    type: '',
    family: o.family === undefined ? handle : familyOption(o.family, 'options.family'),
    counters: flag(o.counters, 'options.counters'),
    comment: flag(o.comment, 'options.comment'),
    exist: flag(o.exist, 'options.exist'),
  };
  if (!SET_TYPES.includes(o.type as SetType)) invalid('options.type', `must be one of ${SET_TYPES.join(', ')}, got ${describe(o.type)}`);
  spec.type = o.type as SetType;
  if (o.timeout !== undefined) spec.timeout = timeout(o.timeout, 'options.timeout');
  if (o.maxelem !== undefined) spec.maxelem = integer(o.maxelem, 'options.maxelem', 1, 0xffffffff);
  if (o.hashsize !== undefined) spec.hashsize = integer(o.hashsize, 'options.hashsize', 1, 0x80000000);
  return spec;
}

export function addOptions(options: AddOptions | undefined): AddOptions {
  const o = ownOptions(options, 'options', ['timeout', 'comment', 'exist', 'nomatch']);
  const out: AddOptions = { exist: flag(o.exist, 'options.exist') };
  if (flag(o.nomatch, 'options.nomatch')) out.nomatch = true;
  if (o.timeout !== undefined) out.timeout = timeout(o.timeout, 'options.timeout');
  if (o.comment !== undefined) out.comment = comment(o.comment, 'options.comment');
  return out;
}

export function testOptions(options: TestOptions | undefined): TestOptions {
  return flag(ownOptions(options, 'options', ['nomatch']).nomatch, 'options.nomatch') ? { nomatch: true } : {};
}

export function deleteOptions(options: DeleteOptions | undefined): boolean {
  return flag(ownOptions(options, 'options', ['exist']).exist, 'options.exist');
}

/** PORT or PROTO:PORT into `entry`. */
function parsePort(part: string, text: string, path: string, entry: SetEntry): void {
  const m = /^(?:([a-z]+):)?(\d{1,5})$/.exec(part);
  if (!m) invalid(path, `${quote(text)}: the port must be PORT or PROTO:PORT (tcp, udp, sctp, udplite)`);
  if (m[1] !== undefined) entry.proto = m[1] as SetProtocol;
  entry.port = Number(m[2]);
}

/**
 * An entry as ipset writes it for a set of `type`: '10.0.0.1', '10.0.0.0/24', '10.0.0.1,tcp:80',
 * '10.0.0.1,80', '10.0.0.1,udp:53,10.0.0.2' (hash:ip,port,ip), '10.0.0.0/24,eth0' and
 * '10.0.0.0/24,physdev:eth0' (hash:net,iface), as an entry object.
 */
function parseEntryText(text: string, type: string, path: string): SetEntry {
  if (text.includes('\0')) invalid(path, 'must not contain NUL');
  const parts = text.split(',');
  const most = type === 'hash:ip,port,ip' ? 3 : 2;
  if (parts.length > most) invalid(path, `${quote(text)}: ${type} entries have at most ${most} comma-separated parts`);
  const [addrPart = '', second, third] = parts;
  const slash = addrPart.indexOf('/');
  const entry: SetEntry = { address: slash < 0 ? addrPart : addrPart.slice(0, slash) };
  if (slash >= 0) {
    const len = addrPart.slice(slash + 1);
    if (!/^\d{1,3}$/.test(len)) invalid(path, `${quote(text)}: the prefix length must be a number`);
    entry.cidr = Number(len);
  }
  if (second !== undefined) {
    if (type === 'hash:net,iface') {
      const physdev = second.startsWith('physdev:');
      entry.iface = physdev ? second.slice('physdev:'.length) : second;
      if (physdev) entry.physdev = true;
    } else parsePort(second, text, path, entry);
  }
  if (third !== undefined) entry.address2 = third;
  return entry;
}

/** Why an interface name is not one the kernel would give a device (dev_valid_name), or null. */
function ifaceProblem(v: unknown): string | null {
  if (typeof v !== 'string') return `must be an interface name string, got ${describe(v)}`;
  const bytes = Buffer.byteLength(v, 'utf8');
  if (bytes === 0 || bytes > MAX_IFACE_BYTES) return `${quote(v)}: interface names are 1-${MAX_IFACE_BYTES} bytes`;
  if (v === '.' || v === '..' || /[\0/:,\s]/.test(v)) return `${quote(v)} is not an interface name (no NUL, '/', ':', ',' or white space; not '.' or '..')`;
  return null;
}

/**
 * An entry checked against the set it goes into, with the call's timeout and comment as
 * defaults for the entry's own. `issues` collects instead of throwing (addMany reports all).
 */
/** Records a problem of an entry; null, for `return bad(...)`. */
function bad(issues: ValidationIssue[], path: string, message: string): null {
  issues.push({ path, message });
  return null;
}

export function element(input: SetEntryInput, shape: SetShape, defaults: AddOptions, path: string, issues: ValidationIssue[]): NativeSetElement | null {
  const before = issues.length;
  let entry: SetEntry;
  try {
    if (typeof input === 'string') entry = parseEntryText(input, shape.type, path);
    else {
      const o = ownOptions(input as SetEntry, path, ['address', 'cidr', 'port', 'proto', 'address2', 'iface', 'physdev', 'wildcard', 'timeout', 'comment']);
      if (typeof o.address !== 'string') return bad(issues, `${path}.address`, `must be an address string, got ${describe(o.address)}`);
      entry = o as SetEntry;
    }
  } catch (e) {
    if (e instanceof ValidationError) return (issues.push(...e.issues), null);
    throw e;
  }
  const addr = entry.address;
  const kind = addr.includes('\0') || addr.includes('%') ? 0 : isIP(addr);
  if (kind === 0) return bad(issues, path, `${quote(addr)} is not an IPv4 or IPv6 address`);
  const family: Family = kind === 4 ? 'ipv4' : 'ipv6';
  if (family !== shape.family) return bad(issues, path, `${quote(addr)} is an ${family} address; the set is ${shape.family}`);
  const out: NativeSetElement = { family, address: addr };
  if (entry.cidr !== undefined) {
    if (!hasCidr(shape.type)) bad(issues, path, `${shape.type} takes single addresses, not a prefix (use hash:net)`);
    else {
      const max = family === 'ipv4' ? 32 : 128;
      if (typeof entry.cidr !== 'number' || !Number.isInteger(entry.cidr) || entry.cidr < 1 || entry.cidr > max) {
        bad(issues, path, `the prefix length must be 1-${max}, got ${describe(entry.cidr)}`);
      } else out.cidr = entry.cidr;
    }
  }
  if (hasPort(shape.type)) {
    if (entry.port === undefined) bad(issues, path, `${shape.type} entries need a port (ADDR,PORT or ADDR,PROTO:PORT)`);
    else if (typeof entry.port !== 'number' || !Number.isInteger(entry.port) || entry.port < 0 || entry.port > 65535) {
      bad(issues, path, `the port must be 0-65535, got ${describe(entry.port)}`);
    } else out.port = entry.port;
    const proto = entry.proto ?? 'tcp';
    if (!(proto in PROTOCOLS)) bad(issues, path, `the protocol must be one of ${Object.keys(PROTOCOLS).join(', ')}, got ${describe(proto)}`);
    else out.proto = PROTOCOLS[proto];
  } else if (entry.port !== undefined || entry.proto !== undefined) {
    bad(issues, path, `${shape.type} entries have no port (use hash:ip,port, hash:net,port or hash:ip,port,ip)`);
  }
  if (shape.type === 'hash:ip,port,ip') {
    const a2 = entry.address2;
    const kind2 = typeof a2 !== 'string' || a2.includes('\0') || a2.includes('%') ? 0 : isIP(a2);
    if (a2 === undefined) bad(issues, path, 'hash:ip,port,ip entries need a second address (ADDR,PORT,ADDR2)');
    else if (kind2 === 0) bad(issues, path, `${quote(String(a2))} is not an IPv4 or IPv6 address`);
    else if ((kind2 === 4 ? 'ipv4' : 'ipv6') !== shape.family) bad(issues, path, `${quote(a2 as string)} is an ${kind2 === 4 ? 'ipv4' : 'ipv6'} address; the set is ${shape.family}`);
    else out.address2 = a2 as string;
  } else if (entry.address2 !== undefined) {
    bad(issues, path, `${shape.type} entries have no second address (use hash:ip,port,ip)`);
  }
  if (shape.type === 'hash:net,iface') {
    const problem = entry.iface === undefined ? 'hash:net,iface entries need an interface (ADDR[/LEN],IFACE)' : ifaceProblem(entry.iface);
    if (problem) bad(issues, path, problem);
    else out.iface = entry.iface;
    if (entry.physdev !== undefined && typeof entry.physdev !== 'boolean') bad(issues, `${path}.physdev`, `must be true or false, got ${describe(entry.physdev)}`);
    else if (entry.physdev === true && shape.nftables) {
      // ipset-translate drops the prefix, which would match the device instead of the bridge port.
      bad(issues, path, "physdev: (a bridge port) has no meaning in an nf_tables ifname key; native-form sets match the packet's own interface only (use ipset: backend 'legacy' or 'nft')");
    } else if (entry.physdev === true) out.physdev = true;
    if (entry.wildcard !== undefined && typeof entry.wildcard !== 'boolean') bad(issues, `${path}.wildcard`, `must be true or false, got ${describe(entry.wildcard)}`);
    else if (entry.wildcard === true) out.wildcard = true;
  } else if (entry.iface !== undefined || entry.physdev !== undefined || entry.wildcard !== undefined) {
    bad(issues, path, `${shape.type} entries have no interface (use hash:net,iface)`);
  }
  if (defaults.nomatch) out.nomatch = true;
  const t = entry.timeout ?? defaults.timeout;
  if (t !== undefined) {
    if (!shape.timeout) bad(issues, `${path}.timeout`, 'the set was created without timeout support');
    else if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_TIMEOUT) bad(issues, `${path}.timeout`, `must be an integer 0-${MAX_TIMEOUT}, got ${describe(t)}`);
    else out.timeout = t;
  }
  const c = entry.comment ?? defaults.comment;
  if (c !== undefined) {
    if (!shape.comment) bad(issues, `${path}.comment`, 'the set was created without comment support');
    else {
      try {
        out.comment = comment(c, `${path}.comment`);
      } catch (e) {
        if (e instanceof ValidationError) issues.push(...e.issues);
        else throw e;
      }
    }
  }
  return issues.length === before ? out : null;
}

/**
 * element() for the entry adds in flight are made of: an IPv4 address alone, into a hash:ip or
 * hash:net set, with the call's timeout at most. The same element element() makes, without its
 * parse and its objects; null for anything else, which then takes element()'s walk (so every
 * problem is reported as before).
 */
export function plainIpv4Element(input: SetEntryInput, shape: SetShape, defaults: AddOptions): NativeSetElement | null {
  if (!plainIpv4Entry(input, shape, defaults)) return null;
  return defaults.timeout === undefined ? { family: 'ipv4', address: input } : { family: 'ipv4', address: input, timeout: defaults.timeout };
}

/** Where plainIpv4Entry's check writes the parts it reads and nobody keeps. */
const quadScratch = Buffer.alloc(4);

/** Whether plainIpv4Element() takes the entry; an addMany packs such an entry from its text, with no element made. */
export function plainIpv4Entry(input: SetEntryInput, shape: SetShape, defaults: AddOptions): input is string {
  return typeof input === 'string' && takesPlainIpv4(shape, defaults) && dottedQuad(input, quadScratch, 0);
}

/** Whether the set and the call's options take an IPv4 address alone as a whole entry (plainIpv4Entry less the text). */
export function takesPlainIpv4(shape: SetShape, defaults: AddOptions): boolean {
  if (shape.family !== 'ipv4' || (shape.type !== 'hash:ip' && shape.type !== 'hash:net')) return false;
  return defaults.comment === undefined && !defaults.nomatch && (defaults.timeout === undefined || shape.timeout);
}

/** An element as `ipset save` prints it. */
export function entryText(
  type: string,
  family: Family,
  e: { address: string; cidr?: number; port?: number; proto?: number; address2?: string; iface?: string; physdev?: boolean },
): string {
  let text = e.address;
  // A host entry of a net type prints without its full-length prefix, as ipset does.
  if (e.cidr !== undefined && hasCidr(type) && e.cidr !== (family === 'ipv4' ? 32 : 128)) text += `/${e.cidr}`;
  if (e.port !== undefined) text += `,${protocolName(e.proto ?? 6)}:${e.port}`;
  if (e.address2 !== undefined) text += `,${e.address2}`;
  if (e.iface !== undefined) text += `,${e.physdev ? 'physdev:' : ''}${e.iface}`;
  return text;
}
