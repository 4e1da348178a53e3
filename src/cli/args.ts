// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Splits `connlimit COMMAND [OPTIONS] [CHAIN [RULE...]]`. Our long options (`--json`,
 * `--netns`, ...) may stand anywhere, since no iptables rule option shares their names; short
 * ones (`-t`, `-h`) only before the chain, where a rule's own options can't be. Everything
 * after `--` is the rule verbatim.
 */
import { parseArgs } from 'node:util';
import { echo, quote } from '../echo';
import { usageError } from './usage-error';

export interface CommonOptions {
  table?: string;
  family?: string;
  backend?: string;
  netns?: string;
  lockTimeoutMs?: number;
  /** metrics: HOST:PORT to serve on. */
  listen?: string;
  /** metrics: 'connlimit' or 'all' rules. */
  rules?: string;
  /** metrics: connlimit rules whose per-client counts to serve (a live watch each). */
  watchRules?: string[];
  /** flush: every table of the native nftables form, not the rules of one table. */
  all: boolean;
  /** apply/remove: print the plan, commit nothing. */
  dryRun: boolean;
  /** restore: append and flush only the declared user chains, as iptables-restore --noflush. */
  noflush: boolean;
  /** apply: keep the file's state until SIGTERM/SIGINT. */
  watch: boolean;
  /** remove: the owner whose chains (OWNER-...) go, instead of a file. */
  owner?: string;
  json: boolean;
  help: boolean;
}

export interface Invocation {
  command: string;
  options: CommonOptions;
  /** Positionals after the options: the chain, then the rule's tokens. */
  rest: string[];
}

const OPTIONS = {
  table: { type: 'string', short: 't' },
  family: { type: 'string' },
  backend: { type: 'string' },
  netns: { type: 'string' },
  'lock-timeout': { type: 'string' },
  listen: { type: 'string' },
  rules: { type: 'string' },
  'watch-rule': { type: 'string', multiple: true },
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  noflush: { type: 'boolean' },
  watch: { type: 'boolean' },
  owner: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const TAKES_VALUE = new Set(['--table', '-t', '--family', '--backend', '--netns', '--lock-timeout', '--listen', '--rules', '--watch-rule', '--owner']);
const LONG_OPTIONS = new Set(Object.keys(OPTIONS).map((name) => `--${name}`));

/**
 * `--rule -p tcp ...` as `--rule=-p tcp ...`: parseArgs refuses a value that starts with a dash
 * after a separate option token, and a rule always does.
 */
export function joinValues(tokens: readonly string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): string[] {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (o.short) takesValue.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t.startsWith('--') && takesValue.has(t) && i + 1 < tokens.length) out.push(`${t}=${tokens[++i] as string}`);
    else out.push(t);
  }
  return out;
}

/**
 * A parseArgs error as a usage error. Its message quotes the offending token whole, however
 * long: each quoted part is cut short (echo.ts), and should a quote inside a token defeat that,
 * the whole line is.
 */
export function argumentsError(e: unknown): never {
  const first = (e as Error).message.split('\n')[0] ?? 'bad arguments';
  const cut = first.replace(/'([^']*)'/g, (_, token: string) => quote(token));
  usageError('arguments', cut.length > 512 ? echo(cut) : cut);
}

/** Commands whose arguments are options of their own (filters), not CHAIN RULE. */
const OPTION_COMMANDS = new Set(['count', 'watch', 'top']);

export function parseInvocation(argv: string[]): Invocation {
  const [command = 'help', ...after] = argv;
  const chainFirst = !OPTION_COMMANDS.has(command);
  const ours: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < after.length; i++) {
    const token = after[i] as string;
    if (token === '--') {
      rest.push(...after.slice(i + 1));
      break;
    }
    const name = token.split('=')[0] as string;
    // Before the chain, any dash token is meant as ours: parseArgs then names an unknown one.
    if (LONG_OPTIONS.has(name) || (chainFirst && rest.length === 0 && token.startsWith('-'))) {
      ours.push(token);
      if (TAKES_VALUE.has(token) && i + 1 < after.length) ours.push(after[++i] as string);
    } else {
      rest.push(token);
    }
  }
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: joinValues(ours, OPTIONS), options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (e) {
    argumentsError(e);
  }
  const timeout = values['lock-timeout'] as string | undefined;
  if (timeout !== undefined && !/^\d+$/.test(timeout)) usageError('--lock-timeout', 'must be a whole number of milliseconds');
  const options: CommonOptions = { all: values.all === true, dryRun: values['dry-run'] === true, noflush: values.noflush === true, watch: values.watch === true, json: values.json === true, help: values.help === true };
  if (values.table !== undefined) options.table = values.table as string;
  if (values.family !== undefined) options.family = values.family as string;
  if (values.backend !== undefined) options.backend = values.backend as string;
  if (values.netns !== undefined) options.netns = values.netns as string;
  if (timeout !== undefined) options.lockTimeoutMs = Number(timeout);
  if (values.listen !== undefined) options.listen = values.listen as string;
  if (values.rules !== undefined) options.rules = values.rules as string;
  if (values.owner !== undefined) options.owner = values.owner as string;
  if (values['watch-rule'] !== undefined) options.watchRules = values['watch-rule'] as unknown as string[];
  return { command, options, rest };
}

/** Re-joins the shell's tokens of a rule into iptables syntax, quoting where a token needs it. */
export function ruleText(tokens: string[]): string {
  return tokens.map((t) => (t === '' || /[\s"'\\]/.test(t) ? `"${t.replace(/(["\\])/g, '\\$1')}"` : t)).join(' ');
}
