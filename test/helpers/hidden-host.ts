// SPDX-License-Identifier: GPL-2.0-or-later
// Runs a program on this host with parts of it hidden, as if never installed, inside a
// private mount namespace (`unshare --mount`): nothing changes outside that process tree.
//   'toolchain': a host without a compiler or -dev packages. Empty directories over
//     /usr/include (every header: libiptc, libmnl, libnftnl, linux, C++, node's own), over the
//     compiler proper (/usr/lib/gcc: cc1plus, collect2; the g++ driver alone compiles nothing)
//     and over the pkg-config module directories.
//   { library }: a host without one runtime library. An overlay over the library's directory
//     with the file deleted in it, so the dynamic loader finds nothing and says exactly what it
//     says on a host without the package ("cannot open shared object file").
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execResult, type ExecOptions, type ExecResult } from './netns';

export type Hidden = 'toolchain' | { library: string };

const TOOLCHAIN_DIRS = ['/usr/include', '/usr/lib/gcc', '/usr/libexec/gcc', '/usr/lib/pkgconfig', '/usr/share/pkgconfig', '/usr/lib64/pkgconfig'];

function multiarchPkgconfig(): string[] {
  return readdirSync('/usr/lib')
    .filter((d) => d.endsWith('-linux-gnu'))
    .map((d) => join('/usr/lib', d, 'pkgconfig'));
}

/** The mounts, as sh lines run first in the namespace. */
function hideScript(hidden: Hidden, scratch: string): string {
  if (hidden === 'toolchain') {
    const dirs = [...TOOLCHAIN_DIRS, ...multiarchPkgconfig()].filter((d) => existsSync(d));
    return dirs.map((d) => `mount --bind '${scratch}' '${d}'`).join('\n');
  }
  // libnftnl.so.11 -> /usr/lib/x86_64-linux-gnu/libnftnl.so.11.6.0: hide the name and its target.
  const file = hidden.library;
  const dir = dirname(realpathSync(file));
  return [
    `mount -t tmpfs none '${scratch}'`,
    `mkdir '${scratch}/upper' '${scratch}/work'`,
    `mount -t overlay overlay -o 'lowerdir=${dir},upperdir=${scratch}/upper,workdir=${scratch}/work' '${dir}'`,
    `rm -f '${dir}/${file.split('/').pop()}' '${realpathSync(file)}'`,
  ].join('\n');
}

/** Runs `cmd args` with `hidden` hidden; resolves whatever the exit code. */
export function runHidden(hidden: Hidden, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'cl-hidden-'));
  const script = `${hideScript(hidden, scratch)}\nexec "$@"`;
  const run = execResult('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-ec', script, 'sh', cmd, ...args], opts);
  return run.finally(() => rmSync(scratch, { recursive: true, force: true }));
}
