// SPDX-License-Identifier: GPL-2.0-or-later
// The library as one plain CommonJS file, for child processes that start many times (the
// crash loop): `node --import tsx` spends most of a second compiling src/ on each start, plain
// node a tenth of that. esbuild is the compiler tsx itself runs. The bundle finds the addon
// through CONNLIMIT_BINDING (src/binding.ts), which {@link bundleEnv} sets.
import { buildSync } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Writes dist-like `connlimit.cjs` into a new temp directory and returns its path. */
export function bundleLibrary(): string {
  const out = join(mkdtempSync(join(tmpdir(), 'cl-bundle-')), 'connlimit.cjs');
  buildSync({ entryPoints: [join(ROOT, 'src', 'index.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'error' });
  return out;
}

/** The environment a bundle needs: where the built addon is. */
export function bundleEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NODE_OPTIONS: '', CONNLIMIT_BINDING: process.env.CONNLIMIT_BINDING || join(ROOT, 'build', 'Release', 'connlimit.node') };
}
