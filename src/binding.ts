// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Loads the native addon once per environment (main thread or Worker) and says plainly why
 * when it can't: not built, a missing shared library, built for another Node, not Linux.
 *
 * Where it comes from: $CONNLIMIT_BINDING when set (tests point it at a build), else the
 * order node-gyp-build resolves: build/Release (compiled here, by a clone's setup or the
 * install fallback), then prebuilds/<platform>-<arch>/ (shipped in the package, Node-API, for
 * any Node >= 20 on that platform and libc).
 */
import * as path from 'node:path';
import { LoadError } from './errors';
import type { NativeBinding } from './native-types';
import { installHint } from './runtime-libraries';

const PACKAGE_ROOT = path.join(__dirname, '..');
const REBUILD = "run './scripts/setup.sh' in a clone, or 'npm rebuild connlimit' (compiling needs a C++ compiler, pkg-config and libip4tc-dev, libip6tc-dev, libmnl-dev, libnftnl-dev)";

// dlopen's words for a dependency it did not find: 'libnftnl.so.11: cannot open shared object file'.
const MISSING_LIBRARY = /(lib[\w.+-]+\.so[\d.]*): cannot open shared object file/;

let loaded: NativeBinding | undefined;

function explain(file: string, e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  if (process.platform !== 'linux') return `connlimit works on Linux only (this is ${process.platform})`;
  if (/^No native build was found/.test(text)) {
    return `no prebuilt binary fits this host (${process.arch}, ${text.match(/libc=(\w+)/)?.[1] ?? 'unknown libc'}) and none was compiled: ${REBUILD}`;
  }
  if ((e as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' || /cannot open shared object file.*connlimit\.node|Cannot find module/.test(text)) {
    return `the native addon is not built (${file} is missing): ${REBUILD}`;
  }
  const lib = MISSING_LIBRARY.exec(text);
  if (lib) return `the shared library ${lib[1]} the native addon needs is missing (${installHint(lib[1])})`;
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(text)) {
    return `the native addon was built for another Node.js version: run 'npm rebuild connlimit' (${text.split('\n')[0]})`;
  }
  return `the native addon at ${file} failed to load: ${text.split('\n')[0]}`;
}

/** The addon's file; node-gyp-build throws 'No native build was found ...' when none fits. */
function addonPath(): string {
  if (process.env.CONNLIMIT_BINDING) return process.env.CONNLIMIT_BINDING;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gypBuild = require('node-gyp-build') as { path(dir: string): string };
  return gypBuild.path(PACKAGE_ROOT);
}

/** The raw addon. The only file where an untyped `require` happens. */
export function binding(): NativeBinding {
  if (loaded) return loaded;
  let file = path.join(PACKAGE_ROOT, 'prebuilds');
  try {
    file = addonPath();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as NativeBinding;
  } catch (e) {
    // The missing library's name as a field too, for programs that report it their own way.
    const missing = MISSING_LIBRARY.exec(e instanceof Error ? e.message : '')?.[1];
    throw new LoadError('ERR_CONNLIMIT_LOAD', explain(file, e), missing ? { cause: e, detail: missing } : { cause: e });
  }
  return loaded;
}
