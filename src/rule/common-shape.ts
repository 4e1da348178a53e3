// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The fast path of rule parsing: the shape nearly every rule of a big transaction has
 * (`-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT`, with addresses,
 * interfaces, a port range, a connlimit mask or key, a verdict, a jump, a goto or a reject type,
 * and as iptables-save spells it: `-m tcp`, `--tcp-flags FIN,SYN,RST,ACK SYN`, `--connlimit-saddr`),
 * parsed in one pass over the text, in place, with no tokens, builders or sets, and no
 * substring but the values the rule keeps: ~1 µs a rule instead of several, and a fraction of
 * the garbage. A text of the shape of the rule read just before (the same words around other
 * ports, limits, masks, addresses or interfaces: class Shape) only has its value words read, ~0.4 µs.
 *
 * It answers only when it is sure: anything else (a `!`, another module, a duplicate, a
 * value it does not read the common way, anything the full parser would refuse) gives null,
 * and src/rule/parse.ts then runs the full parser, which gives the same rule or the error.
 * So a rule it returns is exactly the rule the full parser returns for the same text
 * (test/18-common-shape.test.ts proves it on the real-rules corpus, the iptables .t cases and fuzz).
 */
import type { NativeAddress, NativeInterface, NativeMatch, NativePortRange, NativeRule, NativeTarget } from '../native-types';
import type { Family } from './types';
import { isZero, parseAddress } from './address';
import { findModule } from './modules';
import * as names from './names';
import type { Verdict } from './names';
import { jumpChainProblem, parseInterface } from './validate';

// Copied once: under a loader that compiles imports to getters (tsx, which the benches and
// tests run under), every read of an imported constant is a call, and this path reads them per word.
const TCP = names.IPPROTO_TCP;
const UDP = names.IPPROTO_UDP;
const { MAX_CONNLIMIT, REJECT_TCP_RESET, RESERVED_TARGET_NAMES, SYN_FLAG_COMPARE, SYN_FLAG_MASK, VERDICTS, addressBits, defaultRejectWith, isVerdict, rejectSaveName } = names;

/**
 * `text[from, to)` as parseDecimal (src/rule/numbers.ts) reads a decimal 0..max (no sign, no
 * leading zero, at most 10 digits), without a regex or a substring; null otherwise.
 */
function decimal(text: string, from: number, to: number, max: number): number | null {
  const n = to - from;
  if (n === 0 || n > 10 || (n > 1 && text.charCodeAt(from) === 48)) return null;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return v <= max ? v : null;
}

/**
 * Whether `text` holds `word` at `at`. V8's startsWith compares a character at a time (~4 ns
 * each), and the text around a shape's values is 150-odd characters a saved rule line; indexOf
 * compares a run at once (~30-50 ns whatever the length, measured on Node 20) and cuts nothing
 * out. Where `word` is not at `at` it searches on to the end of the text, once: the caller then
 * gives up on the shape.
 */
function holdsAt(text: string, word: string, at: number): boolean {
  return text.indexOf(word, at) === at;
}

let shadowed: boolean | undefined;
/** Whether a registry module (src/rule/modules) took the name of tcp, udp or connlimit: the full parser would load it instead. */
function builtinMatchesShadowed(): boolean {
  shadowed ??= ['tcp', 'udp', 'connlimit'].some((name) => findModule('match', name) !== undefined);
  return shadowed;
}

function address(text: string, family: Family): NativeAddress | null | undefined {
  const r = parseAddress(text, family);
  if ('error' in r) return undefined;
  // 0.0.0.0/0 is the same bytes as no address, as in the full parser.
  return isZero(r.mask) ? null : { addr: r.addr, mask: r.mask, invert: false };
}

function iface(text: string): NativeInterface | null | undefined {
  const r = parseInterface(text, false);
  return r !== null && 'error' in r ? undefined : r;
}

/** `-j NAME` for a name that is neither a verdict nor REJECT: a jump to a user chain, or null. */
function jump(name: string): NativeTarget | null {
  if (RESERVED_TARGET_NAMES.has(name) || findModule('target', name) || jumpChainProblem(name, 'jump') !== null) return null;
  return { kind: 'jump', chain: name };
}

