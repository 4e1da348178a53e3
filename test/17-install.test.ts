// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 1: the package as npm installs it on a host that has never compiled anything. The
// repository is packed for real (`npm pack`: prepack builds the prebuilt binary with
// prebuildify) from a copy, so the working tree's build/ is never touched; the tarball is
// installed from npm's cache into empty projects inside mount namespaces where the compiler
// and the -dev packages are hidden (test/helpers/hidden-host.ts); the installed package then
// writes a rule into a throwaway network namespace. The slow part is the one compile, inside
// npm pack: over 280 s on this 2-core VM at load 14-18, hence the generous bounds.
// test-timeout-seconds: 1200
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runHidden } from './helpers/hidden-host';
import { execResult, withNetns } from './helpers/netns';

const ROOT = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'cl-install-'));
const env = { ...process.env, NODE_OPTIONS: '', JOBS: '2', CONNLIMIT_BINDING: '', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
let tarball = '';
let installed = '';

/** The sources `npm pack` needs, in a copy that shares node_modules (read-only use). */
function stageRepository(): string {
  const stage = join(work, 'repo');
  mkdirSync(stage);
  // What the package ships, less what packing builds (dist/, prebuilds/), plus the sources.
  const files: string[] = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).files;
  const shipped = files.map((f) => f.replace(/\/$/, '').split('/')[0]!).filter((f) => f !== 'dist' && f !== 'prebuilds');
  for (const entry of new Set([...shipped, 'package.json', 'package-lock.json', 'tsconfig.json', 'src', 'scripts'])) {
    cpSync(join(ROOT, entry), join(stage, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'));
  return stage;
}

/** An empty project that is to depend on the tarball. */
function emptyProject(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  return dir;
}

/** `npm install TARBALL`, its dependencies from npm's cache where there (the registry answers the rest). */
const install = (dir: string, extraEnv: NodeJS.ProcessEnv = {}) =>
  runHidden('toolchain', 'npm', ['install', '--prefer-offline', '--no-package-lock', tarball], { cwd: dir, env: { ...env, ...extraEnv }, timeoutMs: 90_000 });

// Opens the installed package by its name and prints what happened, as JSON.
const APPEND = `
const { Firewall } = require('connlimit');
(async () => {
  try {
    const fw = await Firewall.open({ backend: 'legacy', netns: process.argv[1] });
    await fw.append('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT');
    await fw.close();
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code, detail: e.detail, message: e.message }));
  }
})();
`;

test.before(async () => {
  const stage = stageRepository();
  const packed = await execResult('npm', ['pack', '--json', '--pack-destination', work], { cwd: stage, env, timeoutMs: 900_000 });
  assert.is(packed.code, 0, packed.stderr.slice(-2000));
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
  tarball = join(work, filename);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test('npm pack ships the prebuilt binary and the preflight, and no build directory', async () => {
  const listing = (await execResult('tar', ['-tzf', tarball])).stdout.split('\n');
  assert.ok(listing.includes(`package/prebuilds/linux-${process.arch}/connlimit.glibc.node`), listing.filter((f) => f.includes('prebuild')).join(' '));
  assert.ok(listing.includes('package/scripts/preflight.mjs'));
  assert.ok(listing.includes('package/binding.gyp'), 'the sources stay, for hosts no prebuild fits');
  assert.not.ok(listing.some((f) => f.startsWith('package/build/')), 'a developer build is never shipped');
});

test('without a compiler or -dev packages, it installs from the prebuilt binary and appends a rule in a netns', async () => {
  const dir = emptyProject('app');
  // The hiding itself works: no compiler runs, no header is there.
  const cxx = await runHidden('toolchain', 'g++', ['-x', 'c++', '-E', '-'], { input: '#include <cstdint>\n' });
  assert.is.not(cxx.code, 0);
  assert.is(cxx.stdout, '');
  const r = await install(dir);
  assert.is(r.code, 0, r.stdout + r.stderr);
  installed = join(dir, 'node_modules', 'connlimit');
  assert.not.ok(existsSync(join(installed, 'build')), `compiled although a prebuild fits: ${readdirSync(installed).join(' ')}`);
  await withNetns(async (ns) => {
    const run = await runHidden('toolchain', process.execPath, ['-e', APPEND, ns.path], { cwd: dir, env });
    assert.equal(JSON.parse(run.stdout), { ok: true }, run.stderr);
    const saved = (await ns.run('iptables-legacy-save', ['-t', 'filter'])).stdout;
    assert.match(saved, /^-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable$/m);
  });
});

test('with a runtime library missing, ERR_CONNLIMIT_LOAD names the .so and the package for Debian and RHEL', async () => {
  assert.ok(installed, 'the install test ran first');
  const ldd = (await execResult('ldd', [join(installed, 'prebuilds', `linux-${process.arch}`, 'connlimit.glibc.node')])).stdout;
  const libnftnl = /libnftnl\.so\.\d+ => (\S+)/.exec(ldd)?.[1];
  assert.ok(libnftnl, ldd);
  await withNetns(async (ns) => {
    const run = await runHidden({ library: libnftnl }, process.execPath, ['-e', APPEND, ns.path], { cwd: join(installed, '..', '..'), env });
    const out = JSON.parse(run.stdout);
    assert.is(out.code, 'ERR_CONNLIMIT_LOAD', run.stdout + run.stderr);
    assert.is(out.detail, 'libnftnl.so.11');
    assert.match(out.message, /libnftnl\.so\.11/);
    assert.match(out.message, /apt-get install libnftnl11/);
    assert.match(out.message, /dnf install libnftnl/);
  });
  // The install step, finding the prebuild unloadable, says the same before anything else.
  const preflight = await runHidden({ library: libnftnl }, process.execPath, [join(installed, 'scripts', 'preflight.mjs')], { env });
  assert.match(preflight.stderr, /^connlimit: the prebuilt binary did not load: the shared library libnftnl\.so\.11 .*apt-get install libnftnl11/m);
});

test('where no prebuild fits, the install stops before compiling with every missing package in one line', async () => {
  const dir = emptyProject('from-source');
  // node-gyp-build's switch for "compile even though a prebuild fits": the path a musl or
  // arm host takes.
  const r = await install(dir, { npm_config_build_from_source: 'true' });
  assert.is.not(r.code, 0);
  const line = r.stderr.split('\n').find((l) => l.includes('connlimit: building from source as asked and compiling it needs'));
  assert.ok(line, r.stderr);
  for (const pkg of ['g++', 'libip4tc-dev', 'libip6tc-dev', 'libmnl-dev', 'libnftnl-dev', 'linux-libc-dev', 'gcc-c++', 'iptables-devel', 'libmnl-devel', 'libnftnl-devel']) {
    assert.ok(line.includes(` ${pkg}`), `${pkg} in: ${line}`);
  }
  assert.not.match(r.stderr, /gyp: Call to/);
});

test.run();
