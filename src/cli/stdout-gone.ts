// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `connlimit watch ... | head -1`: when the reader of stdout goes away, writes fail with EPIPE
 * (Node ignores SIGPIPE), emitted as an 'error' nobody handled, and the process died with a
 * stack trace. Here the reader leaving is an ordinary end: long-running commands stop as on
 * Ctrl-C and every command exits 0, quietly.
 */

let resolveGone: () => void;
const whenGone = new Promise<void>((resolve) => (resolveGone = resolve));

/** Installs the handler; call once, before the first write. */
export function watchStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
      resolveGone();
      return;
    }
    process.stderr.write(`connlimit: stdout: ${e.message}\n`);
    process.exit(1);
  });
}

/** Resolves when stdout's reader has gone. */
export function stdoutGone(): Promise<void> {
  return whenGone;
}

