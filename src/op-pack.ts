// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The packed op form: a commit's ops (and the rules of check/sameRule) cross into the addon as
 * one byte buffer written here, which native/core/packed_ops.cc decodes in the libuv pool. One
 * Node-API call per commit instead of ~100 per op, and no per-op objects on the C++ side of
 * the main thread. The layout is private to this file and packed_ops.cc (change both at once):
 *
 *   batch:  u8 version, u8 family (4|6), then ops until the end
 *   op:     u8 kind (core::Op::Kind order), str chain ('' = every chain), u32 index, str to, u8 hasRule, [rule]
 *   rule:   u8 protocol, u8 bits (RULE_*), [src], [dst], [in], [out], u8 matchCount, matches, target
 *   address: addr bytes, mask bytes (4 or 16 each), u8 invert
 *   interface: str name, u8 (1 wildcard | 2 invert)
 *   match:  u8 kind, then tcp: 4×u16 ports, u8 option, u8 flagMask, u8 flagCompare, u8 inversions;
 *           udp: 4×u16 ports, u8 inversions; connlimit: u32 limit, u8 (1 invert | 2 daddr), u8 maskBits (255 none);
 *           comment: str; opaque: str name, u8 revision, u32 length, bytes, u8 set count, strs (the sets it names)
 *   target: u8 kind, then str name (verdict, chain or reject type), or opaque as a match's
 *   str:    u16 byte length, UTF-8 bytes; numbers little-endian
 *
 * Input is already validated (src/rule/*); what packs here only has to be written down.
 */
import type { NativeAddress, NativeInterface, NativeMatch, NativeOp, NativeRule, NativeTarget } from './native-types';
import type { ShapeValues } from './rule/common-shape';
import type { Family } from './rule/types';

/** Bumped with any change to the layout; packed_ops.cc refuses another. */
const VERSION = 3;

const OP_KINDS: Record<NativeOp['op'], number> = {
  append: 0, insert: 1, replace: 2, delete: 3, deleteAt: 4, ensure: 5,
  flush: 6, zero: 7, createChain: 8, deleteChain: 9, renameChain: 10, setPolicy: 11,
  deleteUserChains: 12, declareChain: 13,
};

const RULE_INV_PROTOCOL = 1;
const RULE_SRC = 2;
const RULE_DST = 4;
const RULE_IN = 8;
const RULE_OUT = 16;
const RULE_FRAGMENT = 32;
const RULE_FRAGMENT_SET = 64;

const MATCH = { tcp: 0, udp: 1, connlimit: 2, comment: 3, opaque: 4 } as const;
const TARGET = { none: 0, verdict: 1, jump: 2, goto: 3, reject: 4, opaque: 5 } as const;

/** A port match's ports when the rule names none. */
const ANY_PORTS: readonly [number, number] = [0, 65535];

/**
 * Where the fields a rule's value words set are in one packed op (byte offsets from its start;
 * -1: not in it), so that copies of it can be written with other values (OpWriter.addPatched).
 */
export interface OpMarks {
  start: number;
  end: number;
  /** Whether the rule names an interface (a string: a copy can't take another length). */
  iface: boolean;
  src: number;
  dst: number;
  /** The tcp or udp match's four ports. */
  ports: number;
  /** The connlimit match's limit (u32), followed by its flags and mask byte. */
  limit: number;
}

/**
 * Appends ops to one growing buffer. Reused rules cost nothing extra: nothing of the rule is
 * copied into objects, its fields are written straight as bytes.
 */
export class OpWriter {
  private bytes: Uint8Array;
  private at = 2;
  private readonly addressBytes: number;
  /** Set while addMarked() writes its op. */
  private marks: OpMarks | null = null;

  constructor(family: Family, expectedOps = 1) {
    // ~40 bytes for an op of the common shape; growing doubles, so a wrong guess costs little.
    this.bytes = new Uint8Array(Math.max(64, expectedOps * 48));
    this.bytes[0] = VERSION;
    this.bytes[1] = family === 'ipv4' ? 4 : 6;
    this.addressBytes = family === 'ipv4' ? 4 : 16;
  }

  add(op: NativeOp): void {
    this.u8(OP_KINDS[op.op]);
    this.str(op.chain ?? '');
    this.u32('index' in op ? op.index : 0);
    this.str(op.op === 'renameChain' ? op.to : op.op === 'setPolicy' ? op.policy : '');
    if ('rule' in op) {
      this.u8(1);
      this.rule(op.rule);
    } else {
      this.u8(0);
    }
  }

  /** As add(), noting where the op's value fields are, for addPatched(). */
  addMarked(op: NativeOp): OpMarks {
    const marks: OpMarks = { start: this.at, end: 0, iface: false, src: -1, dst: -1, ports: -1, limit: -1 };
    this.marks = marks;
    try {
      this.add(op);
    } finally {
      this.marks = null;
    }
    marks.end = this.at;
    return marks;
  }

  /**
   * Whether addPatched() can write `v` into a copy of the op `marks` points at: an address in
   * both or in neither, and no interface.
   */
  static fits(marks: OpMarks, v: ShapeValues): boolean {
    return !marks.iface && v.inInterface === null && v.outInterface === null && (v.src !== null) === marks.src >= 0 && (v.dst !== null) === marks.dst >= 0;
  }

  /**
   * A copy of the op `marks` points at, with its rule's values replaced by `v`: the op packed
   * for a rule of the same shape with these values, when the caller knows it is one (the shape
   * and the op's chain and kind the same) and it fits().
   */
  addPatched(marks: OpMarks, v: ShapeValues): void {
    const n = marks.end - marks.start;
    this.room(n);
    const b = this.bytes;
    const base = this.at;
    b.copyWithin(base, marks.start, marks.end);
    if (v.src) this.patchAddress(base + marks.src, v.src);
    if (v.dst) this.patchAddress(base + marks.dst, v.dst);
    if (marks.ports >= 0) {
      const p = base + marks.ports;
      const s = v.sport ?? ANY_PORTS;
      const d = v.dport ?? ANY_PORTS;
      b[p] = s[0] & 0xff;
      b[p + 1] = s[0] >>> 8;
      b[p + 2] = s[1] & 0xff;
      b[p + 3] = s[1] >>> 8;
      b[p + 4] = d[0] & 0xff;
      b[p + 5] = d[0] >>> 8;
      b[p + 6] = d[1] & 0xff;
      b[p + 7] = d[1] >>> 8;
    }
    if (marks.limit >= 0) {
      const p = base + marks.limit;
      b[p] = v.limit & 0xff;
      b[p + 1] = (v.limit >>> 8) & 0xff;
      b[p + 2] = (v.limit >>> 16) & 0xff;
      b[p + 3] = v.limit >>> 24;
      b[p + 5] = v.maskBits === null ? 255 : v.maskBits;
    }
    this.at += n;
  }

  private patchAddress(at: number, a: NativeAddress): void {
    this.bytes.set(a.addr, at);
    this.bytes.set(a.mask, at + this.addressBytes);
  }

  /** Ops packed by another writer of the same family: `bytes` from `from` to `to`, whole ops only. */
  addPacked(bytes: Uint8Array, from: number, to: number): void {
    this.raw(bytes.subarray(from, to), to - from);
  }

  /** Where the next op's bytes start. */
  get length(): number {
    return this.at;
  }

  /** The ops written so far, as the addon's commit takes them (a view, not a copy). */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.at);
  }

  /** Just the rule, for check/sameRule: version, family, rule. */
  ruleOnly(rule: NativeRule): Uint8Array {
    this.rule(rule);
    return this.finish();
  }

  private rule(r: NativeRule): void {
    let bits = 0;
    if (r.invProtocol) bits |= RULE_INV_PROTOCOL;
    if (r.src) bits |= RULE_SRC;
    if (r.dst) bits |= RULE_DST;
    if (r.inInterface) bits |= RULE_IN;
    if (r.outInterface) bits |= RULE_OUT;
    if (r.fragment !== null) bits |= RULE_FRAGMENT_SET | (r.fragment ? RULE_FRAGMENT : 0);
    this.u8(r.protocol);
    this.u8(bits);
    const marks = this.marks;
    if (marks && (r.inInterface || r.outInterface)) marks.iface = true;
    if (marks && r.src) marks.src = this.at - marks.start;
    if (r.src) this.address(r.src);
    if (marks && r.dst) marks.dst = this.at - marks.start;
    if (r.dst) this.address(r.dst);
    if (r.inInterface) this.iface(r.inInterface);
    if (r.outInterface) this.iface(r.outInterface);
    this.u8(r.matches.length);
    for (let i = 0; i < r.matches.length; i++) this.match(r.matches[i] as NativeMatch);
    this.target(r.target);
  }

  private address(a: NativeAddress): void {
    this.raw(a.addr, this.addressBytes);
    this.raw(a.mask, this.addressBytes);
    this.u8(a.invert ? 1 : 0);
  }

  private iface(i: NativeInterface): void {
    this.str(i.name);
    this.u8((i.wildcard ? 1 : 0) | (i.invert ? 2 : 0));
  }

  private match(m: NativeMatch): void {
    this.u8(MATCH[m.kind]);
    const marks = this.marks;
    if (marks) {
      if (m.kind === 'tcp' || m.kind === 'udp') marks.ports = this.at - marks.start;
      else if (m.kind === 'connlimit') marks.limit = this.at - marks.start;
    }
    switch (m.kind) {
      case 'tcp':
        this.ports(m.sport, m.dport);
        this.u8(m.option);
        this.u8(m.flagMask);
        this.u8(m.flagCompare);
        this.u8((m.invSport ? 1 : 0) | (m.invDport ? 2 : 0) | (m.invFlags ? 4 : 0) | (m.invOption ? 8 : 0));
        return;
      case 'udp':
        this.ports(m.sport, m.dport);
        this.u8((m.invSport ? 1 : 0) | (m.invDport ? 2 : 0));
        return;
      case 'connlimit':
        this.u32(m.limit);
        this.u8((m.invert ? 1 : 0) | (m.daddr ? 2 : 0));
        this.u8(m.maskBits === null ? 255 : m.maskBits);
        return;
      case 'comment':
        this.str(m.comment);
        return;
      case 'opaque':
        this.opaque(m.name, m.revision, m.data, m.sets);
        return;
    }
  }

  private target(t: NativeTarget): void {
    this.u8(TARGET[t.kind]);
    switch (t.kind) {
      case 'none':
        return;
      case 'verdict':
        this.str(t.verdict);
        return;
      case 'jump':
      case 'goto':
        this.str(t.chain);
        return;
      case 'reject':
        this.str(t.with);
        return;
      case 'opaque':
        this.opaque(t.name, t.revision, t.data);
        return;
    }
  }

  private opaque(name: string, revision: number, data: Uint8Array, sets: readonly string[] = []): void {
    this.str(name);
    this.u8(revision);
    this.u32(data.length);
    this.raw(data, data.length);
    this.u8(sets.length);
    for (const set of sets) this.str(set);
  }

  private ports(s: readonly [number, number], d: readonly [number, number]): void {
    this.u16(s[0]);
    this.u16(s[1]);
    this.u16(d[0]);
    this.u16(d[1]);
  }

  private room(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + n));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
  }

  private u8(v: number): void {
    this.room(1);
    this.bytes[this.at++] = v;
  }

  private u16(v: number): void {
    this.room(2);
    this.bytes[this.at++] = v & 0xff;
    this.bytes[this.at++] = v >>> 8;
  }

  private u32(v: number): void {
    this.room(4);
    this.bytes[this.at++] = v & 0xff;
    this.bytes[this.at++] = (v >>> 8) & 0xff;
    this.bytes[this.at++] = (v >>> 16) & 0xff;
    this.bytes[this.at++] = v >>> 24;
  }

  private raw(src: Uint8Array, n: number): void {
    this.room(n);
    this.bytes.set(n === src.length ? src : src.subarray(0, n), this.at);
    this.at += n;
  }

  /** Names and comments are short and nearly always ASCII: written char by char, no encoder call. */
  private str(s: string): void {
    const n = s.length;
    this.room(2 + n);
    const start = this.at;
    this.at += 2;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        this.at = start;
        this.utf8(s);
        return;
      }
      this.bytes[this.at++] = c;
    }
    this.bytes[start] = n & 0xff;
    this.bytes[start + 1] = n >>> 8;
  }

  private utf8(s: string): void {
    const encoded = Buffer.from(s, 'utf8');
    this.u16(encoded.length);
    this.raw(encoded, encoded.length);
  }
}

/**
 * All ops at once, for callers that need no slicing (tests, the planner's recordings).
 * @example binding()._planNft('nft', 'ipv4', 'filter', recordings, packOps('ipv4', [{ op: 'flush', chain: null }]))
 */
export function packOps(family: Family, ops: readonly NativeOp[]): Uint8Array {
  const w = new OpWriter(family, ops.length);
  for (const op of ops) w.add(op);
  return w.finish();
}

/** One rule, as check() and sameRule() take it. */
export function packRule(family: Family, rule: NativeRule): Uint8Array {
  return new OpWriter(family).ruleOnly(rule);
}