/**
 * Every port, shared by the rules that name no port, as the rule cache (src/rule/index.ts)
 * shares whole rules: rules are read-only. Frozen, so a write would throw rather than change
 * other rules.
 */
const ANY_PORT: NativePortRange = Object.freeze([0, 65535]) as unknown as NativePortRange;

function l4Match(protocol: number, sport: NativePortRange | null, dport: NativePortRange | null, syn: boolean): NativeMatch {
  sport ??= ANY_PORT;
  dport ??= ANY_PORT;
  if (protocol === UDP) return { kind: 'udp', sport, dport, invSport: false, invDport: false };
  return {
    kind: 'tcp', sport, dport, option: 0, flagMask: syn ? SYN_FLAG_MASK : 0, flagCompare: syn ? SYN_FLAG_COMPARE : 0,
    invSport: false, invDport: false, invFlags: false, invOption: false,
  };
}

/**
 * Walks the words of a rule in place: `text[at, end)` is the current word. Words are runs of
 * characters other than a space; nothing is cut out of the text unless it is kept in the rule.
 */
class Words {
  at = 0;
  end = 0;
  private text = '';

  /** Starts over on `text`. One walker serves every parse: a parse runs no code that parses. */
  reset(text: string): this {
    this.text = text;
    this.at = 0;
    this.end = 0;
    return this;
  }

  /** Moves to the next word; false at the end of the text. */
  next(): boolean {
    const t = this.text;
    let i = this.end;
    while (i < t.length && t.charCodeAt(i) === 32) i++;
    if (i >= t.length) return false;
    const space = t.indexOf(' ', i);
    this.at = i;
    this.end = space === -1 ? t.length : space;
    return true;
  }

  /** The UTF-16 code of the current word's character `i`. */
  charAt(i: number): number {
    return this.text.charCodeAt(this.at + i);
  }

  is(word: string): boolean {
    return this.end - this.at === word.length && this.text.startsWith(word, this.at);
  }

  /** A value the full parser takes as it stands: no `!`, not an option (`-x`, but `-1` is a value). */
  plain(): boolean {
    const t = this.text;
    const c = t.charCodeAt(this.at);
    if (c === 33 /* ! */) return this.end - this.at !== 1;
    if (c !== 45 /* - */ || this.end - this.at === 1) return true;
    const d = t.charCodeAt(this.at + 1);
    return d >= 48 && d <= 57;
  }

  /** The verdict the word names, as the constant in names.ts (so a rule holds no fresh copy). */
  verdict(): Verdict | null {
    for (let i = 0; i < VERDICTS.length; i++) if (this.is(VERDICTS[i] as Verdict)) return VERDICTS[i] as Verdict;
    return null;
  }

  word(): string {
    return this.text.slice(this.at, this.end);
  }

  decimal(max: number): number | null {
    return decimal(this.text, this.at, this.end, max);
  }

  /** `N` or `N:M` in decimal, as the full parser reads them; null for every other spelling. */
  portRange(): NativePortRange | null {
    const t = this.text;
    let colon = -1;
    for (let i = this.at; i < this.end; i++) {
      if (t.charCodeAt(i) === 58 /* : */) {
        if (colon !== -1) return null;
        colon = i;
      }
    }
    if (colon === -1) {
      const p = decimal(t, this.at, this.end, 65535);
      return p === null ? null : [p, p];
    }
    const from = decimal(t, this.at, colon, 65535);
    const to = decimal(t, colon + 1, this.end, 65535);
    return from === null || to === null || from > to ? null : [from, to];
  }
}

const words = new Words();

/** The flag list iptables-save writes for --syn's mask (SYN_FLAG_MASK), in its order. */
const SAVED_SYN_MASK = 'FIN,SYN,RST,ACK';

