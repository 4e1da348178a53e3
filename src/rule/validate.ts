// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The typed-object spelling of a rule (`RuleSpec`) checked and normalized into `NativeRule`,
 * plus the value checks the text parser shares (interfaces, comments, chain names, ports).
 *
 * Users call us from plain JavaScript, so nothing here trusts the static types: every field is
 * checked at run time, each field read once and checked as read (snapshot.ts: plain data only,
 * class instances and objects with prototypes of their own refused, whose inherited fields would
 * be missed; nested objects copied, but a rule's connlimit and target, read the same way), only own
 * properties are read (a polluted `Object.prototype` cannot inject a field), unknown keys are refused (`__proto__` and `constructor` included, since
 * `JSON.parse` makes them own keys), and every problem found is reported at once with the
 * path of its field.
 */
import { jsonQuote, quote } from '../echo';
import { ValidationError, type ValidationIssue } from '../errors';
import type { NativeAddress, NativeInterface, NativeMatch, NativePortRange, NativeRule, NativeTarget } from '../native-types';
import type { Family, RuleSpec } from './types';
import { isZero, parseAddress } from './address';
import * as names from './names';
import { type SpecChecker, chainProblem, encodeExtension, findModule, findModuleByKind, moduleKinds, moduleNames, protocolProblem } from './modules';
import { opaqueToMatch } from './to-spec';
import { commentProblem } from './comment';
import * as snapshots from './snapshot';

// Copied once, as in common-shape.ts: under a loader that compiles imports to getters (tsx, which
// the benches and tests run under), every read of an imported binding is a call, and
// normalizeRule reads these for every rule of a transaction.
const {
  BUILTIN_CHAINS, IPPROTO_TCP, IPPROTO_UDP, IPV6_EXTENSION_HEADER_PROTOCOLS, MAX_CHAIN_NAME_LENGTH, MAX_CONNLIMIT,
  MAX_INTERFACE_LENGTH, PROTOCOL_NUMBERS, REJECT_TCP_RESET, RESERVED_TARGET_NAMES, SYN_FLAG_COMPARE, SYN_FLAG_MASK,
  TCP_FLAG_BITS, addressBits, defaultRejectWith, isProtocolName, isRejectWith, isTcpFlag, isVerdict, protocolNumber, rejectTypes,
} = names;
const { objectOf, plainKeys, readOwn, snapshot } = snapshots;

// ---------------------------------------------------------------------------------------------
// Value checks shared with the parser. Each returns a message, or null when the value is fine.

/**
 * Chain names we accept: 1–28 characters (a jump target's name field holds 28 plus NUL),
 * starting with a letter, digit or `_` (so never `-` or `!`, which the CLI would read as an
 * option or a negation), then letters, digits and `_ . : @ + -`. No white space, quotes or
 * shell metacharacters, even though libiptc would store them: a chain name ends up in logs,
 * scripts and iptables-save files, where such characters only ever come from mistakes or
 * injection attempts.
 */
export const CHAIN_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,27}$/;

/**
 * Interface names we accept before an optional trailing `+`: letters, digits and `_ . @ -`,
 * not starting with `-`. The kernel (`dev_valid_name`) refuses `/`, `:`, white space, `.` and
 * `..`; we also refuse quotes and shell metacharacters, which no real interface needs.
 */
const INTERFACE_PATTERN = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]*$/;

/** Why `name` can't be a chain name, or null. Built-in chain names are fine here. */
export function chainNameProblem(name: string): string | null {
  if (name.length === 0) return 'an empty chain name';
  if (name.includes('\0')) return 'a chain name with a NUL byte';
  if (name.length > MAX_CHAIN_NAME_LENGTH) return `chain name ${quote(name)} is longer than ${MAX_CHAIN_NAME_LENGTH} characters`;
  if (!CHAIN_NAME_PATTERN.test(name)) {
    return `chain name ${quote(name)} has characters we don't allow: use letters, digits and _ . : @ + -, starting with a letter, digit or _`;
  }
  if (RESERVED_TARGET_NAMES.has(name)) return `${quote(name)} is a target name, not a chain name`;
  return null;
}

/** Why `-j NAME`/`-g NAME` can't jump to `name` as a user chain, or null. */
export function jumpChainProblem(name: string, how: 'jump' | 'goto'): string | null {
  const p = chainNameProblem(name);
  if (p) return p;
  if (BUILTIN_CHAINS.has(name)) return `can't ${how} to built-in chain ${name} (the kernel refuses it)`;
  if (isVerdict(name.toUpperCase()) || name.toUpperCase() === 'REJECT') {
    return `${quote(name)} is not a chain; did you mean the target ${name.toUpperCase()}?`;
  }
  return null;
}

