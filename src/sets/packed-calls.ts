// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * One-element ipset calls that queued up together, or the elements of one addMany, packed for
 * the addon: a record of PACKED_CALL_BYTES per call (the layout is in native/js/ipset_convert.cc),
 * each set name once, and as objects only the elements that are more than an IPv4 address. The
 * addon reads a record with a few loads where an element object took a dozen property reads and
 * string copies: that conversion was the largest part of an add in flight, and half of a 100k
 * addMany (docs/sets.md).
 */
import type { NativeSetElement } from '../native-types';
import { dottedQuad } from './dotted-quad';

const PACKED_CALL_BYTES = 20;

const EXIST = 1;
const NOMATCH = 2;
const TIMEOUT = 4;
const OBJECT = 8;

export type ElementCall = readonly [cmd: 'add' | 'del' | 'test', set: string, element: NativeSetElement, exist: boolean];

export interface PackedCalls {
  records: Buffer;
  names: string[];
  objects: NativeSetElement[];
}

export type PackedElements = Omit<PackedCalls, 'names'>;

/**
 * An IPv4 address with nothing else of an element (see NativeSetElement): the fields other than
 * these four all change the message, so such an element goes as an object.
 */
function plainIpv4(e: NativeSetElement): boolean {
  return (
    e.family === 'ipv4' &&
    e.cidr === undefined &&
    e.port === undefined &&
    e.proto === undefined &&
    e.address2 === undefined &&
    e.iface === undefined &&
    e.physdev === undefined &&
    e.wildcard === undefined &&
    e.comment === undefined
  );
}

/** Writes an address already checked by isIP (four decimal parts 0-255) as four bytes, network order. */
function writeIpv4(text: string, out: Buffer, at: number): void {
  let part = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      out[at++] = part;
      part = 0;
    } else part = part * 10 + c - 48;
  }
  out[at] = part;
}

/** Writes element `e` into the record at byte `at` (its flags, timeout, address or object index); returns its flags. */
function writeElement(e: NativeSetElement, records: Buffer, words: Uint32Array, at: number, objects: NativeSetElement[]): number {
  if (!plainIpv4(e)) {
    words[at / 4 + 3] = objects.push(e) - 1;
    return OBJECT;
  }
  let flags = e.nomatch ? NOMATCH : 0;
  if (e.timeout !== undefined) {
    flags |= TIMEOUT;
    words[at / 4 + 1] = e.timeout;
  }
  writeIpv4(e.address, records, at + 8);
  return flags;
}

/** Records in a buffer of their own, and a view of its numbers in host order (records are 4-byte aligned). */
function recordsFor(count: number): { records: Buffer; words: Uint32Array } {
  const records = Buffer.alloc(count * PACKED_CALL_BYTES); // never pooled: byteOffset 0
  return { records, words: new Uint32Array(records.buffer, records.byteOffset, records.length / 4) };
}

export function packCalls(calls: readonly ElementCall[]): PackedCalls {
  const { records, words } = recordsFor(calls.length);
  const names: string[] = [];
  const indexes = new Map<string, number>();
  const objects: NativeSetElement[] = [];
  let lastName = '';
  let lastIndex = -1;
  for (let i = 0; i < calls.length; i++) {
    const [cmd, set, e, exist] = calls[i]!;
    const at = i * PACKED_CALL_BYTES;
    // Calls that queue up together are nearly always on one set: look back one before searching.
    let index = set === lastName ? lastIndex : (indexes.get(set) ?? -1);
    if (index < 0) indexes.set(set, (index = names.push(set) - 1));
    lastName = set;
    lastIndex = index;
    records[at] = cmd === 'add' ? 0 : cmd === 'del' ? 1 : 2; // not a keyed load: that went megamorphic
    words[at / 4 + 4] = index;
    records[at + 1] = writeElement(e, records, words, at, objects) | (exist ? EXIST : 0);
  }
  return { records, names, objects };
}

/**
 * The elements of one addMany or deleteMany, as records whose command, exist and set are the
 * call's (left zero). A string is an IPv4 address alone, checked (plainIpv4Entry), with the
 * call's `timeout`: written from its text, no element object made for it.
 */
export function packElements(elements: readonly (NativeSetElement | string)[], timeout?: number): PackedElements {
  const { records, words } = recordsFor(elements.length);
  const objects: NativeSetElement[] = [];
  for (let i = 0; i < elements.length; i++) {
    const at = i * PACKED_CALL_BYTES;
    const e = elements[i]!;
    if (typeof e !== 'string') {
      records[at + 1] = writeElement(e, records, words, at, objects);
      continue;
    }
    if (timeout !== undefined) {
      records[at + 1] = TIMEOUT;
      words[at / 4 + 1] = timeout;
    }
    writeIpv4(e, records, at + 8);
  }
  return { records, objects };
}

/**
 * An addMany's or deleteMany's entries when each is an IPv4 address alone (the set and options
 * taking such entries: takesPlainIpv4), checked and packed in one pass: each text read once, its
 * parts written as they are read (dottedQuad). A check and then a pack read every text twice
 * and kept an array between, a third of a 100k addMany's time on the JS thread. null at the
 * first entry that is anything else: the caller then checks each entry its own way (and reports
 * every problem).
 */
export function packAddresses(entries: readonly unknown[], timeout?: number): PackedElements | null {
  const { records, words } = recordsFor(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const text = entries[i];
    if (typeof text !== 'string' || !dottedQuad(text, records, i * PACKED_CALL_BYTES + 8)) return null;
    if (timeout !== undefined) {
      records[i * PACKED_CALL_BYTES + 1] = TIMEOUT;
      words[i * 5 + 1] = timeout;
    }
  }
  return { records, objects: [] };
}