/**
 * The rule the text says, when it has the common shape; else null (the full parser decides).
 * @param text - at most MAX_RULE_CHARS characters (src/rule/parse.ts checks). Words are split
 *   on spaces only: a tab or any other character the tokenizer treats specially is in no word
 *   this path accepts, so the words it reads are the tokens the full parser would read.
 * @example parseCommonShape('-p tcp --dport 22 -j ACCEPT', 'ipv4')?.matches[0] // { kind: 'tcp', dport: [22, 22], ... }
 */
export function parseCommonShape(text: string, family: Family): NativeRule | null {
  const filled = lastShape.fill(text, family);
  if (filled !== null) return filled;
  const w = words.reset(text);
  values.length = 0;
  let protocol = 0;
  let protocolSeen = false;
  let src: NativeAddress | null | undefined;
  let dst: NativeAddress | null | undefined;
  let inInterface: NativeInterface | null | undefined;
  let outInterface: NativeInterface | null | undefined;
  // The tcp or udp match, in locals rather than an object (as every part here: a parse's only
  // objects are the rule's own): its protocol (0 while there is none), ports and --syn.
  let l4 = 0;
  let sport: NativePortRange | null = null;
  let dport: NativePortRange | null = null;
  let syn = false;
  let l4First = false;
  // The connlimit match: seen, its limit, --connlimit-upto, the key and the mask.
  let connlimit = false;
  let limit: number | null = null;
  let upto = false;
  let daddr = false;
  let keySeen = false;
  let maskBits: number | null = null;
  let maskSeen = false;
  let tgt: NativeTarget | null = null;
  let rejectWith = false;
  while (w.next()) {
    const tcpFlags = w.is('--tcp-flags');
    if (tcpFlags || w.is('--syn')) {
      // `--tcp-flags FIN,SYN,RST,ACK SYN` is how iptables-save writes --syn (so every saved rule
      // of this shape says it): the same match. Any other flag list is the full parser's.
      if (tcpFlags && !(w.next() && w.is(SAVED_SYN_MASK) && w.next() && w.is('SYN'))) return null;
      if (l4 === 0) {
        if (protocol !== TCP) return null;
        l4 = TCP;
        l4First = !connlimit;
      }
      if (l4 !== TCP || syn) return null;
      syn = true;
      continue;
    }
    const saddr = w.is('--connlimit-saddr');
    if (saddr || w.is('--connlimit-daddr')) {
      if (!connlimit || keySeen) return null;
      keySeen = true;
      daddr = !saddr;
      continue;
    }
    const option = optionAt(w);
    if (option === Opt.None || !w.next() || !w.plain()) return null;
    switch (option) {
      case Opt.Protocol:
        if (protocolSeen) return null;
        protocolSeen = true;
        if (w.is('tcp')) protocol = TCP;
        else if (w.is('udp')) protocol = UDP;
        else if (!w.is('all')) return null;
        break;
      case Opt.Source:
        if (src !== undefined || (src = address(w.word(), family)) === undefined) return null;
        break;
      case Opt.Destination:
        if (dst !== undefined || (dst = address(w.word(), family)) === undefined) return null;
        break;
      case Opt.InInterface:
        if (inInterface !== undefined || (inInterface = iface(w.word())) === undefined) return null;
        break;
      case Opt.OutInterface:
        if (outInterface !== undefined || (outInterface = iface(w.word())) === undefined) return null;
        break;
      case Opt.Match:
        if (w.is('tcp') || w.is('udp')) {
          if (l4 !== 0 || builtinMatchesShadowed()) return null;
          l4 = w.is('tcp') ? TCP : UDP;
          l4First = !connlimit;
        } else if (w.is('connlimit')) {
          if (connlimit || builtinMatchesShadowed()) return null;
          connlimit = true;
        } else {
          return null;
        }
        break;
      case Opt.Sport:
      case Opt.Dport: {
        if (l4 === 0) {
          if (protocol !== TCP && protocol !== UDP) return null;
          l4 = protocol;
          l4First = !connlimit;
        }
        const range = w.portRange();
        if (range === null) return null;
        if (option === Opt.Sport) {
          if (sport !== null) return null;
          sport = range;
        } else {
          if (dport !== null) return null;
          dport = range;
        }
        break;
      }
      case Opt.Above:
      case Opt.Upto:
        if (!connlimit || limit !== null) return null;
        if ((limit = w.decimal(MAX_CONNLIMIT)) === null) return null;
        upto = option === Opt.Upto;
        break;
      case Opt.Mask:
        if (!connlimit || maskSeen) return null;
        maskSeen = true;
        if ((maskBits = w.decimal(addressBits(family))) === null) return null;
        break;
      case Opt.Jump: {
        if (tgt !== null) return null;
        const verdict = w.verdict();
        if (verdict !== null) tgt = { kind: 'verdict', verdict };
        else if (w.is('REJECT')) tgt = { kind: 'reject', with: defaultRejectWith(family) };
        else if ((tgt = jump(w.word())) === null) return null;
        break;
      }
      case Opt.Goto: {
        const chain = w.word();
        if (tgt !== null || isVerdict(chain) || RESERVED_TARGET_NAMES.has(chain) || jumpChainProblem(chain, 'goto') !== null) return null;
        tgt = { kind: 'goto', chain };
        break;
      }
      case Opt.RejectWith: {
        if (tgt === null || tgt.kind !== 'reject' || rejectWith) return null;
        const name = rejectSaveName(family, w.word());
        if (name === undefined) return null;
        tgt.with = name;
        rejectWith = true;
        break;
      }
    }
    // Taken (the switch returns on a refusal, and reads no further word).
    if (VALUE_OPTIONS.has(option)) values.note(w, option);
  }
  if (l4 !== 0 && protocol !== l4) return null;
  if (connlimit && limit === null) return null;
  if (tgt !== null && tgt.kind === 'reject' && tgt.with === REJECT_TCP_RESET && protocol !== TCP) return null;
  if (tgt !== null) Object.freeze(tgt);
  lastShape.learn(text, family, protocol, l4, l4First, syn, connlimit, upto, daddr, tgt);
  return buildRule(protocol, l4, l4First, syn, connlimit, upto, daddr, tgt, src ?? null, dst ?? null, inInterface ?? null, outInterface ?? null, sport, dport, limit ?? 0, maskBits);
}

