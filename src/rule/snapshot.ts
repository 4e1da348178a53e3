// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A private copy of caller-supplied objects, taken once before validation.
 *
 * Why: the validator and the encoder must see the same values. An accessor property or a
 * Proxy can answer differently on each read (valid when checked, hostile when encoded), and
 * one that throws would otherwise escape as an arbitrary Error instead of ERR_CONNLIMIT_INVALID.
 * Copying into null-prototype objects also keeps a `__proto__` own key (JSON.parse makes
 * those) a plain key the validator then refuses, never a prototype change.
 */
import { ValidationError } from '../errors';

/** RuleSpec nests 4 levels at most; anything deeper is a cycle or garbage. */
const MAX_DEPTH = 8;
const MAX_LENGTH = 4096;

function refuse(path: string, message: string): never {
  throw new ValidationError([{ path, message }]);
}

function threw(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return `reading it threw: ${message.slice(0, 200)}`;
}

function copy(value: unknown, path: string, root: string, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const here = path || root;
  if (depth > MAX_DEPTH) refuse(here, `nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
  let keys: string[];
  let proto: unknown;
  let isArray: boolean;
  let tag: string;
  try {
    // Bytes are copied too: the caller may change a shared buffer while the commit is queued.
    if (value instanceof Uint8Array) return new Uint8Array(value);
    isArray = Array.isArray(value);
    proto = Object.getPrototypeOf(value);
    tag = Object.prototype.toString.call(value);
    keys = isArray ? [] : Object.keys(value);
  } catch (e) {
    refuse(here, threw(e));
  }
  const read = (key: string | number, at: string): unknown => {
    try {
      return (value as Record<string | number, unknown>)[key];
    } catch (e) {
      refuse(at, threw(e));
    }
  };
  if (isArray) {
    const out: unknown[] = [];
    const length = read('length', here) as number;
    // A rule's entry is at most 64 KiB, so no real list comes near this; a sparse array could.
    if (length > MAX_LENGTH) refuse(here, `more than ${MAX_LENGTH} entries`);
    for (let i = 0; i < length; i++) out.push(copy(read(i, `${here}[${i}]`), `${here}[${i}]`, root, depth + 1));
    return out;
  }
  // A Date, Map, boxed string... has no own keys and would read as an empty rule (match
  // everything): refuse it here. Instances of the caller's own classes are read like objects.
  if (proto !== Object.prototype && proto !== null && tag !== '[object Object]') refuse(here, `expected a plain object, got ${tag.slice(8, -1)}`);
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of keys) {
    const at = path ? `${path}.${key}` : key;
    out[key] = copy(read(key, at), at, root, depth + 1);
  }
  return out;
}

/**
 * Deep-copies plain objects, arrays and byte arrays (primitives pass through). A getter or
 * Proxy trap that throws becomes a ValidationError naming the field; `root` names the value
 * itself ('rule', 'options').
 * @example const spec = snapshot(userSpec, 'rule');
 */
export function snapshot<T>(value: T, root: string): T {
  return copy(value, '', root, 0) as T;
}
