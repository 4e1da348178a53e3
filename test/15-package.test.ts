// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 1: the package as a user loads it: CommonJS and ESM entries with their types, and a
// loader that says plainly why the addon did not load. Runs the built dist/ in child processes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(__dirname, '..');
const node = (code: string, env: NodeJS.ProcessEnv = {}, type: 'cjs' | 'mjs' = 'cjs') =>
  spawnSync(process.execPath, [type === 'mjs' ? '--input-type=module' : '--input-type=commonjs', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
  });

test('package.json points both entries and their types at files that exist', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.is(pkg.name, 'connlimit');
  assert.is(pkg.license, 'GPL-2.0-or-later');
  const dot = pkg.exports['.'];
  for (const f of [dot.import.default, dot.import.types, dot.require.default, dot.require.types]) {
    assert.ok(existsSync(join(root, f)), f);
  }
});

test('LICENSE is the GPL-2.0 text, a CHANGELOG ships, and the sample systemd units verify', () => {
  assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /^\s*GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/);
  assert.match(readFileSync(join(root, 'CHANGELOG.md'), 'utf8'), /^# Changelog/);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const f of ['CHANGELOG.md', 'docs/']) assert.ok(pkg.files.includes(f), f);
  // src/ is not shipped: the source maps carry the sources they point at.
  const map = JSON.parse(readFileSync(join(root, 'dist', 'index.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
  assert.is(map.sourcesContent?.length, map.sources.length);
  // systemd-analyze exits 0 on a key it cannot parse: a clean verify prints nothing.
  for (const name of ['connlimit-metrics.service', 'connlimit-apply.service']) {
    const r = spawnSync('systemd-analyze', ['verify', join(root, 'docs', 'systemd', name)], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stderr + r.stdout, '', name);
  }
});

test('the connlimit command is the bin, built with a node shebang, and answers --help', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const bin = join(root, pkg.bin.connlimit);
  assert.ok(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n'), bin);
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^connlimit: limit parallel connections/);
});

test('require("connlimit") and import "connlimit" give the same module with the same exports', () => {
  // Resolve the package by its own name, as a user would.
  const cjs = node("const c = require('connlimit'); console.log(JSON.stringify(Object.keys(c).sort()))");
  assert.is(cjs.status, 0, cjs.stderr);
  const esm = node("import * as c from 'connlimit'; console.log(JSON.stringify(Object.keys(c).filter(k => k !== 'default').sort()))", {}, 'mjs');
  assert.is(esm.status, 0, esm.stderr);
  assert.equal(JSON.parse(esm.stdout), JSON.parse(cjs.stdout));
  for (const name of ['Firewall', 'ValidationError', 'parseRule', 'renderRule', 'isConnlimitError']) {
    assert.ok(JSON.parse(cjs.stdout).includes(name), name);
  }
  const same = node("import c from 'connlimit'; import { Firewall } from 'connlimit'; import { createRequire } from 'node:module'; const r = createRequire(import.meta.url)('connlimit'); console.log(c.Firewall === Firewall && r.Firewall === Firewall)", {}, 'mjs');
  assert.is(same.stdout.trim(), 'true', same.stderr);
});

test('the declarations type-check a consumer in both module systems', () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  // test/types/consumer.{cts,mts} use the public types, with @ts-expect-error lines for misuse.
  const out = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'types', 'tsconfig.json')], { encoding: 'utf8' });
  assert.is(out.status, 0, out.stdout + out.stderr);
});

test('a missing addon fails with ERR_CONNLIMIT_LOAD and says what to do', () => {
  const r = node(
    "const { Firewall } = require('connlimit'); Firewall.open().then(() => console.log('opened'), (e) => console.log(e.code + ' ' + e.message))",
    { CONNLIMIT_BINDING: '/nonexistent/connlimit.node' },
  );
  assert.match(r.stdout, /^ERR_CONNLIMIT_LOAD /);
  assert.match(r.stdout, /not built/);
  assert.match(r.stdout, /setup\.sh|npm rebuild/);
});

test('validation works without the addon: parseRule and renderRule never load it', () => {
  const r = node(
    "const c = require('connlimit'); console.log(c.renderRule('-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT', { chain: 'INPUT' }))",
    { CONNLIMIT_BINDING: '/nonexistent/connlimit.node' },
  );
  assert.is(r.status, 0, r.stderr);
  assert.is(
    r.stdout.trim(),
    '-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable',
  );
  void execFileSync;
});

test.run();