/**
 * Parse an interface name as `-i`/`-o` take it: `eth0`, or `eth+` for every name starting
 * with `eth`. A lone `+` matches every interface and gives null (no interface test at all, as
 * the CLI stores it). Returns the interface, null, or a message.
 */
export function parseInterface(text: string, invert: boolean): NativeInterface | null | { error: string } {
  if (text.length === 0) return { error: 'an empty interface name' };
  if (text.includes('\0')) return { error: 'an interface name with a NUL byte' };
  if (text.length > MAX_INTERFACE_LENGTH) {
    return { error: `interface name ${quote(text)} is longer than ${MAX_INTERFACE_LENGTH} characters (IFNAMSIZ)` };
  }
  const wildcard = text.endsWith('+');
  const name = wildcard ? text.slice(0, -1) : text;
  if (name === '') {
    // The CLI stores a zero mask; iptables-save then prints nothing, even with `!`.
    return invert ? { error: `'! +' would match no interface at all` } : null;
  }
  if (name === '.' || name === '..' || !INTERFACE_PATTERN.test(name)) {
    return { error: `interface name ${quote(text)} is not valid: use letters, digits and _ . @ - (a trailing + is a wildcard)` };
  }
  return { name, wildcard, invert };
}

/** Opaque extension names: what fits the 29-byte name field, in the charset extensions use. */
const EXTENSION_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,27}$/;

// ---------------------------------------------------------------------------------------------
// Exported checks for the firewall layer

/**
 * Check a chain name (built-in or user) and return it.
 *
 * @param name - the value to check (anything: callers may be plain JavaScript)
 * @param path - the field name for the error
 * @throws {ERR_CONNLIMIT_INVALID} when it is not a string or breaks {@link CHAIN_NAME_PATTERN}
 * @example validateChainName('CL_SSH') // 'CL_SSH'
 */
export function validateChainName(name: unknown, path = 'chain'): string {
  if (typeof name !== 'string') throw new ValidationError([{ path, message: `expected a chain name (string), got ${describe(name)}` }]);
  const p = chainNameProblem(name);
  if (p) throw new ValidationError([{ path, message: p }]);
  return name;
}

/** The largest rule position we take; libiptc's rule numbers are `unsigned int`, we stay in int32. */
export const MAX_POSITION = 0x7fffffff;

/**
 * Check a 1-based rule position (as the CLI numbers rules) and return it.
 *
 * @throws {ERR_CONNLIMIT_INVALID} unless it is an integer from 1 to {@link MAX_POSITION}
 * @example validatePosition(1, 'position') // 1
 */
export function validatePosition(n: unknown, path: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_POSITION) {
    throw new ValidationError([{ path, message: `expected an integer position from 1 (1-based, as the CLI), got ${describe(n)}` }]);
  }
  return n;
}

/**
 * Check what the CLI checks against the chain a rule goes to: no `-o` in INPUT/PREROUTING
 * (packets there have no output interface yet), no `-i` in OUTPUT/POSTROUTING.
 *
 * @throws {ERR_CONNLIMIT_INVALID} with path `path` (default 'rule')
 */
export function validateRuleForChain(rule: NativeRule, chain: string, path = 'rule'): void {
  if (rule.outInterface && (chain === 'INPUT' || chain === 'PREROUTING')) {
    throw new ValidationError([{ path: `${path}.outInterface`, message: `an output interface (-o) can't be used in ${chain}` }]);
  }
  if (rule.inInterface && (chain === 'OUTPUT' || chain === 'POSTROUTING')) {
    throw new ValidationError([{ path: `${path}.inInterface`, message: `an input interface (-i) can't be used in ${chain}` }]);
  }
  for (let i = 0; i < rule.matches.length; i++) {
    const m = rule.matches[i] as NativeMatch;
    const p = m.kind === 'opaque' ? chainProblem('match', m, chain) : null;
    if (p) throw new ValidationError([{ path: `${path}.matches[${i}]`, message: p }]);
  }
  const t = rule.target.kind === 'opaque' ? chainProblem('target', rule.target, chain) : null;
  if (t) throw new ValidationError([{ path: `${path}.target`, message: t }]);
}

// ---------------------------------------------------------------------------------------------
// normalizeRule

/** A short, safe description of a received value for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return jsonQuote(v);
  if (typeof v === 'bigint') return `${v}n (a bigint)`;
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  return `a ${typeof v}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function own(o: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function has(o: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key) && o[key] !== undefined;
}

const RULE_KEYS = new Set([
  'protocol', 'source', 'destination', 'inInterface', 'outInterface', 'fragment', 'sport', 'dport',
  'syn', 'tcpFlags', 'tcpOption', 'connlimit', 'comment', 'matches', 'target',
]);

/**
 * Collects issues; each check reports and returns undefined on failure so the walk goes on.
 * Registry modules check their parts through it (it is their SpecChecker).
 */
