// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The rule commands: add, insert, ensure, rm, check, ls, save, flush, on the public API only.
 * Their --json objects are `{ ok: true, backend, ... }`: with the default 'auto', a script
 * learns where the rule went.
 */
import { Firewall, parseRule, validateChainName, type Family, type FirewallOptions, type ListedChain, type RuleSpec, type Transaction } from '../index';
import { usageError } from './usage-error';
import { ruleText, type CommonOptions } from './args';
import { EXIT } from './exit-codes';
import { quote } from '../echo';

export interface Output {
  /** What the command printed for a person. */
  text: string;
  /** The same for scripts (--json). */
  json: unknown;
  exitCode: number;
}

export const RULE_COMMANDS = new Set(['add', 'insert', 'ensure', 'rm', 'check', 'ls', 'save', 'flush']);

export function firewallOptions(o: CommonOptions): FirewallOptions {
  const out: Record<string, unknown> = {};
  if (o.family !== undefined) out.family = o.family;
  if (o.table !== undefined) out.table = o.table;
  if (o.backend !== undefined) out.backend = o.backend;
  if (o.netns !== undefined) out.netns = o.netns;
  if (o.lockTimeoutMs !== undefined) out.lockTimeoutMs = o.lockTimeoutMs;
  return out as FirewallOptions;
}

function needChain(rest: string[]): string {
  const chain = rest[0];
  if (chain === undefined) usageError('CHAIN', 'missing chain name');
  return chain;
}

/** Parsed here, before the namespace is opened: a bad rule is bad usage, whatever the target. */
function needRule(tokens: string[], options: CommonOptions): RuleSpec {
  if (tokens.length === 0) usageError('RULE', 'missing rule');
  return parseRule(ruleText(tokens), options.family === undefined ? {} : { family: options.family as Family });
}

/** `iptables -S` style lines: policies, user chains, then rules. */
function specLines(chains: ListedChain[], only?: string): string {
  const shown = only === undefined ? chains : chains.filter((c) => c.name === only);
  const lines: string[] = [];
  for (const c of shown) lines.push(c.builtin ? `-P ${c.name} ${c.policy ?? 'ACCEPT'}` : `-N ${c.name}`);
  for (const c of shown) for (const r of c.rules) lines.push(r.text);
  return lines.join('\n');
}

/** What a command will do, read from its arguments before anything is opened. */
type Plan =
  | { command: 'add' | 'ensure' | 'check'; chain: string; rule: RuleSpec }
  | { command: 'insert'; chain: string; position: number; rule: RuleSpec }
  | { command: 'rm'; chain: string; target: number | RuleSpec }
  | { command: 'ls' | 'flush'; chain: string | undefined }
  | { command: 'flush --all'; families: Family[] }
  | { command: 'save' };

/** `flush --all`: checked here, so a misuse opens nothing. */
function planFlushAll(options: CommonOptions, rest: string[]): Plan {
  if (rest.length > 0) usageError('arguments', 'flush --all takes no chain: it removes whole tables');
  if (options.backend !== 'nftables') {
    usageError('--all', "flush --all removes the tables of the native nftables form and needs --backend nftables (the other backends write into iptables' own table, which the library does not own: flush without --all deletes their rules)");
  }
  const families: Family[] = options.family === undefined ? ['ipv4', 'ipv6'] : [options.family as Family];
  return { command: 'flush --all', families };
}

function plan(command: string, options: CommonOptions, rest: string[]): Plan {
  if (command === 'flush' && options.all) return planFlushAll(options, rest);
  switch (command) {
    case 'add':
    case 'ensure':
    case 'check':
      return { command, chain: needChain(rest), rule: needRule(rest.slice(1), options) };
    case 'insert': {
      const hasPosition = rest[1] !== undefined && /^\d+$/.test(rest[1]);
      const position = hasPosition ? Number(rest[1]) : 1;
      return { command, chain: needChain(rest), position, rule: needRule(rest.slice(hasPosition ? 2 : 1), options) };
    }
    case 'rm': {
      const byPosition = rest.length === 2 && /^\d+$/.test(rest[1] as string);
      return { command, chain: needChain(rest), target: byPosition ? Number(rest[1]) : needRule(rest.slice(1), options) };
    }
    case 'ls':
    case 'flush':
      if (rest.length > 1) usageError('arguments', `${command} takes at most one chain`);
      return { command, chain: rest[0] };
    case 'save':
      if (rest.length > 0) usageError('arguments', 'save takes no chain');
      return { command };
    default:
      usageError('command', `unknown command ${quote(command)}`);
  }
}

