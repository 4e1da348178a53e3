#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The `connlimit` command: an operator's tool on the public API only. One line on stderr for
 * every failure, an exit code per kind of failure (exit-codes.ts), `--json` for scripts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInvocation, type Invocation } from './args';
import { EXIT, exitCodeFor } from './exit-codes';
import { COMMAND_HELP, usage } from './help';
import { CT_COMMANDS, runCount, runTop, runWatch } from './ct-commands';
import { runMetricsCommand } from './metrics-command';
import { usageError } from './usage-error';
import { RULE_COMMANDS, runRuleCommand } from './rule-commands';
import { runSetCommand, SET_COMMANDS } from './set-commands';
import { APPLY_COMMANDS, runApplyCommand } from './apply-command';
import { runRestoreCommand } from './restore-command';
import { watchStdout } from './stdout-gone';
import { jsonReplacer } from './json-replacer';
import { quote } from '../echo';

/** The package's version: package.json sits two levels up from both src/cli and dist/cli. */
function version(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  let invocation: Invocation | undefined;
  try {
    if (argv.length === 0) {
      // Bad usage, not a request for help: a script that lost its arguments should not pass.
      process.stderr.write(usage());
      return EXIT.usage;
    }
    if (argv[0] === '--version') {
      process.stdout.write(`connlimit ${version()}\n`);
      return EXIT.ok;
    }
    invocation = parseInvocation(argv);
    const { command, options, rest } = invocation;
    if (command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(usage(rest[0]));
      return EXIT.ok;
    }
    if (options.help) {
      process.stdout.write(usage(command));
      return COMMAND_HELP[command] ? EXIT.ok : EXIT.usage;
    }
    if (options.all && command !== 'flush') usageError('--all', 'belongs to flush (flush --all --backend nftables)');
    if (options.dryRun && !APPLY_COMMANDS.has(command)) usageError('--dry-run', 'belongs to apply and remove');
    if (options.noflush && command !== 'restore') usageError('--noflush', 'belongs to restore');
    if (options.watch && command !== 'apply') usageError('--watch', 'belongs to apply (apply FILE --watch)');
    if (options.owner !== undefined && command !== 'remove') usageError('--owner', 'belongs to remove (remove --owner NAME)');
    if (command === 'metrics') return await runMetricsCommand(options, rest);
    if (options.listen !== undefined || options.rules !== undefined) usageError('arguments', '--listen and --rules belong to metrics');
    if (command === 'watch') return await runWatch(options, rest);
    if (command === 'top') return await runTop(options, rest);
    if (!RULE_COMMANDS.has(command) && !CT_COMMANDS.has(command) && !SET_COMMANDS.has(command) && !APPLY_COMMANDS.has(command) && command !== 'restore') {
      process.stderr.write(`connlimit: unknown command ${quote(command)} (try 'connlimit --help')\n`);
      return EXIT.usage;
    }
    const out =
      command === 'count'
        ? { ...(await runCount(options, rest)), exitCode: EXIT.ok }
        : SET_COMMANDS.has(command)
          ? await runSetCommand(command, options, rest)
          : APPLY_COMMANDS.has(command)
            ? await runApplyCommand(command, options, rest)
            : command === 'restore'
              ? await runRestoreCommand(options, rest)
              : await runRuleCommand(command, options, rest);
    // Every command's --json is one object that starts { "ok": true, ... }.
    // A streaming command (apply --watch) wrote its lines already: json null.
    if (options.json && out.json !== null) process.stdout.write(`${JSON.stringify(out.json, jsonReplacer)}\n`);
    else if (out.text) process.stdout.write(`${out.text}\n`);
    return out.exitCode;
  } catch (e) {
    const error = e as { code?: string; message?: string };
    // The library's words for its options, as this command spells them.
    const message = (error.message ?? String(e)).split('\n')[0]?.replace(/\blockTimeoutMs\b/g, '--lock-timeout');
    process.stderr.write(`connlimit: ${message}\n`);
    if (invocation?.options.json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: error.code ?? 'ERR_UNKNOWN', message } })}\n`);
    return exitCodeFor(e);
  }
}

if (require.main === module) {
  watchStdout();
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
