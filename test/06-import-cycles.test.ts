// SPDX-License-Identifier: GPL-2.0-or-later
// The TypeScript import graph has no cycle (issue 15): every file of src/ can be read after the
// files it imports. scripts/import-cycles.mjs is the checker; it is first shown to find a cycle.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(__dirname, '..');
const checker = join(root, 'scripts', 'import-cycles.mjs');
const run = (dir: string) => spawnSync(process.execPath, [checker, dir], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });

test('the checker reports a cycle through a folder index and a type-only import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'connlimit-06-'));
  try {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.ts'), "import { b } from './sub';\nexport const a = b;\n");
    writeFileSync(join(dir, 'sub', 'index.ts'), "export { b } from './b';\n");
    writeFileSync(join(dir, 'sub', 'b.ts'), "import type { A } from '../c';\nexport const b = 1 as A;\n");
    writeFileSync(join(dir, 'c.ts'), "import { a } from './a';\nexport type A = typeof a;\n");
    writeFileSync(join(dir, 'leaf.ts'), "import { a } from './a';\nexport const leaf = a;\n");
    const r = run(dir);
    assert.is(r.status, 1, r.stderr);
    assert.equal(r.stdout.trim().split('\n'), ['a.ts -> sub/index.ts -> sub/b.ts -> c.ts -> a.ts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('src/ has no import cycle', () => {
  const r = run(join(root, 'src'));
  assert.is(r.stdout, '', 'cycles found');
  assert.is(r.status, 0, r.stderr);
});

test.run();