/**
 * The plan's change, staged as the library would check it, for Firewall.validate: chain names,
 * positions, the rule against its chain and backend. ls checks its chain name (reading is no
 * change); save has nothing to check.
 */
function stage(p: Plan, tx: Transaction): void {
  switch (p.command) {
    case 'add':
      tx.append(p.chain, p.rule);
      return;
    case 'ensure':
    case 'check':
      tx.ensure(p.chain, p.rule);
      return;
    case 'insert':
      tx.insert(p.chain, p.position, p.rule);
      return;
    case 'rm':
      tx.delete(p.chain, p.target);
      return;
    case 'flush':
      if (p.chain === undefined) tx.flush();
      else tx.flush(p.chain);
      return;
    case 'ls':
      if (p.chain !== undefined) validateChainName(p.chain);
      return;
    case 'save':
      return;
  }
}

/** Every table of the native nftables form, in each family asked for (both by default). */
async function flushAll(options: CommonOptions, families: Family[]): Promise<Output> {
  const removed: Partial<Record<Family, number>> = {};
  for (const family of families) {
    const fw = await Firewall.open({ ...firewallOptions(options), family });
    try {
      removed[family] = await fw.destroy();
    } finally {
      await fw.close();
    }
  }
  return { text: '', json: { ok: true, backend: 'nftables', removed }, exitCode: EXIT.ok };
}

export async function runRuleCommand(command: string, options: CommonOptions, rest: string[]): Promise<Output> {
  const p = plan(command, options, rest);
  if (p.command === 'flush --all') return flushAll(options, p.families);
  // Every argument is checked before anything is opened: opening a legacy table creates it.
  await Firewall.validate(firewallOptions(options), (tx) => stage(p, tx));
  const fw = await Firewall.open(firewallOptions(options));
  try {
    switch (p.command) {
      case 'add':
        await fw.append(p.chain, p.rule);
        return { text: '', json: { ok: true, backend: fw.backend }, exitCode: EXIT.ok };
      case 'insert':
        await fw.insert(p.chain, p.position, p.rule);
        return { text: '', json: { ok: true, backend: fw.backend, position: p.position }, exitCode: EXIT.ok };
      case 'ensure': {
        const added = await fw.ensure(p.chain, p.rule);
        return { text: added ? 'added' : 'present', json: { ok: true, backend: fw.backend, added }, exitCode: EXIT.ok };
      }
      case 'rm': {
        const position = await fw.delete(p.chain, p.target);
        return { text: '', json: { ok: true, backend: fw.backend, position }, exitCode: EXIT.ok };
      }
      case 'check': {
        const exists = await fw.check(p.chain, p.rule);
        return { text: exists ? 'present' : 'absent', json: { ok: true, backend: fw.backend, exists }, exitCode: exists ? EXIT.ok : EXIT.failure };
      }
      case 'ls': {
        const only = p.chain;
        const chains = await fw.chains();
        if (only !== undefined && !chains.some((c) => c.name === only)) {
          await fw.list(only); // throws the library's not-found error
        }
        const rules = only === undefined ? chains.flatMap((c) => c.rules) : (chains.find((c) => c.name === only)?.rules ?? []);
        return { text: specLines(chains, only), json: { ok: true, backend: fw.backend, rules }, exitCode: EXIT.ok };
      }
      case 'save': {
        const text = await fw.save();
        return { text: text.trimEnd(), json: { ok: true, backend: fw.backend, table: fw.table, family: fw.family, chains: await fw.chains() }, exitCode: EXIT.ok };
      }
      case 'flush':
        await (p.chain === undefined ? fw.flush() : fw.flush(p.chain));
        return { text: '', json: { ok: true, backend: fw.backend }, exitCode: EXIT.ok };
    }
  } finally {
    await fw.close();
  }
}