class Checker implements SpecChecker {
  /** Made at the first problem: a rule that has none (nearly every one) makes no array. */
  issues: ValidationIssue[] | null = null;
  constructor(readonly family: Family) {}

  add(path: string, message: string): undefined {
    (this.issues ??= []).push({ path, message });
    return undefined;
  }

  /**
   * Refuse keys outside `allowed` (own enumerable keys, `__proto__` included). for-in with an
   * own-key test, not Object.keys: that made an array per nested object of every typed rule
   * (~120 bytes a rule), where for-in reads the object's cached key list.
   */
  keys(o: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
    for (const k in o) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
      if (!allowed.has(k)) {
        const where = path ? `${path}.${k}` : k;
        this.add(where, `unknown key ${quote(k)} (known: ${[...allowed].join(', ')})`);
      }
    }
  }

  /** As {@link keys}, for an object read field by field (its keys from snapshot.ts plainKeys). */
  fieldNames(names: readonly string[], allowed: ReadonlySet<string>, path: string): void {
    for (let i = 0; i < names.length; i++) {
      const k = names[i] as string;
      if (!allowed.has(k)) this.add(`${path}.${k}`, `unknown key ${quote(k)} (known: ${[...allowed].join(', ')})`);
    }
  }

  /** Unwrap `T | { not: T }`. */
  negatable(v: unknown, path: string): { value: unknown; invert: boolean; path: string } {
    if (isObject(v) && Object.prototype.hasOwnProperty.call(v, 'not')) {
      this.keys(v, NOT_KEYS, path);
      return { value: own(v, 'not'), invert: true, path: `${path}.not` };
    }
    return { value: v, invert: false, path };
  }

  int(v: unknown, path: string, min: number, max: number, what = 'an integer'): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return this.add(path, `expected ${what} ${min}-${max}, got ${describe(v)}`);
    }
    return v;
  }

  string(v: unknown, path: string, what: string): string | undefined {
    if (typeof v !== 'string') return this.add(path, `expected ${what} (a string), got ${describe(v)}`);
    return v;
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (typeof v !== 'boolean') return this.add(path, `expected true or false, got ${describe(v)}`);
    return v;
  }
}

const NOT_KEYS = new Set(['not']);

/**
 * Every port, shared by the typed rules that name no port on a side, as common-shape.ts shares
 * its own with the rules read from text: rules are read-only, and frozen it throws rather than
 * change other rules.
 */
const EVERY_PORT: NativePortRange = Object.freeze([0, 65535]) as unknown as NativePortRange;
const PORT_KEYS = new Set(['from', 'to']);
const FLAGS_KEYS = new Set(['mask', 'set']);
const CONNLIMIT_KEYS = new Set(['kind', 'count', 'maskBits', 'key']);
const OPAQUE_KEYS = new Set(['kind', 'name', 'revision', 'data']);
const KIND_ONLY = new Set(['kind']);
const REJECT_KEYS = new Set(['kind', 'with']);
const CHAIN_KEYS = new Set(['kind', 'chain']);

/** Whether `v` is `{ not: ... }`. Checked before negatable(), which makes an object per call, on a path each typed rule takes. */
function isNegation(v: unknown): v is Record<string, unknown> {
  return isObject(v) && Object.prototype.hasOwnProperty.call(v, 'not');
}

type CheckedProtocol = { readonly num: number; readonly invert: boolean };

/** Checked protocols, one shared frozen object per number (index 256 + num when inverted), as common-shape.ts shares its parts: not one per rule. */
const PROTOCOLS: (CheckedProtocol | undefined)[] = [];

function checkedProtocol(num: number, invert: boolean): CheckedProtocol {
  const at = invert ? 256 + num : num;
  return (PROTOCOLS[at] ??= Object.freeze({ num, invert }));
}

function checkProtocol(c: Checker, v: unknown): CheckedProtocol | undefined {
  const n = isNegation(v) ? c.negatable(v, 'protocol') : null;
  const value = n ? n.value : v;
  const path = n ? n.path : 'protocol';
  const invert = n !== null;
  let num: number | undefined;
  if (typeof value === 'string') {
    if (isProtocolName(value)) num = PROTOCOL_NUMBERS[value];
    else {
      const known = protocolNumber(value);
      const hint = known !== undefined ? ` (for this one give the number ${known})` : '';
      return c.add(path, `unknown protocol ${describe(value)}: use ${Object.keys(PROTOCOL_NUMBERS).join(', ')} or a number 0-255${hint}`);
    }
  } else if (typeof value === 'number') {
    num = c.int(value, path, 0, 255, 'a protocol number');
  } else {
    return c.add(path, `expected a protocol name or number, got ${describe(value)}`);
  }
  if (num === undefined) return undefined;
  if (num === 0 && invert) return c.add(path, `'not all' would never match`);
  if (c.family === 'ipv6' && IPV6_EXTENSION_HEADER_PROTOCOLS.has(num)) {
    return c.add(path, `protocol ${num} is an IPv6 extension header: ip6tables rules with it never match (use an extension match)`);
  }
  return checkedProtocol(num, invert);
}

