// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `connlimit apply FILE [--dry-run] [--json]` and `connlimit remove FILE [--dry-run] [--json]`:
 * a desired state from a YAML or JSON file (docs/apply.md), read and checked whole before the
 * namespace is opened, so a bad file applies nothing.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { Firewall, formatPlan, type DesiredState } from '../index';
import { invalid } from '../errors';
import { quote } from '../echo';
import { usageError } from './usage-error';
import { firewallOptions, type Output } from './rule-commands';
import { EXIT } from './exit-codes';
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

export async function runApplyCommand(command: string, options: CommonOptions, rest: string[]): Promise<Output> {
  if (rest.length !== 1) usageError('FILE', `${command} takes one file (YAML or JSON), got ${rest.length} arguments`);
  const desired = await readDesired(rest[0] as string);
  // Checked before the namespace is opened: a bad file is refused whatever the table holds.
  Firewall.validateDesired(firewallOptions(options), desired);
  const fw = await Firewall.open(firewallOptions(options));
  try {
    const dryRun = options.dryRun;
    const plan = command === 'apply' ? await fw.apply(desired, { dryRun }) : await fw.removeOwned(desired, { dryRun });
    return { text: formatPlan(plan).trimEnd(), json: { ok: true, backend: fw.backend, dryRun, plan }, exitCode: EXIT.ok };
  } finally {
    await fw.close();
  }
}
