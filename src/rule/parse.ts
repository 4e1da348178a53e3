// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The iptables spelling of a rule, parsed into `NativeRule` without running iptables.
 *
 * We follow iptables 1.8.9's own command line where it is sound and refuse where it guesses.
 * Behaviour checked against `iptables-legacy`/`ip6tables-legacy` 1.8.9 in throwaway namespaces:
 *
 * - `!` goes before the option (`! -p tcp`, `! --dport 22`); 1.8.9 refuses `-p ! tcp` and
 *   `--dport ! 22`, so do we, with a hint. Two `!` in a row, a trailing `!`, and `!` before an
 *   option that can't be negated (`-m`, `-j`, `-g`, `--comment`, `--connlimit-mask`, ...) are
 *   refused as the CLI refuses them.
 * - `--sport`/`--dport`/`--syn`/`--tcp-flags`/`--tcp-option` after `-p tcp` (or `-p udp`) create
 *   the protocol's match where the first of them stands, as the CLI does: in
 *   `-p tcp -m connlimit ... --dport 22` the tcp match comes after connlimit.
 * - An option of a loaded module may come later in the line (`-j REJECT ... --connlimit-mask 24`
 *   works in the CLI too); it belongs to that module.
 * - Numbers are decimal only. The CLI reads `0x10` as 16 and `010` as 8 through strtoul, and
 *   `--dport ssh` through /etc/services; we refuse all three rather than guess.
 * - One match per module. The CLI lets `-m tcp -m tcp` or two `-m comment` through; the typed
 *   form has one of each, and we keep the two spellings equal in power.
 *
 * Quoting is what iptables-save emits and what a shell user types: double quotes with backslash
 * escapes (`"a\"b"`, `"a\'b"` as save writes them), single quotes taken literally, adjacent parts
 * joined. Outside quotes, shell metacharacters (`; | & < > $ ( )` and backticks) and backslashes
 * are refused: a rule is never run by a shell, so they can only be a mistake or an injection.
 */
import { echo, quote } from '../echo';
import { invalid } from '../errors';
import type { NativeMatch, NativePortRange, NativeRule, NativeTarget } from '../native-types';
import type { Family } from './types';
import { isZero, maskToPrefix, parseAddress, parseIpv4 } from './address';
import { numberHint, parseDecimal } from './numbers';
import {
  type CompatModule, encodeExtension, findModule, implicitModule, moduleNames, modulesWithOption, protocolProblem,
} from './modules';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_EXTENSION_HEADER_PROTOCOLS,
  MAX_CONNLIMIT,
  MAX_RULE_CHARS,
  REJECT_TCP_RESET,
  RESERVED_TARGET_NAMES,
  SUPPORTED_MATCHES,
  SUPPORTED_TARGETS,
  SYN_FLAG_COMPARE,
  SYN_FLAG_MASK,
  addressBits,
  defaultRejectWith,
  isVerdict,
  parseTcpFlagList,
  protocolNumber,
  rejectSaveName,
  rejectTypes,
} from './names';
import { commentProblem } from './comment';
import { parseCommonShape, readLastShape, type ShapeValues } from './common-shape';
import { chainNameProblem, jumpChainProblem, parseInterface } from './validate';

/** One word of a rule, after quote removal, with its 0-based position. */
export interface Token {
  value: string;
  index: number;
}