function checkAddress(c: Checker, v: unknown, path: string): NativeAddress | null | undefined {
  const n = c.negatable(v, path);
  const text = c.string(n.value, n.path, 'an address or CIDR');
  if (text === undefined) return undefined;
  const r = parseAddress(text, c.family);
  if ('error' in r) return c.add(n.path, r.error);
  // 0.0.0.0/0 is the same bytes as no address at all.
  if (isZero(r.mask) && !n.invert) return null;
  return { addr: r.addr, mask: r.mask, invert: n.invert };
}

function checkInterface(c: Checker, v: unknown, path: string): NativeInterface | null | undefined {
  const n = c.negatable(v, path);
  const text = c.string(n.value, n.path, 'an interface name');
  if (text === undefined) return undefined;
  const r = parseInterface(text, n.invert);
  if (r && 'error' in r) return c.add(n.path, r.error);
  return r;
}

/** The range `v` names; `invert` is isNegation(v), which the caller keeps (no wrapper per port). */
function checkPort(c: Checker, v: unknown, path: string, invert: boolean): NativePortRange | undefined {
  const n = invert ? c.negatable(v, path) : null;
  const value = n ? n.value : v;
  const at = n ? n.path : path;
  let range: NativePortRange | undefined;
  if (typeof value === 'number') {
    const p = c.int(value, at, 0, 65535, 'a port');
    if (p !== undefined) range = [p, p];
  } else if (isObject(value)) {
    c.keys(value, PORT_KEYS, at);
    const from = c.int(own(value, 'from'), `${at}.from`, 0, 65535, 'a port');
    const to = c.int(own(value, 'to'), `${at}.to`, 0, 65535, 'a port');
    if (from !== undefined && to !== undefined) {
      if (from > to) c.add(at, `port range ${from}-${to} is backwards (from > to)`);
      else range = [from, to];
    }
  } else {
    return c.add(at, `expected a port or { from, to }, got ${describe(value)}`);
  }
  if (!range) return undefined;
  if (invert && range[0] === 0 && range[1] === 65535) return c.add(at, `'not every port' would never match`);
  return range;
}

function checkFlagList(c: Checker, v: unknown, path: string): number | undefined {
  if (!Array.isArray(v)) return c.add(path, `expected an array of TCP flags, got ${describe(v)}`);
  let bits = 0;
  let ok = true;
  v.forEach((f: unknown, i) => {
    if (isTcpFlag(f)) bits |= TCP_FLAG_BITS[f];
    else {
      ok = false;
      c.add(`${path}[${i}]`, `expected one of ${Object.keys(TCP_FLAG_BITS).join(', ')}, got ${describe(f)}`);
    }
  });
  return ok ? bits : undefined;
}

/**
 * What the rule's field `at` holds when it is no plain object, reported as not `expected` (and
 * what is no plain data, a class instance or a Date, refused by snapshot() as anywhere else).
 */
function notPlain(c: Checker, v: unknown, at: string, expected: string): undefined {
  return c.add(at, `expected ${expected}, got ${describe(snapshot(v, 'rule', at))}`);
}

/** The value of field `name`, from a plain object's `names` and the `values` read of them; undefined when absent. */
function fieldOf(names: readonly string[], values: readonly unknown[], name: string): unknown {
  const i = names.indexOf(name);
  return i < 0 ? undefined : values[i];
}

