#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Runs at install time when no prebuilt binary fits this host, just before node-gyp compiles
// the addon (package.json "install": node-gyp-build runs it first). Without it a missing
// header or tool shows up as node-gyp's raw "gyp: Call to 'pkg-config ...' returned exit
// status 1", one missing piece per attempt; this names every missing package in one line,
// for Debian/Ubuntu and RHEL/Fedora, and exits 1. Exits 0 silently when everything is there.
// When a prebuilt binary for this platform is shipped but did not load, it first prints why
// (usually one missing runtime library: installing it is the shorter fix than compiling).
// Plain node, no shell: each probe runs the tool directly.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What compiling needs: a probe, and the package providing it on each family of distributions. */
const needs = [
  { what: 'a C++ compiler', debian: 'g++', rhel: 'gcc-c++', ok: cxxWorks },
  { what: 'make', debian: 'make', rhel: 'make', ok: () => runs('make', ['--version']) },
  { what: 'python3 (node-gyp)', debian: 'python3', rhel: 'python3', ok: () => runs(process.env.PYTHON || 'python3', ['--version']) },
  { what: 'pkg-config', debian: 'pkg-config', rhel: 'pkgconf-pkg-config', ok: () => runs('pkg-config', ['--version']) },
  { what: 'libip4tc headers', debian: 'libip4tc-dev', rhel: 'iptables-devel', ok: () => devModule('libip4tc', 'libiptc/libiptc.h') },
  { what: 'libip6tc headers', debian: 'libip6tc-dev', rhel: 'iptables-devel', ok: () => devModule('libip6tc', 'libiptc/libip6tc.h') },
  { what: 'libmnl headers', debian: 'libmnl-dev', rhel: 'libmnl-devel', ok: () => devModule('libmnl', 'libmnl/libmnl.h') },
  { what: 'libnftnl headers', debian: 'libnftnl-dev', rhel: 'libnftnl-devel', ok: () => devModule('libnftnl', 'libnftnl/table.h') },
  { what: 'Linux UAPI headers', debian: 'linux-libc-dev', rhel: 'kernel-headers', ok: () => existsSync('/usr/include/linux/netfilter/nf_tables.h') },
];

function runs(file, args, input) {
  const r = spawnSync(file, args, { input, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'], timeout: 20_000 });
  return r.error === undefined && r.status === 0;
}

// A compiler binary alone is not enough: preprocessing a standard header proves the driver,
// its cc1plus and the C++ library headers are all there. make's default for gyp is g++.
function cxxWorks() {
  return runs(process.env.CXX || 'g++', ['-x', 'c++', '-E', '-o', '/dev/null', '-'], '#include <cstdint>\n#include <string>\n');
}

// The .pc file and the header come in the same -dev package; either alone is a broken install.
// Without pkg-config (named on its own) the header alone says whether the -dev package is there.
function devModule(module, header) {
  const pc = spawnSync('pkg-config', ['--variable=includedir', module], { encoding: 'utf8', timeout: 20_000 });
  if (pc.error) return existsSync(join('/usr/include', header));
  return pc.status === 0 && existsSync(join(pc.stdout.trim() || '/usr/include', header));
}

// A prebuilt binary for this platform that did not load most often lacks a runtime library:
// installing that one package is all it takes, so say it first (the loader's own words).
function prebuildFailure() {
  if (!existsSync(join(root, 'prebuilds', `${process.platform}-${process.arch}`)) || !existsSync(join(root, 'dist', 'binding.js'))) return null;
  try {
    createRequire(import.meta.url)(join(root, 'dist', 'binding.js')).binding();
    return null;
  } catch (e) {
    return e instanceof Error && e.code === 'ERR_CONNLIMIT_LOAD' && e.detail ? e.message : null;
  }
}

const failure = prebuildFailure();
if (failure) process.stderr.write(`connlimit: the prebuilt binary did not load: ${failure}\n`);
const missing = needs.filter((n) => !n.ok());
if (missing.length > 0) {
  // node-gyp-build compiles when no prebuild loads, or when asked to (--build-from-source).
  const why = process.env.npm_config_build_from_source === 'true' ? 'building from source as asked' : `no prebuilt binary fits this host (${process.platform}-${process.arch})`;
  const unique = (key) => [...new Set(missing.map((n) => n[key]))].join(' ');
  process.stderr.write(
    `connlimit: ${why} and compiling it needs ${missing.map((n) => n.what).join(', ')}: ` +
      `install them (Debian/Ubuntu: apt-get install ${unique('debian')}; RHEL/Fedora: dnf install ${unique('rhel')}) and run npm install again\n`,
  );
  process.exit(1);
}