const SHELL_META = new Set([';', '|', '&', '<', '>', '`', '$', '(', ')']);
/** Text tokenize() may split on spaces and tabs alone: none of the characters the loop treats specially (tab excepted). */
const PLAIN_RULE = /^[^"'\\\u0000-\u0008\u000a-\u001f\u007f;|&<>`$()]*$/;

function fail(message: string, tok: Token): never {
  invalid('rule', message, { token: tok.value, index: tok.index });
}

/**
 * Split a rule into words with iptables-save/shell-like quoting (see the file comment).
 *
 * @throws {ERR_CONNLIMIT_INVALID} for text over {@link MAX_RULE_CHARS} characters, NUL and
 *   control bytes, unterminated quotes, and shell metacharacters or backslashes outside quotes
 * @example tokenize('-m comment --comment "a b"').map((t) => t.value) // ['-m', 'comment', '--comment', 'a b']
 */
export function tokenize(text: string): Token[] {
  if (typeof text !== 'string') invalid('rule', 'expected the rule as a string');
  if (text.length > MAX_RULE_CHARS) {
    invalid('rule', `a rule text of ${text.length} characters: at most ${MAX_RULE_CHARS} are parsed (the longest rule iptables syntax can say is well under that)`);
  }
  // Most rules have no quotes, backslashes, control characters or shell metacharacters: then
  // the words are the runs between spaces and tabs, and one regex test and a split find them
  // (the loop below costs tens of µs a rule, which a 10k-rule transaction pays 10k times).
  if (PLAIN_RULE.test(text)) {
    const words = text.split(/[ \t]+/);
    const tokens: Token[] = [];
    for (const value of words) if (value !== '') tokens.push({ value, index: tokens.length });
    return tokens;
  }
  const tokens: Token[] = [];
  let cur = '';
  let inToken = false;
  let quote: '"' | "'" | null = null;
  let i = 0;
  const here = (): Token => ({ value: cur, index: tokens.length });
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\0') fail('a NUL byte in the rule', here());
    if (quote === null && (ch === ' ' || ch === '\t')) {
      if (inToken) tokens.push({ value: cur, index: tokens.length });
      cur = '';
      inToken = false;
      i++;
      continue;
    }
    if (/[\u0000-\u001f\u007f]/.test(ch) && !(quote !== null && ch === '\t')) {
      const cp = ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      fail(ch === '\n' || ch === '\r' ? `a line break (U+${cp}) in the rule: a rule is one line` : `a control character (U+${cp}) in the rule`, here());
    }
    inToken = true;
    if (quote === '"') {
      if (ch === '\\') {
        if (i + 1 >= text.length) fail('a backslash at the end of the rule', here());
        const next = text[i + 1]!;
        if (next === '\0') fail('a NUL byte in the rule', here());
        cur += next;
        i += 2;
        continue;
      }
      if (ch === '"') quote = null;
      else cur += ch;
      i++;
      continue;
    }
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur += ch;
      i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      i++;
      continue;
    }
    if (ch === '\\') fail('a backslash outside quotes: quote the value instead ("a b")', { value: cur + text.slice(i), index: tokens.length });
    if (SHELL_META.has(ch)) {
      const rest = text.slice(i).split(/[ \t]/)[0]!;
      fail(
        `shell metacharacter '${ch}' outside quotes: rules are never run by a shell, so it can't mean anything here (quote it if it belongs to a comment)`,
        { value: cur + rest, index: tokens.length },
      );
    }
    cur += ch;
    i++;
  }
  if (quote !== null) fail(`an unterminated ${quote === '"' ? 'double' : 'single'} quote`, here());
  if (inToken) tokens.push({ value: cur, index: tokens.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Option table

type Owner = 'rule' | 'tcp' | 'l4' | 'connlimit' | 'comment' | 'REJECT' | 'module';

interface OptionDef {
  /** Canonical spelling, for messages and duplicate detection. */
  name: string;
  owner: Owner;
  args: 0 | 1 | 2;
  invertible: boolean;
}

const OPTIONS = new Map<string, OptionDef>();
function def(names: string[], owner: Owner, args: 0 | 1 | 2, invertible: boolean): void {
  const d: OptionDef = { name: names[0]!, owner, args, invertible };
  for (const n of names) OPTIONS.set(n, d);
}
def(['-p', '--protocol'], 'rule', 1, true);
def(['-s', '--source', '--src'], 'rule', 1, true);
def(['-d', '--destination', '--dst'], 'rule', 1, true);
def(['-i', '--in-interface'], 'rule', 1, true);
def(['-o', '--out-interface'], 'rule', 1, true);
def(['-f', '--fragment'], 'rule', 0, true);
def(['-m', '--match'], 'rule', 1, false);
def(['-j', '--jump'], 'rule', 1, false);
def(['-g', '--goto'], 'rule', 1, false);
def(['--sport', '--source-port'], 'l4', 1, true);
def(['--dport', '--destination-port'], 'l4', 1, true);
def(['--syn'], 'tcp', 0, true);
def(['--tcp-flags'], 'tcp', 2, true);
def(['--tcp-option'], 'tcp', 1, true);
def(['--connlimit-above'], 'connlimit', 1, true);
def(['--connlimit-upto'], 'connlimit', 1, true);
def(['--connlimit-mask'], 'connlimit', 1, false);
def(['--connlimit-saddr'], 'connlimit', 0, false);
def(['--connlimit-daddr'], 'connlimit', 0, false);
def(['--comment'], 'comment', 1, false);
def(['--reject-with'], 'REJECT', 1, false);

/** Commands and global options of the CLI: not part of a rule. */
const COMMANDS = new Set([
  '-A', '--append', '-I', '--insert', '-D', '--delete', '-R', '--replace', '-C', '--check', '-N', '--new-chain',
  '-X', '--delete-chain', '-F', '--flush', '-Z', '--zero', '-L', '--list', '-S', '--list-rules', '-P', '--policy',
  '-E', '--rename-chain', '-t', '--table', '-w', '--wait', '-W', '--wait-interval', '-v', '--verbose', '-n',
  '--numeric', '-x', '--exact', '--line-numbers', '-c', '--set-counters', '--modprobe', '-h', '--help', '-V', '--version',
]);

// ---------------------------------------------------------------------------------------------
// Value parsers

function parseProtocol(tok: Token, family: Family, invert: boolean): number {
  const text = tok.value;
  let num = parseDecimal(text, 255);
  if (num === null) {
    if (/^[0-9]/.test(text)) fail(`protocol ${quote(text)} is not a number 0-255${numberHint(text)}`, tok);
    const n = protocolNumber(text);
    if (n === undefined) fail(`unknown protocol ${quote(text)}: use tcp, udp, icmp, ... or a number 0-255`, tok);
    num = n;
  }
  if (num === 0 && invert) fail(`'! -p ${text}' would never match`, tok);
  if (family === 'ipv6' && IPV6_EXTENSION_HEADER_PROTOCOLS.has(num)) {
    fail(`protocol ${text} is an IPv6 extension header: ip6tables rules with it never match (use an extension match)`, tok);
  }
  return num;
}

function parsePort(text: string, tok: Token): number {
  if (text === '') fail('an empty port', tok);
  const v = parseDecimal(text, 65535);
  if (v !== null) return v;
  if (/^[A-Za-z]/.test(text)) {
    fail(`${quote(text)} is a service name: give the port number (service names depend on the host's /etc/services)`, tok);
  }
  fail(`${quote(text)} is not a port 0-65535${numberHint(text)}`, tok);
}

/** `N`, `N:M`, `:M` (from 0), `N:` (to 65535) or `:` (every port), as the CLI takes them. */
function parsePortRange(tok: Token): NativePortRange {
  const text = tok.value;
  if (text.includes(',')) fail(`${quote(text)} is a list: write -m multiport --sports or --dports LIST, or one rule per port or range`, tok);
  const parts = text.split(':');
  if (parts.length > 2) fail(`${quote(text)} is not a port or a range FROM:TO`, tok);
  if (parts.length === 1) {
    const p = parsePort(parts[0]!, tok);
    return [p, p];
  }
  const from = parts[0] === '' ? 0 : parsePort(parts[0]!, tok);
  const to = parts[1] === '' ? 65535 : parsePort(parts[1]!, tok);
  if (from > to) fail(`port range ${quote(text)} is backwards (from > to)`, tok);
  return [from, to];
}

// ---------------------------------------------------------------------------------------------
// Match builders: the modules of a rule while its options arrive.

interface L4Builder {
  kind: 'tcp' | 'udp';
  /** The token that created it (`tcp` after -m, or its first option). */
  origin: Token;
  seen: Set<string>;
  sport: NativePortRange;
  dport: NativePortRange;
  invSport: boolean;
  invDport: boolean;
  option: number;
  invOption: boolean;
  flagMask: number;
  flagCompare: number;
  invFlags: boolean;
}

interface ConnlimitBuilder {
  kind: 'connlimit';
  origin: Token;
  seen: Set<string>;
  limit: number | null;
  invert: boolean;
  daddr: boolean;
  maskBits: number | null;
}

interface CommentBuilder {
  kind: 'comment';
  origin: Token;
  comment: string | null;
}

/** A registry module's match (src/rule/modules): its draft fills as its options arrive. */
interface ModuleBuilder {
  kind: 'module';
  origin: Token;
  module: CompatModule;
  draft: unknown;
}

type Builder = L4Builder | ConnlimitBuilder | CommentBuilder | ModuleBuilder;

function newL4(kind: 'tcp' | 'udp', origin: Token): L4Builder {
  return {
    kind, origin, seen: new Set(), sport: [0, 65535], dport: [0, 65535], invSport: false, invDport: false,
    option: 0, invOption: false, flagMask: 0, flagCompare: 0, invFlags: false,
  };
}

interface ParseState {
  family: Family;
  chain: string | null;
  proto: { num: number; invert: boolean; tok: Token } | null;
  seen: Set<string>;
  rule: NativeRule;
  builders: Builder[];
  /** `module` when `-j NAME` loaded a registry target: its part is made in finish(), after its options. */
  target: { target: NativeTarget; tok: Token; module?: ModuleBuilder } | null;
  rejectWith: Token | null;
}

function looksLikeOption(v: string): boolean {
  return v.length > 1 && v.startsWith('-') && !/^-[0-9]/.test(v);
}

/** Options whose value is free text, which may be `!` or start with `-` (the CLI's getopt takes any next word). */
const FREE_TEXT: ReadonlySet<string> = new Set(['--comment', '--log-prefix']);

/** Take the value tokens of an option, refusing a missing value and the `-p ! tcp` placement. */
function takeValues(tokens: Token[], at: number, def: OptionDef, opt: Token): Token[] {
  const vals: Token[] = [];
  for (let k = 1; k <= def.args; k++) {
    const v = tokens[at + k];
    if (!v) fail(`${opt.value} needs ${def.args === 2 ? 'two values' : 'a value'}`, opt);
    if (v.value === '!' && !FREE_TEXT.has(def.name)) {
      fail(`put ! before the option (! ${opt.value} ...): iptables 1.8.9 refuses '${opt.value} !'`, v);
    }
    if (!FREE_TEXT.has(def.name) && looksLikeOption(v.value)) fail(`${opt.value} needs a value, got the option ${echo(v.value)}`, v);
    vals.push(v);
  }
  return vals;
}

function findBuilder<K extends Builder['kind']>(st: ParseState, kind: K): Extract<Builder, { kind: K }> | undefined {
  return st.builders.find((b) => b.kind === kind) as Extract<Builder, { kind: K }> | undefined;
}

function l4Builder(st: ParseState, def: OptionDef, opt: Token): L4Builder {
  const existing = st.builders.find((b): b is L4Builder => b.kind === 'tcp' || b.kind === 'udp');
  const want = def.owner === 'tcp' ? '-p tcp' : '-p tcp or -p udp';
  if (existing) {
    if (def.owner === 'tcp' && existing.kind !== 'tcp') fail(`${opt.value} is a tcp option; this rule's match is udp`, opt);
    return existing;
  }
  const p = st.proto;
  if (!p) fail(`${opt.value} needs ${want} before it`, opt);
  if (p.invert) fail(`${opt.value} needs ${want}, not '! -p'`, opt);
  if (p.num === IPPROTO_TCP || (p.num === IPPROTO_UDP && def.owner === 'l4')) {
    // Implicit match, created where its first option stands (the CLI's order).
    const b = newL4(p.num === IPPROTO_TCP ? 'tcp' : 'udp', opt);
    st.builders.push(b);
    return b;
  }
  fail(`${opt.value} needs ${want} (this rule has -p ${p.tok.value})`, opt);
}

function once(seen: Set<string>, key: string, opt: Token, what = opt.value): void {
  if (seen.has(key)) fail(`${what} given twice`, opt);
  seen.add(key);
}

function applyRuleOption(st: ParseState, def: OptionDef, opt: Token, vals: Token[], invert: boolean): void {
  const v = vals[0]!;
  switch (def.name) {
    case '-p': {
      once(st.seen, '-p', opt, '-p');
      const num = parseProtocol(v, st.family, invert);
      st.proto = { num, invert, tok: v };
      st.rule.protocol = num;
      st.rule.invProtocol = invert;
      return;
    }
    case '-s':
    case '-d': {
      once(st.seen, def.name, opt, def.name);
      const r = parseAddress(v.value, st.family);
      if ('error' in r) fail(r.error, v);
      // 0.0.0.0/0 without ! is the same bytes as no address (the CLI saves nothing for it).
      const a = isZero(r.mask) && !invert ? null : { addr: r.addr, mask: r.mask, invert };
      if (def.name === '-s') st.rule.src = a;
      else st.rule.dst = a;
      return;
    }
    case '-i':
    case '-o': {
      once(st.seen, def.name, opt, def.name);
      const r = parseInterface(v.value, invert);
      if (r && 'error' in r) fail(r.error, v);
      if (r && st.chain) {
        const bad = def.name === '-o' ? ['INPUT', 'PREROUTING'] : ['OUTPUT', 'POSTROUTING'];
        if (bad.includes(st.chain)) fail(`can't use ${def.name} in ${st.chain}`, opt);
      }
      if (def.name === '-i') st.rule.inInterface = r;
      else st.rule.outInterface = r;
      return;
    }
    case '-f':
      once(st.seen, '-f', opt, '-f');
      if (st.family === 'ipv6') fail(`-f is IPv4 only (ip6tables uses -m frag, which is not supported)`, opt);
      st.rule.fragment = !invert;
      return;
    case '-m': {
      const name = v.value;
      const module = findModule('match', name);
      if (module) {
        if (!module.repeatable && st.builders.some((b) => b.kind === 'module' && b.module === module)) fail(`a second ${name} match: one per rule`, v);
        if (!module.families.includes(st.family)) fail(`match ${quote(name)} is not available for ${st.family}`, v);
        st.builders.push({ kind: 'module', origin: v, module, draft: module.start(st.family) });
        return;
      }
      if (!(SUPPORTED_MATCHES as readonly string[]).includes(name)) {
        const known = [...SUPPORTED_MATCHES, ...moduleNames('match')];
        fail(`match module ${quote(name)} is not supported: the rule language models ${known.join(', ')}`, v);
      }
      if (name === 'tcp' || name === 'udp') {
        const existing = st.builders.find((b) => b.kind === 'tcp' || b.kind === 'udp');
        if (existing) {
          fail(`a second ${name} match: one tcp or udp match per rule (this rule has a ${existing.kind} match already)`, v);
        }
        st.builders.push(newL4(name, v));
      } else if (name === 'connlimit') {
        if (findBuilder(st, 'connlimit')) fail('a second connlimit match: one per rule', v);
        st.builders.push({ kind: 'connlimit', origin: v, seen: new Set(), limit: null, invert: false, daddr: false, maskBits: null });
      } else {
        if (findBuilder(st, 'comment')) fail('a second comment match: one per rule', v);
        st.builders.push({ kind: 'comment', origin: v, comment: null });
      }
      return;
    }
    case '-j':
    case '-g': {
      if (st.target) fail(`one target per rule: ${st.target.tok.value} was given already`, opt);
      const module = def.name === '-j' ? findModule('target', v.value) : undefined;
      if (module) {
        if (!module.families.includes(st.family)) fail(`target ${quote(v.value)} is not available for ${st.family}`, v);
        st.target = { target: { kind: 'none' }, tok: v, module: { kind: 'module', origin: v, module, draft: module.start(st.family) } };
        return;
      }
      st.target = { target: parseTarget(st, def.name, v), tok: v };
      return;
    }
  }
}

function parseTarget(st: ParseState, how: '-j' | '-g', v: Token): NativeTarget {
  const name = v.value;
  if (how === '-g') {
    if (isVerdict(name) || RESERVED_TARGET_NAMES.has(name)) fail(`-g takes a user chain; ${quote(name)} is a target`, v);
    const p = jumpChainProblem(name, 'goto');
    if (p) fail(p, v);
    return { kind: 'goto', chain: name };
  }
  if (isVerdict(name)) return { kind: 'verdict', verdict: name };
  if (name === 'REJECT') return { kind: 'reject', with: defaultRejectWith(st.family) };
  if (RESERVED_TARGET_NAMES.has(name)) {
    fail(`target ${quote(name)} is not supported: use ${[...SUPPORTED_TARGETS, ...moduleNames('target')].join(', ')} or a user chain`, v);
  }
  const p = jumpChainProblem(name, 'jump');
  if (p) fail(p, v);
  return { kind: 'jump', chain: name };
}

/**
 * The loaded registry module that takes `option` (the latest loaded match, as the CLI's getopt
 * merge does, then the target), if any.
 */
function moduleOption(st: ParseState, option: string): { builder: ModuleBuilder; def: OptionDef } | undefined {
  const loaded = [...st.builders].reverse();
  if (st.target?.module) loaded.push(st.target.module);
  for (const b of loaded) {
    if (b.kind !== 'module') continue;
    const o = b.module.options.find((x) => x.name === option);
    if (o) return { builder: b, def: { name: o.name, owner: 'module', args: o.args, invertible: o.invertible } };
  }
  return undefined;
}

/**
 * An option of the match `-p` loads without `-m` (`-p icmp --icmp-type 8`), loaded where the
 * option stands, as the CLI does. Only once: a second `-m icmp` would be a second match.
 */
function implicitOption(st: ParseState, tok: Token): { builder: ModuleBuilder; def: OptionDef } | undefined {
  if (!st.proto || st.proto.invert) return undefined;
  const module = implicitModule(st.family, st.proto.num, tok.value);
  if (!module || st.builders.some((b) => b.kind === 'module' && b.module === module)) return undefined;
  st.builders.push({ kind: 'module', origin: tok, module, draft: module.start(st.family) });
  return moduleOption(st, tok.value);
}

function moduleContext(st: ParseState, at: Token, vals: readonly Token[] = []): { family: Family; fail(message: string, value?: number): never } {
  return { family: st.family, fail: (message, value) => fail(message, value === undefined ? at : vals[value] ?? at) };
}

function applyModuleOption(st: ParseState, def: OptionDef, opt: Token, vals: Token[], invert: boolean): void {
  const v = vals[0];
  if (def.owner === 'tcp' || def.owner === 'l4') {
    if (def.args === 1 && v!.value.includes(',') && st.builders.some((b) => b.kind === 'module' && b.module.name === 'multiport')) {
      // getopt_long reads `--dport` as an abbreviation of multiport's `--dports` once it is loaded.
      fail(`write ${def.name}s for a multiport list: ${opt.value} is the tcp/udp match's single port (the CLI reads it as an abbreviation of ${def.name}s; abbreviations are not taken)`, opt);
    }
    const b = l4Builder(st, def, opt);
    switch (def.name) {
      case '--sport':
        once(b.seen, '--sport', opt);
        b.sport = parsePortRange(v!);
        b.invSport = invert;
        if (invert && b.sport[0] === 0 && b.sport[1] === 65535) fail(`${quote(`! --sport ${v!.value}`)} would never match`, v!);
        return;
      case '--dport':
        once(b.seen, '--dport', opt);
        b.dport = parsePortRange(v!);
        b.invDport = invert;
        if (invert && b.dport[0] === 0 && b.dport[1] === 65535) fail(`${quote(`! --dport ${v!.value}`)} would never match`, v!);
        return;
      case '--syn':
      case '--tcp-flags': {
        if (b.seen.has('flags')) fail('give --syn or --tcp-flags once (--syn is --tcp-flags FIN,SYN,RST,ACK SYN)', opt);
        b.seen.add('flags');
        if (def.name === '--syn') {
          b.flagMask = SYN_FLAG_MASK;
          b.flagCompare = SYN_FLAG_COMPARE;
        } else {
          const mask = parseTcpFlagList(v!.value);
          if (typeof mask !== 'number') fail(mask.error, v!);
          const cmp = parseTcpFlagList(vals[1]!.value);
          if (typeof cmp !== 'number') fail(cmp.error, vals[1]!);
          if ((cmp & ~mask) !== 0) fail(`flags ${quote(vals[1]!.value)} are not all in the mask ${quote(v!.value)}: the rule would never match`, vals[1]!);
          b.flagMask = mask;
          b.flagCompare = cmp;
        }
        b.invFlags = invert;
        return;
      }
      case '--tcp-option': {
        once(b.seen, '--tcp-option', opt);
        const o = parseDecimal(v!.value, 255);
        if (o === null || o === 0) fail(`${quote(v!.value)} is not a TCP option kind 1-255${numberHint(v!.value)}`, v!);
        b.option = o;
        b.invOption = invert;
        return;
      }
    }
    return;
  }
  if (def.owner === 'connlimit') {
    const b = findBuilder(st, 'connlimit');
    if (!b) fail(`${opt.value} needs -m connlimit before it`, opt);
    switch (def.name) {
      case '--connlimit-above':
      case '--connlimit-upto': {
        if (b.seen.has('limit')) fail('give one of --connlimit-above or --connlimit-upto, once', opt);
        b.seen.add('limit');
        const n = parseDecimal(v!.value, MAX_CONNLIMIT);
        if (n === null) fail(`${quote(v!.value)} is not a count 0-${MAX_CONNLIMIT}${numberHint(v!.value)}`, v!);
        b.limit = n;
        // XT_CONNLIMIT_INVERT means "upto"; a ! swaps above and upto (libxt_connlimit.c connlimit_parse).
        b.invert = (def.name === '--connlimit-upto') !== invert;
        return;
      }
      case '--connlimit-mask': {
        once(b.seen, '--connlimit-mask', opt);
        const width = addressBits(st.family);
        let bits = parseDecimal(v!.value, width);
        if (bits === null && st.family === 'ipv4') {
          const m = parseIpv4(v!.value);
          if (m) {
            bits = maskToPrefix(m);
            if (bits === -1) fail(`${quote(v!.value)} is not a contiguous mask`, v!);
          }
        }
        if (bits === null) fail(`${quote(v!.value)} is not a prefix length 0-${width}${numberHint(v!.value)}`, v!);
        b.maskBits = bits;
        return;
      }
      case '--connlimit-saddr':
      case '--connlimit-daddr':
        if (b.seen.has('addr')) fail('give one of --connlimit-saddr or --connlimit-daddr, once', opt);
        b.seen.add('addr');
        b.daddr = def.name === '--connlimit-daddr';
        return;
    }
    return;
  }
  if (def.owner === 'comment') {
    const b = findBuilder(st, 'comment');
    if (!b) fail('--comment needs -m comment before it', opt);
    if (b.comment !== null) fail('--comment given twice', opt);
    const p = commentProblem(v!.value);
    if (p) fail(p, v!);
    b.comment = v!.value;
    return;
  }
  // REJECT
  const t = st.target?.target;
  if (!t || t.kind !== 'reject') fail('--reject-with needs -j REJECT before it', opt);
  if (st.rejectWith) fail('--reject-with given twice', opt);
  const name = rejectSaveName(st.family, v!.value);
  if (!name) {
    const echo = st.family === 'ipv4' && /^(icmp-)?echo-?reply$/i.test(v!.value);
    fail(
      echo
        ? `${quote(v!.value)} is refused: the kernel no longer supports REJECT with an echo reply`
        : `unknown reject type ${quote(v!.value)} for ${st.family}: use ${rejectTypes(st.family).map((r) => r.name).join(', ')}`,
      v!,
    );
  }
  t.with = name;
  st.rejectWith = v!;
}

function finish(st: ParseState): NativeRule {
  const matches: NativeMatch[] = [];
  for (const b of st.builders) {
    if (b.kind === 'module') {
      const wrongProtocol = protocolProblem(b.module, st.proto);
      if (wrongProtocol) fail(wrongProtocol, b.origin);
      const part = b.module.finish(b.draft, moduleContext(st, b.origin));
      matches.push(encodeExtension(b.module, part, st.family));
    } else if (b.kind === 'tcp' || b.kind === 'udp') {
      const want = b.kind === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
      if (!st.proto || st.proto.num !== want || st.proto.invert) {
        fail(`the ${b.kind} match needs -p ${b.kind} (the kernel refuses it otherwise)`, b.origin);
      }
      if (b.kind === 'tcp') {
        matches.push({
          kind: 'tcp', sport: b.sport, dport: b.dport, option: b.option, flagMask: b.flagMask, flagCompare: b.flagCompare,
          invSport: b.invSport, invDport: b.invDport, invFlags: b.invFlags, invOption: b.invOption,
        });
      } else {
        matches.push({ kind: 'udp', sport: b.sport, dport: b.dport, invSport: b.invSport, invDport: b.invDport });
      }
    } else if (b.kind === 'connlimit') {
      if (b.limit === null) fail('-m connlimit needs --connlimit-above N or --connlimit-upto N', b.origin);
      matches.push({ kind: 'connlimit', limit: b.limit, invert: b.invert, daddr: b.daddr, maskBits: b.maskBits });
    } else if (b.kind === 'comment') {
      if (b.comment === null) fail('-m comment needs --comment TEXT', b.origin);
      matches.push({ kind: 'comment', comment: b.comment });
    }
  }
  st.rule.matches = matches;
  const tm = st.target?.module;
  if (tm) {
    const wrongProtocol = protocolProblem(tm.module, st.proto);
    if (wrongProtocol) fail(wrongProtocol, tm.origin);
    const part = tm.module.finish(tm.draft, moduleContext(st, tm.origin));
    const p = tm.module.ruleProblem?.(part, { protocol: st.proto?.num ?? 0, invProtocol: st.proto?.invert ?? false, matches });
    if (p) fail(p, tm.origin);
    st.target!.target = encodeExtension(tm.module, part, st.family);
  }
  if (st.target) {
    st.rule.target = st.target.target;
    const t = st.target.target;
    if (t.kind === 'reject' && t.with === REJECT_TCP_RESET && (!st.proto || st.proto.num !== IPPROTO_TCP || st.proto.invert)) {
      fail('tcp-reset needs -p tcp (the kernel refuses it otherwise)', st.rejectWith ?? st.target.tok);
    }
  }
  return st.rule;
}

function parseTokens(tokens: Token[], start: number, family: Family, chain: string | null): NativeRule {
  const st: ParseState = {
    family,
    chain,
    proto: null,
    seen: new Set(),
    rule: {
      protocol: 0, invProtocol: false, src: null, dst: null, inInterface: null, outInterface: null,
      fragment: null, matches: [], target: { kind: 'none' },
    },
    builders: [],
    target: null,
    rejectWith: null,
  };
  let bang: Token | null = null;
  let i = start;
  while (i < tokens.length) {
    const tok = tokens[i]!;
    if (tok.value === '!') {
      if (bang) fail('two ! in a row', tok);
      bang = tok;
      i++;
      continue;
    }
    const eq = tok.value.indexOf('=');
    if (tok.value.startsWith('--') && eq > 2 && (OPTIONS.has(tok.value.slice(0, eq)) || modulesWithOption(tok.value.slice(0, eq)).length)) {
      fail(`write ${quote(`${tok.value.slice(0, eq)} ${tok.value.slice(eq + 1)}`)}, not ${quote(tok.value)}`, tok);
    }
    const mod = OPTIONS.has(tok.value) ? undefined : (moduleOption(st, tok.value) ?? implicitOption(st, tok));
    const d = OPTIONS.get(tok.value) ?? mod?.def;
    if (!d) {
      const owners = modulesWithOption(tok.value);
      if (owners.length) fail(`${tok.value} needs ${owners.map((m) => `${m.type === 'match' ? '-m' : '-j'} ${m.name}`).join(' or ')} before it`, tok);
      if (tok.value === '-A' || tok.value === '--append') {
        fail(i === 0 ? 'give the rule without -A CHAIN (parseSaveLine takes a whole save line)' : '-A in the middle of a rule', tok);
      }
      if (COMMANDS.has(tok.value)) fail(`${tok.value} is a command or global option of the CLI, not part of a rule`, tok);
      if (tok.value.startsWith('--') && tok.value.length > 2) {
        // getopt_long takes unique abbreviations; we take whole option names only.
        const loaded = st.builders.flatMap((b) => (b.kind === 'module' ? b.module.options.map((o) => o.name) : []));
        const full = [...OPTIONS.keys(), ...loaded].filter((k) => k.startsWith(tok.value));
        if (full.length) fail(`unknown option ${echo(tok.value)} (abbreviations are not taken: ${full.join(' or ')}?)`, tok);
      }
      if (tok.value.startsWith('-') && tok.value.length > 1) fail(`unknown option ${echo(tok.value)}`, tok);
      fail(`unexpected ${quote(tok.value)}: expected an option`, tok);
    }
    const invert = bang !== null;
    if (invert && !d.invertible) fail(`${tok.value} can't be negated with !`, tok);
    bang = null;
    const vals = takeValues(tokens, i, d, tok);
    if (mod) mod.builder.module.option(mod.builder.draft, d.name, vals.map((t) => t.value), invert, moduleContext(st, tok, vals));
    else if (d.owner === 'rule') applyRuleOption(st, d, tok, vals, invert);
    else applyModuleOption(st, d, tok, vals, invert);
    i += 1 + d.args;
  }
  if (bang) fail('! at the end, with nothing to negate', bang);
  return finish(st);
}

function checkFamily(family: unknown): asserts family is Family {
  if (family !== 'ipv4' && family !== 'ipv6') invalid('family', `expected 'ipv4' or 'ipv6'`);
}

/**
 * Parse a rule in iptables syntax (without `-A CHAIN`), as `iptables -A CHAIN <rule>` would take it.
 *
 * @param text - e.g. `-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset`
 * @param family - 'ipv4' (iptables) or 'ipv6' (ip6tables)
 * @throws {ERR_CONNLIMIT_INVALID} a ValidationError with path 'rule' and the offending `token` and
 *   its 0-based `tokenIndex`
 * @example parseRule('-p tcp --dport 22 -j ACCEPT', 'ipv4').matches[0] // { kind: 'tcp', dport: [22, 22], ... }
 */
export function parseRule(text: string, family: Family): NativeRule {
  return parseCommonText(text, family) ?? parseInFull(text, family);
}

/**
 * The rule when the text has the common shape (src/rule/common-shape.ts), else null: the same
 * rule the full parser gives, several times faster.
 */
export function parseCommonText(text: string, family: Family): NativeRule | null {
  checkFamily(family);
  if (typeof text !== 'string' || text.length > MAX_RULE_CHARS) return null;
  return parseCommonShape(text, family);
}

/**
 * The values of `text` when it has the shape of the last rule read by the common-shape walker
 * with other values, else null: when not null, parseRule gives that shape's rule with these
 * values (src/rule/common-shape.ts), so a caller keeping that rule's packed bytes may patch
 * them instead (src/op-pack.ts).
 */
export function readCommonValues(text: string, family: Family): ShapeValues | null {
  if (text.length > MAX_RULE_CHARS) return null;
  return readLastShape(text, family);
}

/**
 * @internal The full parser alone, without the common-shape fast path: what the fast path
 * must equal (test/10-parse.test.ts).
 */
export function parseInFull(text: string, family: Family): NativeRule {
  checkFamily(family);
  return parseTokens(tokenize(text), 0, family, null);
}

/**
 * Parse one `-A CHAIN <rule>` line as iptables-save prints it (handy for round trips).
 * Also checks what the CLI checks against built-in chains (no -o in INPUT, no -i in OUTPUT).
 *
 * @throws {ERR_CONNLIMIT_INVALID} as {@link parseRule}; token indices count `-A` and the chain
 * @example parseSaveLine('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT', 'ipv4').chain // 'INPUT'
 */
export function parseSaveLine(line: string, family: Family): { chain: string; rule: NativeRule } {
  checkFamily(family);
  const tokens = tokenize(line);
  const first = tokens[0];
  if (!first || (first.value !== '-A' && first.value !== '--append')) {
    invalid('rule', 'expected a save line starting with -A CHAIN', first ? { token: first.value, index: 0 } : undefined);
  }
  const chainTok = tokens[1];
  if (!chainTok) fail('-A needs a chain name', first);
  const p = chainNameProblem(chainTok.value);
  if (p) fail(p, chainTok);
  return { chain: chainTok.value, rule: parseTokens(tokens, 2, family, chainTok.value) };
}
