// SPDX-License-Identifier: GPL-2.0-or-later
// The benchmark's smoke mode (`npm run bench -- --quick`), so the bench code never rots: it
// must run every implemented row group to the end in throwaway namespaces, print the report,
// write nothing into docs/, and leave no namespace behind. Figures are not checked here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(__dirname, '..');
const doc = join(root, 'docs', 'BENCHMARKS.md');

test('npm run bench -- --quick runs every row group and cleans up', () => {
  const docBefore = existsSync(doc) ? statSync(doc).mtimeMs : null;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'bench.mjs'), '--quick'], {
    cwd: root,
    encoding: 'utf8',
    // --quick takes about 70 s on a loaded 2-core VM; the limit only catches a hang.
    timeout: 300_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.is(r.status, 0, `bench exited ${r.status} (${r.signal ?? 'no signal'}):\n${r.stderr.slice(-3000)}`);
  for (const heading of ['## Targets', 'Row 1 ', 'Row 2 ', 'Row 3 ', 'Row 4 ', 'Row 4b ', 'Row 5 ', 'Row 5b ', 'Row 6 ', 'Row 7 ', 'Row 8 ', 'Row 9 ', 'Row 10 ', 'Row 11 ', 'Row 12 ', 'Row 13 ', 'Row 14 ', 'one update of a native-form rule']) {
    assert.ok(r.stdout.includes(heading), `report lacks '${heading}'`);
  }
  // Every timed cell is a number, never NaN or a missing variant.
  assert.not.match(r.stdout, /NaN|undefined/);
  assert.is(existsSync(doc) ? statSync(doc).mtimeMs : null, docBefore, '--quick must not rewrite docs/BENCHMARKS.md');
  const left = (existsSync('/run/netns') ? readdirSync('/run/netns') : []).filter((n) => n.startsWith(`cl-${r.pid}-`));
  assert.equal(left, [], 'the bench left namespaces behind');
});

test.run();
