// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a compat-form module is: one file under src/rule/modules/ that owns everything about one
 * `-m NAME` match or `-j NAME` target the kernel reads as an xt info blob.
 *
 * A module's rule part never crosses into C++ as a type of its own: `encode` lays it out as the
 * kernel struct, and it travels as an `opaque` extension, which the legacy framing and
 * iptables-nft's compat `match`/`target` expression both write and read byte for byte. So a new
 * module needs no C++ change, and equality (delete, check, ensure) is equality of the bytes,
 * which `encode` makes canonical: the same meaning always gives the same bytes, the very bytes
 * iptables 1.8.9 writes.
 *
 * The part is the module's typed spelling in a rule's `matches` array (`{ kind: NAME, ... }`),
 * already normalized: `parse`, `validate` and `decode` all return it, `render` and `encode`
 * take it. A listing shows `decode(bytes)` only when it encodes back to the same bytes
 * (src/rule/modules/index.ts checks), else the match stays opaque.
 */
import type { NativeMatch, NativeRule } from '../../native-types';
import type { Family } from '../types';

/** One option of a module, as the command line takes it. */
export interface ModuleOption {
  /** The spelling, e.g. `--ctstate`. Whole names only: abbreviations are refused. */
  name: string;
  /** How many value words follow it. */
  args: 0 | 1 | 2;
  /** Whether the CLI takes `! --option`. */
  invertible: boolean;
}

/** How a module refuses command-line input: ERR_CONNLIMIT_INVALID pointing at a word. */
export interface ParseContext {
  family: Family;
  /** Throws, pointing at value word `value` (0-based) of the option, or at the option itself. */
  fail(message: string, value?: number): never;
}

/**
 * How a module checks a typed part: the rule checker of validate.ts, which collects every
 * problem with its field path (each method reports and returns undefined on a bad value).
 */
export interface SpecChecker {
  readonly family: Family;
  add(path: string, message: string): undefined;
  /** Refuse keys outside `allowed`. */
  keys(o: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void;
  /** Unwrap `T | { not: T }`; `path` is the value's own path (`...not` when negated). */
  negatable(v: unknown, path: string): { value: unknown; invert: boolean; path: string };
  int(v: unknown, path: string, min: number, max: number, what?: string): number | undefined;
  string(v: unknown, path: string, what: string): string | undefined;
}

/**
 * One compat-form module. `Part` is its normalized typed spelling (`kind` is `name`); `Draft`
 * is what its parse builds while the options arrive (they may be spread over the line).
 */
export interface CompatModule<Part extends { kind: string } = { kind: string }, Draft = unknown> {
  /** `-m NAME` / `-j NAME` as users write it, and the part's `kind` unless `kind` says otherwise. */
  readonly name: string;
  /** The part's `kind` when it is not `name`: targets are upper case on the command line (`-j LOG` is `{ kind: 'log' }`). */
  readonly kind?: string;
  readonly type: 'match' | 'target';
  /** The kernel extension name and revision iptables 1.8.9 writes (`state` writes `conntrack` 3). */
  readonly xtName: string;
  readonly revision: number;
  readonly families: readonly Family[];
  /**
   * How many leading bytes of the blob are the rule (the extension's `userspacesize`), when less
   * than all: the rest is kernel-private (hashlimit's table pointer), which the CLI and the
   * kernel leave out of comparisons. Absent: all of it.
   */
  readonly userspaceSize?: number;
  readonly options: readonly ModuleOption[];
  /**
   * Whether one rule may load it more than once (`-m recent --rcheck ... -m recent --set`); the
   * others are one per rule. Options go to the latest loaded, as the CLI's getopt merge does.
   */
  readonly repeatable?: boolean;
  /**
   * The IP protocols the kernel takes the match with (`-p`, not negated), when it is bound to
   * some: xt_check_match refuses the rule otherwise (`icmp match: only valid for protocol 1`).
   * parse and validate check it for every rule that has the module.
   */
  readonly protocols?: readonly number[];
  /**
   * The protocol whose `-p` loads the match without `-m`, as the CLI loads the match named after
   * the rule's protocol: `-p icmp --icmp-type 8` is `-p icmp -m icmp --icmp-type 8`.
   */
  readonly implicitFor?: number;
  /**
   * The built-in chains the kernel allows the match in, when it restricts them (xt_mac reads a
   * header that only incoming packets have). Checked where the chain is known (validateRuleForChain).
   */
  readonly chains?: readonly string[];
  /** `chains` when it depends on the blob (TCPMSS clamps to the path MTU only in some hooks); undefined: any. */
  chainsFor?(data: Buffer): readonly string[] | undefined;
  /**
   * The tables the kernel allows the extension in, when it restricts them (xt_CT declares
   * `raw`): checked where the table is known (the firewall, before anything is written).
   */
  readonly tables?: readonly string[];
  /** `tables` when it depends on the blob (SET's --map-set is mangle only); undefined: any. */
  tablesFor?(data: Buffer): readonly string[] | undefined;
  /**
   * Why the rest of the rule can't carry this part, or null: what the kernel's checkentry reads
   * of the rule beyond `-p` (TCPMSS wants a tcp match on SYN; CT --helper wants a protocol).
   * parse and validate call it for every rule whose target is the module.
   */
  ruleProblem?(part: Part, rule: { protocol: number; invProtocol: boolean; matches: readonly NativeMatch[] }): string | null;

