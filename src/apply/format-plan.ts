// SPDX-License-Identifier: GPL-2.0-or-later
/** An apply()/removeOwned() plan as a person reads it: a diff per chain, and whether (and at what cost) it commits. */
import type { ApplyPlan } from './plan';

/**
 * `+` a rule goes in, `-` one goes out, `~` one is rewritten in place (old, then new); a jump
 * placed after a named rule has that rule on the next line; positions are 1-based, as the CLI
 * numbers rules.
 * @example process.stdout.write(formatPlan(await fw.apply(desired, { dryRun: true })));
 */
export function formatPlan(plan: ApplyPlan): string {
  const lines: string[] = [];
  for (const [name, c] of Object.entries(plan.chains)) {
    const what = c.create ? ' (new chain)' : c.remove ? ' (chain deleted)' : '';
    lines.push(`chain ${name}${what}: ${c.unchanged} unchanged`);
    for (const r of c.delete) lines.push(`- [${r.position}] ${r.rule}`);
    for (const r of c.replace) lines.push(`~ [${r.position}] ${r.from}`, `    -> ${r.to}`);
    for (const r of c.insert) lines.push(`+ [${r.position}] ${r.rule}`, ...(r.after ? [`    after [${r.after.position}] ${r.after.rule}`] : []));
  }
  const where = `table ${plan.table} (${plan.family}, backend ${plan.backend})`;
  if (!plan.commit) lines.push(`no changes: nothing is committed to ${where}`);
  else {
    const verb = plan.committed ? 'committed' : 'to commit';
    lines.push(`${plan.changes} change${plan.changes === 1 ? '' : 's'} ${verb} in one transaction to ${where}`);
    if (plan.resetsConnlimitCounts) {
      lines.push(`note: a legacy commit restarts every connlimit count in table ${plan.table}, other programs' rules included`);
    }
  }
  return `${lines.join('\n')}\n`;
}