/**
 * The rule from its parts, as the walker and a filled-in shape both have them. A target (never
 * changed after the walk) is shared by the rules of one shape, frozen as ANY_PORT is.
 */
function buildRule(
  protocol: number, l4: number, l4First: boolean, syn: boolean, connlimit: boolean, upto: boolean, daddr: boolean, tgt: NativeTarget | null,
  src: NativeAddress | null, dst: NativeAddress | null, inInterface: NativeInterface | null, outInterface: NativeInterface | null,
  sport: NativePortRange | null, dport: NativePortRange | null, limit: number, maskBits: number | null,
): NativeRule {
  const matches: NativeMatch[] = [];
  if (l4 !== 0 && l4First) matches.push(l4Match(l4, sport, dport, syn));
  if (connlimit) matches.push({ kind: 'connlimit', limit, invert: upto, daddr, maskBits });
  if (l4 !== 0 && !l4First) matches.push(l4Match(l4, sport, dport, syn));
  return {
    protocol, invProtocol: false, src, dst, inInterface, outInterface,
    fragment: null, matches, target: tgt ?? NO_TARGET,
  };
}

const NO_TARGET: NativeTarget = Object.freeze({ kind: 'none' });

/**
 * Where the value words the walk in progress took are (a port, a limit, a mask, an address, an
 * interface): the last parse's shape is its text with these cut out. At most one of each
 * option, and one limit (--connlimit-above or -upto): 8.
 */
class ValueWords {
  length = 0;
  readonly at = new Int32Array(8);
  readonly end = new Int32Array(8);
  readonly option: Opt[] = [];

  note(w: Words, option: Opt): void {
    this.at[this.length] = w.at;
    this.end[this.length] = w.end;
    this.option[this.length++] = option;
  }
}

const values = new ValueWords();