function checkConnlimit(c: Checker, v: unknown): NativeMatch | undefined {
  // Each field read once, as it comes (snapshot.ts readOwn), and checked from what was read.
  const names = plainKeys(v);
  if (names === null) return notPlain(c, v, 'connlimit', '{ kind, count, maskBits?, key? }');
  const o = v as object;
  let kind: unknown;
  let countField: unknown;
  let maskField: unknown;
  let keyField: unknown;
  for (let i = 0; i < names.length; i++) {
    const k = names[i] as string;
    switch (k) {
      case 'kind':
        kind = readOwn(o, k, 'rule', 'connlimit');
        break;
      case 'count':
        countField = readOwn(o, k, 'rule', 'connlimit');
        break;
      case 'maskBits':
        maskField = readOwn(o, k, 'rule', 'connlimit');
        break;
      case 'key':
        keyField = readOwn(o, k, 'rule', 'connlimit');
        break;
      default:
        c.add(`connlimit.${k}`, `unknown key ${quote(k)} (known: ${[...CONNLIMIT_KEYS].join(', ')})`);
    }
  }
  if (kind !== 'above' && kind !== 'upTo') c.add('connlimit.kind', `expected 'above' or 'upTo', got ${describe(kind)}`);
  const count = c.int(countField, 'connlimit.count', 0, MAX_CONNLIMIT, 'an integer count');
  let maskBits: number | null = null;
  if (maskField !== undefined) {
    const width = addressBits(c.family);
    maskBits = c.int(maskField, 'connlimit.maskBits', 0, width, `a prefix length for ${c.family}`) ?? null;
  }
  let daddr = false;
  if (keyField === 'destination') daddr = true;
  else if (keyField !== undefined && keyField !== 'source') c.add('connlimit.key', `expected 'source' or 'destination', got ${describe(keyField)}`);
  if ((kind !== 'above' && kind !== 'upTo') || count === undefined) return undefined;
  return { kind: 'connlimit', limit: count, invert: kind === 'upTo', daddr, maskBits };
}

function checkOpaque(c: Checker, v: unknown, path: string, isTarget: boolean): { name: string; revision: number; data: Buffer } | undefined {
  if (!isObject(v)) return c.add(path, `expected { kind: 'opaque', name, revision, data }, got ${describe(v)}`);
  c.keys(v, OPAQUE_KEYS, path);
  if (own(v, 'kind') !== 'opaque') {
    const kinds = isTarget ? [] : moduleNames('match');
    c.add(`${path}.kind`, `expected ${[...kinds, 'opaque'].map((k) => `'${k}'`).join(', ')}, got ${describe(own(v, 'kind'))}`);
  }
  const name = c.string(own(v, 'name'), `${path}.name`, 'an extension name');
  if (name !== undefined) {
    if (!EXTENSION_NAME_PATTERN.test(name)) c.add(`${path}.name`, `extension name ${describe(name)} is not valid (1-28 of letters, digits, _ . -)`);
    else if (isTarget && isVerdict(name)) c.add(`${path}.name`, `${name} is a standard verdict, not an extension: use { kind: '${name.toLowerCase()}' }`);
  }
  const revision = c.int(own(v, 'revision'), `${path}.revision`, 0, 255, 'a revision');
  const data = own(v, 'data');
  let buf: Buffer | undefined;
  if (!(data instanceof Uint8Array)) c.add(`${path}.data`, `expected a Uint8Array or Buffer, got ${describe(data)}`);
  else if (data.length % 8 !== 0 || data.length > 0xffff - 32) {
    // The header's u16 size covers header + data and must be XT_ALIGNed (8).
    c.add(`${path}.data`, `expected a multiple of 8 bytes below 65504 (the kernel's aligned data), got ${data.length}`);
  } else buf = Buffer.from(data);
  if (name === undefined || revision === undefined || !buf || !EXTENSION_NAME_PATTERN.test(name)) return undefined;
  return { name, revision, data: buf };
}

/**
 * The targets that hold no value of the rule's own, shared and frozen as common-shape.ts shares a
 * shape's target: a verdict, a REJECT of one type (made at its first use), none.
 */
const VERDICT_TARGETS: Readonly<Record<'accept' | 'drop' | 'return' | 'queue', NativeTarget>> = {
  accept: Object.freeze({ kind: 'verdict', verdict: 'ACCEPT' }),
  drop: Object.freeze({ kind: 'verdict', verdict: 'DROP' }),
  return: Object.freeze({ kind: 'verdict', verdict: 'RETURN' }),
  queue: Object.freeze({ kind: 'verdict', verdict: 'QUEUE' }),
};
const REJECT_TARGETS = new Map<string, NativeTarget>();
const NO_TARGET: NativeTarget = Object.freeze({ kind: 'none' });

function rejectTarget(w: string): NativeTarget {
  let t = REJECT_TARGETS.get(w);
  if (t === undefined) REJECT_TARGETS.set(w, (t = Object.freeze({ kind: 'reject', with: w })));
  return t;
}

