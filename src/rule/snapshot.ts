// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A private copy of caller-supplied objects, taken once before validation; or, for a reader that
 * checks each field as it reads it (a typed rule: plainKeys, readOwn), each field read once.
 *
 * Why: the validator and the encoder must see the same values. An accessor property or a
 * Proxy can answer differently on each read (valid when checked, hostile when encoded), and
 * one that throws would otherwise escape as an arbitrary Error instead of ERR_CONNLIMIT_INVALID.
 * Copying into objects with an empty, prototype-less chain also keeps a `__proto__` own key (JSON.parse makes
 * those) a plain key the validator then refuses, never a prototype change.
 *
 * Only plain data is taken: objects whose prototype is Object.prototype or null, arrays
 * without holes, byte arrays. Anything else is refused at whatever depth it stands, naming
 * its path. A class instance or `Object.create({ target })` holds fields its prototype
 * supplies (getters, defaults) that reading own keys would miss, so the rule written would
 * differ from the one the caller meant: a connlimit match without its target limits nothing.
 * Reading the prototype chain instead would also read whatever a polluted Object.prototype
 * holds; refusing is the one reading that is the same for every caller. Own keys are read
 * enumerable or not (`rule.target` reads a hidden one too). A Proxy is read as any object is,
 * through its traps: getPrototypeOf and ownKeys once, get once a key; one that throws is refused
 * (naming the field for get). Nothing else of it is asked (its Symbol.toStringTag only for a
 * refusal's message: asking it of every plain object cost a tenth of checking a typed rule).
 */
import { echo } from '../echo';
import { ValidationError } from '../errors';

/** RuleSpec nests 4 levels at most; anything deeper is a cycle or garbage. */
const MAX_DEPTH = 8;
const MAX_LENGTH = 4096;

/**
 * The prototype of every copied object: empty, frozen, and without a prototype of its own, so a
 * copy answers only with its own keys whatever Object.prototype holds, and an own `__proto__`
 * key stays a plain key. Not Object.create(null) itself: V8 keeps such objects as hash tables,
 * and reading a 10k-rule transaction's copies from those cost more than the copying.
 */
const NO_FIELDS: object = Object.freeze(Object.create(null) as object);

function threw(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return `reading it threw: ${message.slice(0, 200)}`;
}

/** What a non-plain object is, for the message: 'a Date', 'an instance of Limits', ... */
function kindOf(value: object, proto: object): string {
  let tag: string;
  try {
    tag = Object.prototype.toString.call(value);
  } catch {
    tag = '[object Object]';
  }
  const name = tag.slice(8, -1);
  if (name !== 'Object') return `a ${name}`;
  let ctor: unknown;
  try {
    ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  } catch {
    ctor = undefined;
  }
  const cls = typeof ctor === 'function' && typeof ctor.name === 'string' && ctor.name !== '' ? ctor.name : null;
  return cls ? `an instance of ${echo(cls)}` : 'an object with a prototype of its own (Object.create(...))';
}

/**
 * Where the copies stand: the keys and indexes from each value given to {@link snapshot} down to
 * the one being copied. One stack for every copy, since a getter may take a snapshot of its own
 * (it stacks on top and leaves the stack as it found it); made into a path string only for a
 * refusal, since a string per field cost more than the copy.
 */
const keys: (string | number)[] = [];

/** The place of the copy whose keys start at `keys[base]`: `root` for the value itself, `a.b` for a field (the root unnamed), `root[0]` or `a.b[0]` for an entry. */
function pathFrom(base: number, root: string): string {
  let path = '';
  for (let i = base; i < keys.length; i++) {
    const k = keys[i] as string | number;
    path = typeof k === 'number' ? `${path || root}[${k}]` : path ? `${path}.${k}` : k;
  }
  return path || root;
}

/** Refuses the value being copied; `root` names the value given to snapshot(), whose keys start at `base`. */
function refuse(root: string, base: number, message: string): never {
  throw new ValidationError([{ path: pathFrom(base, root), message }]);
}

/**
 * `value[key]`, read once; a getter or trap that throws is refused, naming the field. Copied
 * (at `depth`) when `deep`, else handed over as read, for a reader that takes it apart with
 * {@link plainKeys} and {@link readOwn} in turn.
 */
function readField(value: object, key: string | number, root: string, base: number, depth: number, deep: boolean): unknown {
  keys.push(key);
  let field: unknown;
  try {
    field = (value as Record<string | number, unknown>)[key];
  } catch (e) {
    refuse(root, base, threw(e));
  }
  const out = deep && typeof field === 'object' && field !== null ? copy(field, root, base, depth + 1) : field;
  keys.pop();
  return out;
}

/** The copy snapshot() makes of a plain object, from its fields: `names[i]` holds `values[i]`. */
export function objectOf(names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const out = Object.create(NO_FIELDS) as Record<string, unknown>;
  // Indexed: for-of costs an iterator object here, where no copy should cost one.
  for (let i = 0; i < names.length; i++) out[names[i] as string] = values[i];
  return out;
}

function copy(value: object, root: string, base: number, depth: number): unknown {
  if (depth > MAX_DEPTH) refuse(root, base, `nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
  let names: string[];
  let proto: object | null;
  let isArray: boolean;
  try {
    // Bytes are copied too: the caller may change a shared buffer while the commit is queued.
    if (value instanceof Uint8Array) return new Uint8Array(value);
    isArray = Array.isArray(value);
    proto = Object.getPrototypeOf(value) as object | null;
    names = isArray ? [] : Object.getOwnPropertyNames(value);
  } catch (e) {
    refuse(root, base, threw(e));
  }
  if (isArray) {
    if (proto !== Array.prototype) refuse(root, base, 'expected a plain array ([ ... ]), got an array with a prototype of its own');
    const out: unknown[] = [];
    let length: number;
    try {
      length = (value as unknown[]).length;
    } catch (e) {
      refuse(root, base, threw(e));
    }
    // A rule's entry is at most 64 KiB, so no real list comes near this; a sparse array could.
    if (length > MAX_LENGTH) refuse(root, base, `more than ${MAX_LENGTH} entries`);
    for (let i = 0; i < length; i++) {
      let own: boolean;
      keys.push(i);
      try {
        own = Object.prototype.hasOwnProperty.call(value, i);
      } catch (e) {
        refuse(root, base, threw(e));
      }
      // A hole reads through to Array.prototype: refuse it rather than guess.
      if (!own) refuse(root, base, 'a hole in the array (no entry at this index)');
      keys.pop();
      out.push(readField(value, i, root, base, depth, true));
    }
    return out;
  }
  // A Date, Map, boxed string... has no own keys and would read as an empty rule (match
  // everything); a class instance has fields its prototype supplies (see the file comment).
  // NO_FIELDS: a copy copied again (it holds nothing to inherit).
  if (proto !== Object.prototype && proto !== null && proto !== NO_FIELDS) {
    refuse(root, base, `expected a plain object ({ ... } or Object.create(null)), got ${kindOf(value, proto)}: fields a prototype supplies are not read, so copy them into a plain object`);
  }
  // Sized at once: grown by push from empty, it was allocated twice, the second time 17 slots.
  const values: unknown[] = new Array(names.length);
  for (let i = 0; i < names.length; i++) values[i] = readField(value, names[i] as string, root, base, depth, true);
  return objectOf(names, values);
}

/**
 * The own keys of a plain object, enumerable or not, for a reader that then takes each field it
 * knows once with {@link readOwn} and checks what it read (normalizeRule; checkConnlimit and
 * checkTarget in validate.ts): what snapshot() gives, without the copy, which would be built only
 * to be taken apart again through a generic store and load a field. null for anything but a
 * plain object, and for one that throws while its kind is read: snapshot() then refuses it as
 * it does, or copies the array or bytes it is.
 * @example const names = plainKeys(rule.connlimit);
 */
export function plainKeys(value: unknown): string[] | null {
  if (typeof value !== 'object' || value === null) return null;
  try {
    if (value instanceof Uint8Array || Array.isArray(value)) return null;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto !== Object.prototype && proto !== null && proto !== NO_FIELDS) return null;
    return Object.getOwnPropertyNames(value);
  } catch {
    return null;
  }
}

/**
 * Field `key` of `value`, a plain object (see {@link plainKeys}), read once, copied as snapshot()
 * copies, or, `asRead`, handed over as read, for its reader to take apart with plainKeys and
 * readOwn in turn (a typed rule's connlimit and target: never copied into objects of their own).
 * A getter or trap that throws is refused, naming `at.key` (`key` when `at` is null).
 * @param root names the value read from ('rule'); `at`, the field of it that `value` is, if any ('connlimit')
 * @throws {ERR_CONNLIMIT_INVALID} as snapshot(), for what the field holds
 * @example const count = readOwn(connlimit, 'count', 'rule', 'connlimit');
 */
export function readOwn(value: object, key: string, root: string, at: string | null, asRead = false): unknown {
  const base = keys.length;
  if (at !== null) keys.push(at);
  try {
    const out = readField(value, key, root, base, 0, !asRead);
    if (at !== null) keys.pop();
    return out;
  } finally {
    // A refusal leaves its keys behind. (Only then: setting length costs a call into the runtime.)
    if (keys.length !== base) keys.length = base;
  }
}

/**
 * Deep-copies plain objects, arrays and byte arrays (primitives pass through). A getter or
 * Proxy trap that throws becomes a ValidationError naming the field; `root` names the value
 * itself ('rule', 'options'), or the value it was read from when `at` names the field.
 * @throws {ERR_CONNLIMIT_INVALID} for anything but plain data (see the file comment), at any depth
 * @example const spec = snapshot(userSpec, 'rule');
 */
export function snapshot<T>(value: T, root: string, at: string | null = null): T {
  if (typeof value !== 'object' || value === null) return value;
  const base = keys.length;
  if (at !== null) keys.push(at);
  try {
    const out = copy(value, root, base, 0) as T;
    if (at !== null) keys.pop();
    return out;
  } finally {
    // A refusal leaves its keys behind. (Only then: setting length costs a call into the runtime.)
    if (keys.length !== base) keys.length = base;
  }
}