/**
 * The last rule the walker read, as its text around the value words plus its parts. A big
 * transaction's rules are mostly one shape with other values: a text that is the same words
 * around other value words is read by checking those words and each value (as the walker
 * checks it, with the same functions), without walking the options again. Words are split on
 * spaces only and the kept text between values starts and ends at a space (or the text's
 * ends), so the new text's words are the old ones with only the values changed, and every
 * check the walker makes of other words, of option order and of duplicates gives what it gave.
 */
class Shape {
  /** Which shape this is: a new number each time the walker learns one. */
  id = 0;
  private family: Family | null = null;
  /** The text between the value words: around.length === options.length + 1. */
  private around: string[] = [];
  private options: Opt[] = [];
  private protocol = 0;
  private l4 = 0;
  private l4First = false;
  private syn = false;
  private connlimit = false;
  private upto = false;
  private daddr = false;
  private tgt: NativeTarget | null = null;

  /** Learns the shape of `text`, whose value words are in `values`; the rest of the rule is these parts (values absent from the text are absent from every rule of its shape). */
  learn(
    text: string, family: Family, protocol: number, l4: number, l4First: boolean, syn: boolean, connlimit: boolean, upto: boolean, daddr: boolean,
    tgt: NativeTarget | null,
  ): void {
    this.id++;
    this.family = family;
    this.around = [];
    this.options = [];
    let from = 0;
    for (let i = 0; i < values.length; i++) {
      this.around.push(text.slice(from, values.at[i]));
      this.options.push(values.option[i] as Opt);
      from = values.end[i] as number;
    }
    this.around.push(text.slice(from));
    this.protocol = protocol;
    this.l4 = l4;
    this.l4First = l4First;
    this.syn = syn;
    this.connlimit = connlimit;
    this.upto = upto;
    this.daddr = daddr;
    this.tgt = tgt;
  }

  /** The rule when `text` is this shape with other values, each one the walker would take; else null. */
  fill(text: string, family: Family): NativeRule | null {
    const v = this.read(text, family);
    if (v === null) return null;
    return buildRule(
      this.protocol, this.l4, this.l4First, this.syn, this.connlimit, this.upto, this.daddr, this.tgt,
      v.src, v.dst, v.inInterface, v.outInterface, v.sport, v.dport, v.limit, v.maskBits,
    );
  }

  /** The values when `text` is this shape with other values, each one the walker would take; else null. */
  read(text: string, family: Family): ShapeValues | null {
    if (family !== this.family) return null;
    const around = this.around;
    const first = around[0] as string;
    if (!holdsAt(text, first, 0)) return null;
    let pos = first.length;
    let src: NativeAddress | null = null;
    let dst: NativeAddress | null = null;
    let inInterface: NativeInterface | null = null;
    let outInterface: NativeInterface | null = null;
    let sport: NativePortRange | null = null;
    let dport: NativePortRange | null = null;
    let limit = 0;
    let maskBits: number | null = null;
    const w = words.reset(text);
    for (let i = 0; i < this.options.length; i++) {
      const space = text.indexOf(' ', pos);
      const end = space === -1 ? text.length : space;
      if (end === pos) return null;
      w.at = pos;
      w.end = end;
      if (!w.plain()) return null;
      switch (this.options[i]) {
        case Opt.Source:
        case Opt.Destination: {
          const a = address(w.word(), family);
          if (a === undefined) return null;
          if (this.options[i] === Opt.Source) src = a;
          else dst = a;
          break;
        }
        case Opt.InInterface:
        case Opt.OutInterface: {
          const name = iface(w.word());
          if (name === undefined) return null;
          if (this.options[i] === Opt.InInterface) inInterface = name;
          else outInterface = name;
          break;
        }
        case Opt.Sport:
          if ((sport = w.portRange()) === null) return null;
          break;
        case Opt.Dport:
          if ((dport = w.portRange()) === null) return null;
          break;
        case Opt.Above:
        case Opt.Upto: {
          const n = w.decimal(MAX_CONNLIMIT);
          if (n === null) return null;
          limit = n;
          break;
        }
        case Opt.Mask:
          if ((maskBits = w.decimal(addressBits(family))) === null) return null;
          break;
      }
      const next = around[i + 1] as string;
      if (!holdsAt(text, next, end)) return null;
      pos = end + next.length;
    }
    if (pos !== text.length) return null;
    const v = shapeValues;
    v.shape = this.id;
    v.src = src;
    v.dst = dst;
    v.inInterface = inInterface;
    v.outInterface = outInterface;
    v.sport = sport;
    v.dport = dport;
    v.limit = limit;
    v.maskBits = maskBits;
    return v;
  }
}