  /**
   * Where the blob holds ipset set indexes (u16, host order), for a module that refers to sets
   * (`-m set`). Only the namespace's ipset knows a set's index, so `encode` writes
   * IPSET_INVALID_ID there and the extension carries the names (`setNames`): the firewall writes
   * the indexes at commit, and names a listing's indexes before `decode` (src/rule/set-refs.ts).
   */
  readonly setIndexOffsets?: readonly number[];
  /** The set names a part refers to, one per `setIndexOffsets` entry. */
  setNames?(part: Part): string[];

  /** A fresh draft, when `-m NAME` is read. */
  start(family: Family): Draft;
  /** One of its options with its value words; `!` already taken off. Repeats are its own to refuse. */
  option(draft: Draft, option: string, values: readonly string[], invert: boolean, ctx: ParseContext): void;
  /** The finished part, or `ctx.fail` (pointing at the `-m` word) when a required option is missing. */
  finish(draft: Draft, ctx: ParseContext): Part;

  /**
   * A typed part from a caller (plain data, any shape), checked: every problem reported through
   * `check` with paths under `path`; undefined when there were any.
   */
  validate(value: Record<string, unknown>, path: string, check: SpecChecker): Part | undefined;

  /** The words `iptables-save` 1.8.9 prints for it, `-m NAME` included. */
  render(part: Part, family: Family): string[];
  /** The kernel struct after the 32-byte xt header, XT_ALIGNed to 8, exactly as the CLI writes it. */
  encode(part: Part, family: Family): Buffer;
  /**
   * The part these bytes hold, or null for bytes it does not model (then they stay opaque).
   * `sets`: the names of the sets at `setIndexOffsets`, when the listing could name them.
   */
  decode(data: Buffer, family: Family, sets?: readonly string[]): Part | null;

  /**
   * Whether the native nftables form (backend 'nftables') writes this part, as
   * `iptables-translate` 1.8.9 renders it (native/core/nft/native/xlate.cc has the expressions
   * of matches, xlate_targets.cc the statements of the targets that let the packet go on):
   * null when it does, else why not (the refusal names the module and points to backend 'nft').
   * `rule`: the rule it is in, where the protocol decides (hashlimit's ports).
   * Absent: the module has no translation there.
   */
  nftables?(part: Part, family: Family, rule: NativeRule): string | null;
}
