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

export type JumpPosition = 'first' | 'last';

/** One jump from a built-in chain into an owned chain: `-I FROM 1 -j TO` ('first') or `-A FROM -j TO` ('last'). */
export interface DesiredJump {
  from: string;
  to: string;
  /** Where a missing jump is put; a jump already in the chain is not moved. Default 'first'. */
  position?: JumpPosition;
}

export interface DesiredState {
  /** The chains the caller owns, each with its rules in order (iptables syntax or typed). */
  chains: Record<string, Array<string | RuleSpec>>;
  /** Jumps into owned chains from built-in chains. */
  jumps?: DesiredJump[];
}

/** @internal The desired state in native form: rules parsed and checked for their chains. */
export interface CheckedDesired {
  chains: Map<string, NativeRule[]>;
  jumps: Array<{ from: string; to: string; position: JumpPosition; rule: NativeRule }>;
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
export type RuleMemo = Map<string, NativeRule>;
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
  for (const k of Object.keys(input)) if (k !== 'chains' && k !== 'jumps') invalid(k, 'unknown key (known: chains, jumps)');
  const chainsIn = input.chains;
  if (!isPlainObject(chainsIn)) invalid('chains', `expected an object of chain name to a list of rules, got ${describe(chainsIn)}`);
  const owned = Object.keys(chainsIn);
  if (owned.length === 0) invalid('chains', 'names no chain: a desired state owns at least one chain');
  const nativeForm = shape.backend === 'nftables';
  for (const name of owned) {
    validateChainName(name, `chains.${name}`);
    if (nativeForm) checkNftablesChain(name, `chains.${name}`);
    else if (shape.builtinChains.includes(name)) invalid(`chains.${name}`, `${quote(name)} is a built-in chain of table ${shape.table}: a caller owns user chains only, and jumps into them (jumps)`);
  }
  const chains = new Map<string, NativeRule[]>();
  for (const name of owned) {
    const rules = chainsIn[name];
    if (!Array.isArray(rules)) invalid(`chains.${name}`, `expected a list of rules, got ${describe(rules)}`);
    chains.set(
      name,
      rules.map((r, i) => {
        const place = `chains.${name}[${i}]`;
        if (typeof r !== 'string' && !isPlainObject(r)) invalid(place, `expected a rule (iptables syntax or an object), got ${describe(r)}`);
        const memoKey = typeof r === 'string' ? `${name}\n${r}` : null;
        let native = memoKey !== null ? memo?.get(memoKey) : undefined;
        if (native === undefined) {
          const parsed = at(place, () => toNativeRule(r as string | RuleSpec, shape.family as Family));
          at(place, () => validateRuleForChain(parsed, name));
          at(place, () => shape.targetFits(parsed));
          if (nativeForm) at(place, () => checkNftablesRule(parsed, name, shape.family as Family));
          if (memoKey !== null && memo) {
            if (memo.size >= MEMO_SIZE) memo.clear();
            memo.set(memoKey, parsed);
          }
          native = parsed;
        }
        const target = jumpTarget(native);
        if (target !== null && !owned.includes(target)) {
          invalid(place, `jumps to ${quote(target)}, a chain this state does not own: rules in owned chains jump only to owned chains`);
        }
        return native;
      }),
    );
  }
  const jumpsIn = input.jumps ?? [];
  if (!Array.isArray(jumpsIn)) invalid('jumps', `expected a list of { from, to, position }, got ${describe(jumpsIn)}`);
  if (nativeForm && jumpsIn.length > 0) invalid('jumps', "the native nftables form has no user chains to jump to: its state owns the base chains (INPUT, FORWARD, OUTPUT) of the library's own tables directly");
  const jumps = jumpsIn.map((j, i) => {
    const place = `jumps[${i}]`;
    if (!isPlainObject(j)) invalid(place, `expected { from, to, position }, got ${describe(j)}`);
    for (const k of Object.keys(j)) if (k !== 'from' && k !== 'to' && k !== 'position') invalid(`${place}.${k}`, 'unknown key (known: from, to, position)');
    const from = validateChainName(j.from, `${place}.from`);
    if (!shape.builtinChains.includes(from)) invalid(`${place}.from`, `${quote(from)} is not a built-in chain of table ${shape.table} (${shape.builtinChains.join(', ')})`);
    const to = validateChainName(j.to, `${place}.to`);
    if (!chains.has(to)) invalid(`${place}.to`, `${quote(to)} is not a chain this state owns (chains: ${owned.join(', ')})`);
    const position = j.position ?? 'first';
    if (position !== 'first' && position !== 'last') invalid(`${place}.position`, `expected 'first' or 'last', got ${describe(position)}`);
    return { from, to, position: position as JumpPosition, rule: toNativeRule(`-j ${to}`, shape.family as Family) };
  });
  const seen = new Set<string>();
  jumps.forEach((j, i) => {
    const key = `${j.from} ${j.to}`;
    if (seen.has(key)) invalid(`jumps[${i}]`, `a second jump from ${j.from} to ${j.to}`);
    seen.add(key);
  });
  return { chains, jumps };
}