/** The value words of a text of the last shape, read: the rule is that shape's with these. */
export interface ShapeValues {
  /** Which shape (Shape.id): equal for two texts only when they are that one shape. */
  shape: number;
  src: NativeAddress | null;
  dst: NativeAddress | null;
  inInterface: NativeInterface | null;
  outInterface: NativeInterface | null;
  sport: NativePortRange | null;
  dport: NativePortRange | null;
  limit: number;
  maskBits: number | null;
}

/** One object, rewritten by each read: a read allocates nothing but the values' own parts. */
const shapeValues: ShapeValues = { shape: 0, src: null, dst: null, inInterface: null, outInterface: null, sport: null, dport: null, limit: 0, maskBits: null };

const lastShape = new Shape();

/**
 * The values of `text` when it is the shape of the last rule the walker read, with other values
 * (exactly when parseCommonShape would fill that shape in: its rule is then that shape's with
 * these values), else null. Reading changes no state; the object is reused by the next read.
 * @param text - at most MAX_RULE_CHARS characters, as parseCommonShape's
 */
export function readLastShape(text: string, family: Family): ShapeValues | null {
  return lastShape.read(text, family);
}

/** The options this path reads, each with its long spellings as the full parser's table has them. */
enum Opt { None, Protocol, Source, Destination, InInterface, OutInterface, Match, Sport, Dport, Above, Upto, Mask, Jump, Goto, RejectWith }

/** The options whose value a rule of one shape may change (Shape.fill reads each as the walker does). */
const VALUE_OPTIONS: ReadonlySet<Opt> = new Set([Opt.Source, Opt.Destination, Opt.InInterface, Opt.OutInterface, Opt.Sport, Opt.Dport, Opt.Above, Opt.Upto, Opt.Mask]);

/** The long spellings, as the full parser's option table has them, and what each is. */
const LONG: readonly string[] = [
  '--dport', '--connlimit-above', '--sport', '--protocol', '--source', '--src', '--destination', '--dst', '--in-interface',
  '--out-interface', '--match', '--source-port', '--destination-port', '--connlimit-upto', '--connlimit-mask', '--jump',
  '--goto', '--reject-with',
];
const LONG_OPT: readonly Opt[] = [
  Opt.Dport, Opt.Above, Opt.Sport, Opt.Protocol, Opt.Source, Opt.Source, Opt.Destination, Opt.Destination, Opt.InInterface,
  Opt.OutInterface, Opt.Match, Opt.Sport, Opt.Dport, Opt.Upto, Opt.Mask, Opt.Jump,
  Opt.Goto, Opt.RejectWith,
];

/** The option the current word spells, or Opt.None. */
function optionAt(w: Words): Opt {
  if (w.end - w.at === 2 && w.charAt(0) === 45 /* - */) {
    switch (w.charAt(1)) {
      case 112: return Opt.Protocol; // p
      case 115: return Opt.Source; // s
      case 100: return Opt.Destination; // d
      case 105: return Opt.InInterface; // i
      case 111: return Opt.OutInterface; // o
      case 109: return Opt.Match; // m
      case 106: return Opt.Jump; // j
      case 103: return Opt.Goto; // g
      default: return Opt.None;
    }
  }
  for (let i = 0; i < LONG.length; i++) if (w.is(LONG[i] as string)) return LONG_OPT[i] as Opt;
  return Opt.None;
}
