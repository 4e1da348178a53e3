// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The desired state of fw.apply()/removeOwned(): the chains a caller owns, their rules in order,
 * and the jumps into them from built-in chains. Checked whole, before anything is read from the
 * kernel, with errors naming the place (`chains.LIMITS[3]: ...`), so a file's path reads as in
 * the file.
 */
import { invalid, ValidationError } from '../errors';
import { quote } from '../echo';
import type { NativeRule } from '../native-types';
import { toNativeRule } from '../rule/index';
import type { Family, RuleSpec } from '../rule/types';
import { describe, validateChainName, validateRuleForChain } from '../rule/validate';
import type { TableShape } from '../table-shape';
import { checkNftablesChain, checkNftablesRule } from '../rule/nftables-form';
import { checkAnchor, type CheckedAnchor, type JumpAnchor } from './anchor';
import { checkOwner, ownedByName, ownerPrefix } from './owner';

/**
 * 'first' (insert at 1), 'last' (append), or after a named rule of another program (just after
 * it; a jump already after it stays where it is).
 */
export type JumpPosition = 'first' | 'last' | { after: JumpAnchor };

/** One jump from a built-in chain into an owned chain: `-I FROM 1 -j TO` ('first'), `-A FROM -j TO` ('last'), or after a named rule. */
export interface DesiredJump {
  from: string;
  to: string;
  /**
   * Where a missing jump is put. A jump already in the chain is not moved, except one placed
   * `after` a rule that is now below it. Default 'first'.
   */
  position?: JumpPosition;
}

export interface DesiredState {
  /**
   * Who owns the chains: every chain is then named `OWNER-...`, which is how the kernel records
   * it, so `removeOwned(OWNER)` finds them without this state, and apply() removes a chain of
   * the owner that the state no longer lists. Letters, digits and `_`, 16 at most.
   */
  owner?: string;
  /** The chains the caller owns, each with its rules in order (iptables syntax or typed). */
  chains: Record<string, Array<string | RuleSpec>>;
  /** Jumps into owned chains from built-in chains. */
  jumps?: DesiredJump[];
}

/** @internal A jump of the desired state in native form; `anchor` for one placed after a named rule. */
export interface CheckedJump {
  from: string;
  to: string;
  position: 'first' | 'last' | 'after';
  anchor: CheckedAnchor | null;
  rule: NativeRule;
}

/** @internal The desired state in native form: rules parsed and checked for their chains. */
export interface CheckedDesired {
  /** Chains named `OWNER-...` are the owner's, listed here or not. */
  owner: string | null;
  chains: Map<string, NativeRule[]>;
  jumps: CheckedJump[];
}

/** Whether a user chain is owned: listed by the state, or named with its owner's prefix. */
export function ownsChain(desired: CheckedDesired, chain: string): boolean {
  return desired.chains.has(chain) || (desired.owner !== null && ownedByName(desired.owner, chain));
}