function checkTarget(c: Checker, v: unknown, proto: CheckedProtocol | null, matches: readonly NativeMatch[]): NativeTarget | undefined {
  const names = plainKeys(v);
  if (names === null) return notPlain(c, v, 'target', 'a target object { kind, ... }');
  // Each field read once (snapshot.ts readOwn); a registry module's target is handed the copy
  // snapshot() would have made, built from them.
  const values: unknown[] = new Array(names.length);
  for (let i = 0; i < names.length; i++) values[i] = readOwn(v as object, names[i] as string, 'rule', 'target');
  const kind = fieldOf(names, values, 'kind');
  switch (kind) {
    case 'accept':
    case 'drop':
    case 'return':
    case 'queue':
      c.fieldNames(names, KIND_ONLY, 'target');
      return VERDICT_TARGETS[kind];
    case 'reject': {
      c.fieldNames(names, REJECT_KEYS, 'target');
      let w: string = defaultRejectWith(c.family);
      const given = fieldOf(names, values, 'with');
      if (given !== undefined) {
        if (!isRejectWith(c.family, given)) {
          return c.add('target.with', `expected one of ${rejectTypes(c.family).map((t) => t.name).join(', ')} for ${c.family}, got ${describe(given)}`);
        }
        w = given;
      }
      if (w === REJECT_TCP_RESET && (!proto || proto.num !== IPPROTO_TCP || proto.invert)) {
        return c.add('target.with', `tcp-reset needs protocol 'tcp' (the kernel refuses it otherwise)`);
      }
      return rejectTarget(w);
    }
    case 'jump':
    case 'goto': {
      c.fieldNames(names, CHAIN_KEYS, 'target');
      const chain = c.string(fieldOf(names, values, 'chain'), 'target.chain', 'a chain name');
      if (chain === undefined) return undefined;
      const p = jumpChainProblem(chain, kind);
      if (p) return c.add('target.chain', p);
      return { kind, chain };
    }
    case 'opaque': {
      const o = checkOpaque(c, objectOf(names, values), 'target', true);
      return o && { kind: 'opaque', ...o };
    }
    default: {
      // A registry target module (`{ kind: 'log', ... }`), written as its xt blob.
      const module = typeof kind === 'string' ? findModuleByKind('target', kind) : undefined;
      if (module) {
        if (!module.families.includes(c.family)) return c.add('target.kind', `target ${kind} is not available for ${c.family}`);
        const part = module.validate(objectOf(names, values), 'target', c);
        const wrongProtocol = protocolProblem(module, proto);
        if (wrongProtocol) return c.add('target.kind', wrongProtocol);
        const p = part && module.ruleProblem?.(part, { protocol: proto?.num ?? 0, invProtocol: proto?.invert ?? false, matches });
        if (p) return c.add('target', p);
        return part && encodeExtension(module, part, c.family);
      }
      const kinds = ['accept', 'drop', 'return', 'queue', 'reject', 'jump', 'goto', ...moduleKinds('target'), 'opaque'];
      return c.add('target.kind', `expected ${kinds.map((k) => `'${k}'`).join(', ')}, got ${describe(kind)}`);
    }
  }
}

/** Whether `field` fits the rule's protocol; reports it when not (no closure: called per rule). */
function needsL4(c: Checker, proto: CheckedProtocol | null | undefined, field: string, tcpOnly: boolean): boolean {
  const isTcp = !!proto && proto.num === IPPROTO_TCP && !proto.invert;
  const isUdp = !!proto && proto.num === IPPROTO_UDP && !proto.invert;
  if (isTcp || (!tcpOnly && isUdp)) return true;
  if (proto === undefined) return false; // the protocol itself was wrong: reported already
  c.add(field, tcpOnly ? `${field} needs protocol 'tcp'` : `${field} needs protocol 'tcp' or 'udp'`);
  return false;
}

/**
 * Check a typed rule and normalize it into the form that crosses into C++.
 * Matches come in canonical order: tcp/udp, connlimit, comment, then `matches` as given.
 *
 * @param input - a {@link RuleSpec} (checked at run time: it may come from plain JavaScript)
 * @param family - 'ipv4' or 'ipv6'
 * @throws {ERR_CONNLIMIT_INVALID} a ValidationError listing every problem in `issues`, each with the
 *   field `path` (`connlimit.count`, `target.chain`, `matches[1].data`, ...)
 * @example
 * normalizeRule({ protocol: 'tcp', syn: true, dport: 22, connlimit: { kind: 'above', count: 2 }, target: { kind: 'reject' } }, 'ipv4')
 */
export function normalizeRule(input: RuleSpec, family: Family): NativeRule {
  if (family !== 'ipv4' && family !== 'ipv6') {
    throw new ValidationError([{ path: 'family', message: `expected 'ipv4' or 'ipv6', got ${describe(family)}` }]);
  }
  const raw: unknown = input;
  const names = plainKeys(raw);
  // No plain object: what is no plain data (a class instance, a Date) refused as snapshot() refuses it.
  if (names === null) throw new ValidationError([{ path: 'rule', message: `expected a rule object, got ${describe(snapshot(raw, 'rule'))}` }]);
  return normalizeFields(raw as object, names, family);
}

