// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Loads the native addon once per environment (main thread or Worker) and says plainly why
 * when it can't: not built, a missing shared library, built for another Node, not Linux.
 */
import * as path from 'node:path';
import { LoadError } from './errors';
import type { NativeBinding } from './native-types';

let loaded: NativeBinding | undefined;

function explain(file: string, e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  if (process.platform !== 'linux') return `connlimit works on Linux only (this is ${process.platform})`;
  if ((e as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' || /cannot open shared object file.*connlimit\.node|Cannot find module/.test(text)) {
    return `the native addon is not built (${file} is missing): run './scripts/setup.sh' in a clone, or 'npm rebuild connlimit' after installing libiptc-dev and pkg-config`;
  }
  const lib = /(lib[\w.+-]+\.so[\d.]*): cannot open shared object file/.exec(text);
  if (lib) return `the shared library ${lib[1]} is missing: install it (Debian/Ubuntu: apt-get install libip4tc2 libip6tc2), or run ./scripts/setup.sh`;
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(text)) {
    return `the native addon was built for another Node.js version: run 'npm rebuild connlimit' (${text.split('\n')[0]})`;
  }
  return `the native addon at ${file} failed to load: ${text.split('\n')[0]}`;
}

/** The raw addon. The only place an untyped `require` happens. */
export function binding(): NativeBinding {
  if (loaded) return loaded;
  const file = process.env.CONNLIMIT_BINDING || path.join(__dirname, '..', 'build', 'Release', 'connlimit.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as NativeBinding;
  } catch (e) {
    throw new LoadError('ERR_CONNLIMIT_LOAD', explain(file, e), { cause: e });
  }
  return loaded;
}
