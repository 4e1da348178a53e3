// SPDX-License-Identifier: GPL-2.0-or-later
/** How long-running commands (watch, top, apply --watch) know when to end. */
import { stdoutGone } from './stdout-gone';

/**
 * Resolves on SIGINT/SIGTERM, when stdout's reader goes away (`| head -1`), or when `stop` is
 * called: long-running commands end with 0.
 */
export function untilStopped(): { done: Promise<void>; stop: () => void } {
  let stop!: () => void;
  const done = new Promise<void>((resolve) => {
    stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void stdoutGone().then(() => stop());
  });
  return { done, stop };
}
