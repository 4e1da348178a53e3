// SPDX-License-Identifier: GPL-2.0-or-later
// Prometheus's own checker as an oracle: `promtool check metrics` reads an exposition on stdin
// and exits 0 only when Prometheus parses it and its linter (names, units, _total suffixes, HELP)
// has nothing to say. scripts/setup.sh puts the binary from Debian's prometheus package at
// /usr/local/bin/promtool, without installing the server.
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';

/** Asserts that promtool accepts `text` (the 0.0.4 text format) without a lint problem. */
export function assertPromtoolAccepts(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  assert.is(r.status, 0, `promtool check metrics refused the exposition:\n${r.stdout}${r.stderr}`);
  assert.is(`${r.stdout}${r.stderr}`.trim(), '', 'promtool check metrics printed lint problems');
}
