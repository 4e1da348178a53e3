// SPDX-License-Identifier: GPL-2.0-or-later
// Waiting on the kernel or another process: poll a condition until it holds, failing with what
// was awaited once a generous bound has passed (never a fixed sleep: CI's machine is loaded).

/** Polls `ok` every 20 ms until it returns true; throws naming `what` after `boundMs`. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, boundMs = 10_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${boundMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