/** What removeOwned(owner) removes: the owner's chains by their names, no state. */
export function ownerOnly(owner: unknown): CheckedDesired {
  return { owner: checkOwner(owner, 'owner'), chains: new Map(), jumps: [] };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Rules in iptables syntax already parsed and checked for a chain of one table shape, by chain
 * and text: re-applying a state (a keeper's checks, `apply --watch`) parses nothing again, and
 * hands the plan the same rule objects it holds for the table, which it compares by identity
 * first. Never mutated once made.
 */
export class RuleMemo {
  /** By chain, then text: a lookup hashes the caller's string (its hash kept in it), no key is built. */
  private readonly byChain = new Map<string, Map<string, NativeRule>>();
  private size = 0;
  /** @param limit rules held at most: the next one empties it first */
  constructor(private readonly limit = MEMO_SIZE) {}
  /** Each chain's rules as the last state listed them: a rule at the same place with the same text is found by position. */
  private readonly last = new Map<string, { texts: readonly unknown[]; rules: readonly NativeRule[] }>();

  get(chain: string, text: string): NativeRule | undefined {
    return this.byChain.get(chain)?.get(text);
  }

  /** The rule of `text` at `index` of `chain`, if memoized. */
  at(chain: string, index: number, text: string): NativeRule | undefined {
    const last = this.last.get(chain);
    // Most of a re-applied chain: the same string (often the same one) at the same place.
    if (last !== undefined && last.texts[index] === text) return last.rules[index];
    return this.get(chain, text);
  }

  /** The chain's rules as a state listed them, for the next state's look by position. */
  remember(chain: string, texts: readonly unknown[], rules: readonly NativeRule[]): void {
    this.last.set(chain, { texts, rules });
  }

  set(chain: string, text: string, rule: NativeRule): void {
    if (this.size >= this.limit) {
      this.byChain.clear();
      this.last.clear();
      this.size = 0;
    }
    let rules = this.byChain.get(chain);
    if (rules === undefined) this.byChain.set(chain, (rules = new Map()));
    if (!rules.has(text)) this.size++;
    rules.set(text, rule);
  }
}
const MEMO_SIZE = 100_000;

/** Re-throws a rule's ValidationError under the place in the desired state. */
function at<T>(place: string, work: () => T): T {
  try {
    return work();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new ValidationError(e.issues.map((i) => ({ ...i, path: `${place}: ${i.path}` })));
  }
}

/** A rule's jump or goto target, or null. */
export function jumpTarget(rule: NativeRule): string | null {
  return rule.target.kind === 'jump' || rule.target.kind === 'goto' ? rule.target.chain : null;
}

/**
 * Checks a desired state against a table's shape. On the native form (backend 'nftables') the
 * tables are the library's own, so the chains a state owns are its base chains (INPUT, FORWARD,
 * OUTPUT: every rule in them), its rules are those the form holds, and there are no jumps.
 * @throws {ERR_CONNLIMIT_INVALID} naming the place: `chains`, `chains.LIMITS`, `chains.LIMITS[3]`,
 *   `jumps[0].to`, ...
 */
export function checkDesired(input: unknown, shape: TableShape, memo?: RuleMemo): CheckedDesired {
  if (!isPlainObject(input)) invalid('desired', `expected an object { chains, jumps }, got ${describe(input)}`);
  for (const k of Object.keys(input)) if (k !== 'owner' && k !== 'chains' && k !== 'jumps') invalid(k, 'unknown key (known: owner, chains, jumps)');
  const nativeForm = shape.backend === 'nftables';
  const owner = input.owner === undefined ? null : checkOwner(input.owner, 'owner');
  if (owner !== null && nativeForm) invalid('owner', "the native nftables form's tables are the library's own, with no chains to name after an owner: removeOwned() deletes them whoever asks");
  const chainsIn = input.chains;
  if (!isPlainObject(chainsIn)) invalid('chains', `expected an object of chain name to a list of rules, got ${describe(chainsIn)}`);
  const owned = Object.keys(chainsIn);
  if (owned.length === 0) invalid('chains', 'names no chain: a desired state owns at least one chain');
  for (const name of owned) {
    validateChainName(name, `chains.${name}`);
    if (nativeForm) checkNftablesChain(name, `chains.${name}`);
    else if (shape.builtinChains.includes(name)) invalid(`chains.${name}`, `${quote(name)} is a built-in chain of table ${shape.table}: a caller owns user chains only, and jumps into them (jumps)`);
    if (owner !== null && !ownedByName(owner, name)) invalid(`chains.${name}`, `the chains of owner ${quote(owner)} are named ${quote(`${ownerPrefix(owner)}...`)}: that is how the kernel records whose they are`);
  }
  const chains = new Map<string, NativeRule[]>();
  for (const name of owned) {
    const rules = chainsIn[name];
    if (!Array.isArray(rules)) invalid(`chains.${name}`, `expected a list of rules, got ${describe(rules)}`);
    const checked = rules.map((r, i) => {
        let native = typeof r === 'string' ? memo?.at(name, i, r) : undefined;
        if (native === undefined) {
          const place = `chains.${name}[${i}]`;
          if (typeof r !== 'string' && !isPlainObject(r)) invalid(place, `expected a rule (iptables syntax or an object), got ${describe(r)}`);
          const parsed = at(place, () => toNativeRule(r as string | RuleSpec, shape.family as Family));
          at(place, () => validateRuleForChain(parsed, name));
          at(place, () => shape.targetFits(parsed));
          if (nativeForm) at(place, () => checkNftablesRule(parsed, name, shape.family as Family));
          if (typeof r === 'string') memo?.set(name, r, parsed);
          native = parsed;
        }
        const target = jumpTarget(native);
        if (target !== null && !owned.includes(target)) {
          invalid(`chains.${name}[${i}]`, `jumps to ${quote(target)}, a chain this state does not own: rules in owned chains jump only to owned chains`);
        }
        return native;
      });
    chains.set(name, checked);
    memo?.remember(name, rules, checked);
  }
  const jumpsIn = input.jumps ?? [];
  if (!Array.isArray(jumpsIn)) invalid('jumps', `expected a list of { from, to, position }, got ${describe(jumpsIn)}`);
  if (nativeForm && jumpsIn.length > 0) invalid('jumps', "the native nftables form has no user chains to jump to: its state owns the base chains (INPUT, FORWARD, OUTPUT) of the library's own tables directly");
  const jumps = jumpsIn.map((j, i): CheckedJump => {
    const place = `jumps[${i}]`;
    if (!isPlainObject(j)) invalid(place, `expected { from, to, position }, got ${describe(j)}`);
    for (const k of Object.keys(j)) if (k !== 'from' && k !== 'to' && k !== 'position') invalid(`${place}.${k}`, 'unknown key (known: from, to, position)');
    const from = validateChainName(j.from, `${place}.from`);
    if (!shape.builtinChains.includes(from)) invalid(`${place}.from`, `${quote(from)} is not a built-in chain of table ${shape.table} (${shape.builtinChains.join(', ')})`);
    const to = validateChainName(j.to, `${place}.to`);
    if (!chains.has(to)) invalid(`${place}.to`, `${quote(to)} is not a chain this state owns (chains: ${owned.join(', ')})`);
    const position = j.position ?? 'first';
    // Memoized under the built-in chain, which no owned chain is named: the plan compares the
    // same object with the one the last apply() wrote, as it does owned rules.
    const text = `-j ${to}`;
    const rule = memo?.get(from, text) ?? toNativeRule(text, shape.family as Family);
    memo?.set(from, text, rule);
    if (position === 'first' || position === 'last') return { from, to, position, anchor: null, rule };
    if (!isPlainObject(position)) invalid(`${place}.position`, `expected 'first', 'last' or { after: { comment: NAME } | { rule: RULE } }, got ${describe(position)}`);
    const anchor = checkAnchor(position, `${place}.position`, from, shape, (chain) => ownsChain({ owner, chains, jumps: [] }, chain), at);
    return { from, to, position: 'after', anchor, rule };
  });
  const seen = new Set<string>();
  jumps.forEach((j, i) => {
    const key = `${j.from} ${j.to}`;
    if (seen.has(key)) invalid(`jumps[${i}]`, `a second jump from ${j.from} to ${j.to}`);
    seen.add(key);
  });
  return { owner, chains, jumps };
}
