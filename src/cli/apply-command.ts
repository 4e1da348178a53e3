// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `connlimit apply FILE [--dry-run] [--json]` and `connlimit remove FILE|--owner NAME [--dry-run] [--json]`:
 * a desired state from a YAML or JSON file (docs/apply.md), read and checked whole before the
 * namespace is opened, so a bad file applies nothing; or an owner's name, whose chains are
 * found by their names. `apply FILE --watch` keeps it (fw.keep())
 * until SIGTERM/SIGINT, a line per event.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { Firewall, formatPlan, type ApplyPlan, type DesiredState, type Drift } from '../index';
import { invalid } from '../errors';
import { checkOwner } from '../apply/owner';
import { quote } from '../echo';
import { usageError } from './usage-error';
import { firewallOptions, type Output } from './rule-commands';
import { EXIT, exitCodeFor } from './exit-codes';
import { untilStopped } from './until-stopped';
import type { CommonOptions } from './args';

export const APPLY_COMMANDS = new Set(['apply', 'remove']);

/** The file's data: JSON for a `.json` name, YAML (which JSON also is) otherwise. Syntax errors name the file and line. */
async function readDesired(file: string): Promise<DesiredState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    usageError('FILE', `can't read ${quote(file)}: ${(e as Error).message}`);
  }
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text) as DesiredState;
    } catch (e) {
      invalid(file, `not JSON: ${(e as Error).message}`);
    }
  }
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0];
    invalid(line ? `${file}:${line.line}:${line.col}` : file, `not YAML: ${error.message.split('\n')[0]}`);
  }
  return doc.toJS() as DesiredState;
}

/** `remove --owner NAME`: the owner's name, checked before the namespace is opened. */
function ownerArgument(options: CommonOptions, rest: string[]): string {
  if (rest.length !== 0) usageError('FILE', 'remove takes a file or --owner NAME, not both');
  return checkOwner(options.owner, '--owner');
}

export async function runApplyCommand(command: string, options: CommonOptions, rest: string[]): Promise<Output> {
  if (options.owner !== undefined) return run(command, options, ownerArgument(options, rest));
  if (rest.length !== 1) usageError('FILE', `${command} takes one file (YAML or JSON)${command === 'remove' ? ' or --owner NAME' : ''}, got ${rest.length} arguments`);
  const desired = await readDesired(rest[0] as string);
  // Checked before the namespace is opened: a bad file is refused whatever the table holds.
  Firewall.validateDesired(firewallOptions(options), desired);
  if (options.watch) {
    if (command !== 'apply' || options.dryRun) usageError('--watch', 'belongs to apply without --dry-run (apply FILE --watch)');
    return keepDesired(desired, options);
  }
  return run(command, options, desired);
}

/** apply or remove, once, printing the plan. */
async function run(command: string, options: CommonOptions, desired: DesiredState | string): Promise<Output> {
  const fw = await Firewall.open(firewallOptions(options));
  try {
    const dryRun = options.dryRun;
    const plan = command === 'apply' && typeof desired !== 'string' ? await fw.apply(desired, { dryRun }) : await fw.removeOwned(desired, { dryRun });
    return { text: formatPlan(plan).trimEnd(), json: { ok: true, backend: fw.backend, dryRun, plan }, exitCode: EXIT.ok };
  } finally {
    await fw.close();
  }
}

const time = (): string => new Date().toISOString();

/** The plan's diff lines, indented under an event line. */
function indented(plan: ApplyPlan): string {
  return formatPlan(plan).trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
}

/**
 * `apply FILE --watch`: applies, then re-applies on drift until SIGTERM/SIGINT (exit 0) or a
 * failure that ends the keeping (the handle's namespace gone: its exit code). A line per event,
 * `--json` one object per line; errors that a later check may get past go to stderr.
 */
async function keepDesired(desired: DesiredState, options: CommonOptions): Promise<Output> {
  const line = (text: string, json: Record<string, unknown>): void => {
    process.stdout.write(options.json ? `${JSON.stringify({ ok: true, time: time(), ...json })}\n` : `${time()} ${text}\n`);
  };
  const fw = await Firewall.open(firewallOptions(options));
  const stopped = untilStopped();
  let fatal: unknown = null;
  let selfClosed = false;
  try {
    const keeper = await fw.keep(desired);
    const where = `table ${fw.table} (${fw.family}, backend ${fw.backend})`;
    line(`keeping ${where}: ${keeper.initial.changes} change${keeper.initial.changes === 1 ? '' : 's'} applied at start\n${indented(keeper.initial)}`, {
      event: 'applied',
      initial: true,
      backend: fw.backend,
      plan: keeper.initial,
    });
    keeper.on('drift', (d: Drift) => {
      const gens = d.generations.length ? ` generation ${d.generations.join(', ')}` : '';
      line(`drift (${d.trigger}${gens}): ${d.plan.changes} change${d.plan.changes === 1 ? '' : 's'} to repair\n${indented(d.plan)}`, { event: 'drift', trigger: d.trigger, generations: d.generations, plan: d.plan });
    });
    // A keeper that cannot repair (a missing anchor rule) reports on every check; on legacy that
    // is once a second, so the same line is printed once until it changes or a repair succeeds.
    let lastError = '';
    keeper.on('applied', (plan: ApplyPlan) => {
      lastError = '';
      line(`applied: ${plan.changes} change${plan.changes === 1 ? '' : 's'} committed`, { event: 'applied', initial: false, plan });
    });
    keeper.on('error', (e: Error) => {
      fatal = e;
      const text = `connlimit: ${e.message.split('\n')[0]}\n`;
      if (text !== lastError) process.stderr.write(text);
      lastError = text;
    });
    keeper.on('close', () => {
      selfClosed = true;
      stopped.stop();
    });
    await stopped.done;
    const ended = selfClosed;
    await keeper.close();
    line(`stopped after ${keeper.drifts} drift${keeper.drifts === 1 ? '' : 's'}, ${keeper.repairs} repaired`, { event: 'stopped', drifts: keeper.drifts, repairs: keeper.repairs });
    return { text: '', json: null, exitCode: ended && fatal !== null ? exitCodeFor(fatal) : EXIT.ok };
  } finally {
    stopped.stop();
    await fw.close();
  }
}