/**
 * @internal {@link normalizeRule} of a plain object and its own keys (snapshot.ts plainKeys):
 * each known field read once (readOwn), as it comes, and checked from what was read; no copy of
 * the rule is made to be read back here.
 */
function normalizeFields(rule: object, names: readonly string[], family: Family): NativeRule {
  const c = new Checker(family);
  // The known fields, each read once, in one pass over the object's own keys (unknown ones
  // reported as they come): not a lookup per known key, which cost a typed rule more than
  // parsing its text did. A field holding undefined counts as absent.
  let protocolField: unknown;
  let sourceField: unknown;
  let destinationField: unknown;
  let inInterfaceField: unknown;
  let outInterfaceField: unknown;
  let fragmentField: unknown;
  let sportField: unknown;
  let dportField: unknown;
  let synField: unknown;
  let tcpFlagsField: unknown;
  let tcpOptionField: unknown;
  let connlimitField: unknown;
  let commentField: unknown;
  let matchesField: unknown;
  let targetField: unknown;
  for (let i = 0; i < names.length; i++) {
    const k = names[i] as string;
    switch (k) {
      case 'protocol':
        protocolField = readOwn(rule, k, 'rule', null);
        break;
      case 'source':
        sourceField = readOwn(rule, k, 'rule', null);
        break;
      case 'destination':
        destinationField = readOwn(rule, k, 'rule', null);
        break;
      case 'inInterface':
        inInterfaceField = readOwn(rule, k, 'rule', null);
        break;
      case 'outInterface':
        outInterfaceField = readOwn(rule, k, 'rule', null);
        break;
      case 'fragment':
        fragmentField = readOwn(rule, k, 'rule', null);
        break;
      case 'sport':
        sportField = readOwn(rule, k, 'rule', null);
        break;
      case 'dport':
        dportField = readOwn(rule, k, 'rule', null);
        break;
      case 'syn':
        synField = readOwn(rule, k, 'rule', null);
        break;
      case 'tcpFlags':
        tcpFlagsField = readOwn(rule, k, 'rule', null);
        break;
      case 'tcpOption':
        tcpOptionField = readOwn(rule, k, 'rule', null);
        break;
      case 'connlimit':
        connlimitField = readOwn(rule, k, 'rule', null, true);
        break;
      case 'comment':
        commentField = readOwn(rule, k, 'rule', null);
        break;
      case 'matches':
        matchesField = readOwn(rule, k, 'rule', null);
        break;
      case 'target':
        targetField = readOwn(rule, k, 'rule', null, true);
        break;
      default:
        c.add(k, `unknown key ${quote(k)} (known: ${[...RULE_KEYS].join(', ')})`);
    }
  }

  const proto = protocolField !== undefined ? checkProtocol(c, protocolField) : null;
  const protoNum = proto ? proto.num : 0;
  const src = sourceField !== undefined ? checkAddress(c, sourceField, 'source') : null;
  const dst = destinationField !== undefined ? checkAddress(c, destinationField, 'destination') : null;
  const inIf = inInterfaceField !== undefined ? checkInterface(c, inInterfaceField, 'inInterface') : null;
  const outIf = outInterfaceField !== undefined ? checkInterface(c, outInterfaceField, 'outInterface') : null;

  let fragment: boolean | null = null;
  if (fragmentField !== undefined) {
    const given = c.bool(fragmentField, 'fragment');
    if (given !== undefined) {
      if (family === 'ipv6') c.add('fragment', `fragment is IPv4 only (ip6tables uses the frag match)`);
      else fragment = given;
    }
  }

  // tcp/udp fields. Which protocol they need is checked once, per field.
  const isTcp = !!proto && proto.num === IPPROTO_TCP && !proto.invert;
  const isUdp = !!proto && proto.num === IPPROTO_UDP && !proto.invert;
  let l4Used = false;
  let sport: NativePortRange | undefined;
  let dport: NativePortRange | undefined;
  const invSport = sportField !== undefined && isNegation(sportField);
  const invDport = dportField !== undefined && isNegation(dportField);
  if (sportField !== undefined) {
    l4Used = true;
    sport = checkPort(c, sportField, 'sport', invSport);
    needsL4(c, proto, 'sport', false);
  }
  if (dportField !== undefined) {
    l4Used = true;
    dport = checkPort(c, dportField, 'dport', invDport);
    needsL4(c, proto, 'dport', false);
  }
  let flagMask = 0;
  let flagCompare = 0;
  let invFlags = false;
  if (synField !== undefined) {
    l4Used = true;
    const s = c.bool(synField, 'syn');
    needsL4(c, proto, 'syn', true);
    if (s !== undefined) {
      flagMask = SYN_FLAG_MASK;
      flagCompare = SYN_FLAG_COMPARE;
      invFlags = !s;
    }
    if (tcpFlagsField !== undefined) c.add('tcpFlags', `give syn or tcpFlags, not both (syn is tcpFlags FIN,SYN,RST,ACK / SYN)`);
  } else if (tcpFlagsField !== undefined) {
    l4Used = true;
    const n = c.negatable(tcpFlagsField, 'tcpFlags');
    needsL4(c, proto, 'tcpFlags', true);
    if (!isObject(n.value)) c.add(n.path, `expected { mask: [...], set: [...] }, got ${describe(n.value)}`);
    else {
      c.keys(n.value, FLAGS_KEYS, n.path);
      const mask = checkFlagList(c, own(n.value, 'mask'), `${n.path}.mask`);
      const set = checkFlagList(c, own(n.value, 'set'), `${n.path}.set`);
      if (mask !== undefined && set !== undefined) {
        if ((set & ~mask) !== 0) c.add(`${n.path}.set`, `set has flags outside mask: the rule would never match`);
        flagMask = mask;
        flagCompare = set;
        invFlags = n.invert;
      }
    }
  }
  let option = 0;
  let invOption = false;
  if (tcpOptionField !== undefined) {
    l4Used = true;
    const n = c.negatable(tcpOptionField, 'tcpOption');
    needsL4(c, proto, 'tcpOption', true);
    const o = c.int(n.value, n.path, 1, 255, 'a TCP option kind');
    if (o !== undefined) {
      option = o;
      invOption = n.invert;
    }
  }

  const matches: NativeMatch[] = [];
  if (l4Used && (isTcp || isUdp)) {
    // Every port where a side is not given, shared (EVERY_PORT). A side given and refused has
    // thrown below, before this rule is used.
    const sportRange: NativePortRange = sport ?? EVERY_PORT;
    const dportRange: NativePortRange = dport ?? EVERY_PORT;
    if (isTcp) {
      matches.push({
        kind: 'tcp', sport: sportRange, dport: dportRange, option, flagMask, flagCompare,
        invSport, invDport, invFlags, invOption,
      });
    } else {
      matches.push({ kind: 'udp', sport: sportRange, dport: dportRange, invSport, invDport });
    }
  }
  if (connlimitField !== undefined) {
    const m = checkConnlimit(c, connlimitField);
    if (m) matches.push(m);
  }
  if (commentField !== undefined) {
    const text = c.string(commentField, 'comment', 'a comment');
    if (text !== undefined) {
      const p = commentProblem(text);
      if (p) c.add('comment', p);
      else matches.push({ kind: 'comment', comment: text });
    }
  }
  if (matchesField !== undefined) {
    const list = matchesField;
    if (!Array.isArray(list)) c.add('matches', `expected an array of module or opaque matches, got ${describe(list)}`);
    else {
      list.forEach((m: unknown, i) => {
        const path = `matches[${i}]`;
        const kind = isObject(m) ? own(m, 'kind') : undefined;
        const module = typeof kind === 'string' && kind !== 'opaque' ? findModule('match', kind) : undefined;
        if (isObject(m) && module) {
          const part = module.families.includes(family) ? module.validate(m, path, c) : c.add(`${path}.kind`, `match ${kind} is not available for ${family}`);
          const wrongProtocol = proto === undefined ? null : protocolProblem(module, proto);
          if (wrongProtocol) c.add(`${path}.kind`, wrongProtocol);
          if (part) matches.push(encodeExtension(module, part, family));
          return;
        }
        const o = checkOpaque(c, m, path, false);
        // connlimit's last 8 bytes are the kernel's pointer, which a legacy listing reports
        // filled in: only the typed match compares without them (delete, check). Its exact
        // bytes (a listing's out-of-slot connlimit, e.g. after a conntrack match) are that match.
        const typed = o && o.name === 'connlimit' ? opaqueToMatch(o) : null;
        if (typed) matches.push(typed);
        else if (o) matches.push({ kind: 'opaque', ...o });
      });
    }
  }

  const target: NativeTarget | undefined = targetField !== undefined ? checkTarget(c, targetField, proto ?? null, matches) : NO_TARGET;

  if (c.issues) throw new ValidationError(c.issues);
  return {
    protocol: protoNum,
    invProtocol: proto ? proto.invert : false,
    src: src ?? null,
    dst: dst ?? null,
    inInterface: inIf ?? null,
    outInterface: outIf ?? null,
    fragment,
    matches,
    target: target!,
  };
}
