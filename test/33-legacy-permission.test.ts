// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 3: without CAP_NET_ADMIN over the target namespace every call fails with the
// permission error and its hint, and nothing is applied. The unprivileged caller is a child
// process in a new user namespace (`unshare --user`), which has no capability over the
// test's network namespace.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withNetns } from './helpers/netns';

const index = join(__dirname, '..', 'src', 'index.ts');

function unprivileged(code: string): { code?: string; message?: string } {
  const r = spawnSync('unshare', ['--user', process.execPath, '--import', 'tsx', '-e', code], {
    cwd: join(__dirname, '..'),
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 30_000,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `child said: ${r.stdout} ${r.stderr}`);
  return JSON.parse(line);
}

const attempt = (netns: string | null, action: string) => `
  const { Firewall } = require(${JSON.stringify(index)});
  (async () => {
    try {
      const fw = await Firewall.open({ backend: 'legacy'${netns ? `, netns: ${JSON.stringify(netns)}` : ''} });
      ${action}
      console.log(JSON.stringify({ code: 'none' }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, message: e.message }));
    }
  })();`;

test('opening a namespace without CAP_NET_ADMIN over it: ERR_CONNLIMIT_PERMISSION naming the capability', () =>
  withNetns(async (ns) => {
    const before = (await ns.run('iptables-legacy-save')).stdout;
    const r = unprivileged(attempt(ns.path, "await fw.append('INPUT', '-j DROP');"));
    assert.is(r.code, 'ERR_CONNLIMIT_PERMISSION');
    assert.match(r.message ?? '', /CAP_NET_ADMIN/);
    assert.is((await ns.run('iptables-legacy-save')).stdout, before);
  }));

test("the caller's own namespace without capabilities: the same error", () => {
  const r = unprivileged(attempt(null, 'await fw.list();'));
  assert.is(r.code, 'ERR_CONNLIMIT_PERMISSION');
  assert.match(r.message ?? '', /CAP_NET_ADMIN/);
});

test.run();
