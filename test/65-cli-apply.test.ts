// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6: `connlimit apply|remove FILE`. A bad file is refused with a typed error naming the
// place in the file, exit 2, and nothing applied (the namespace's table as iptables-save prints
// it is unmoved); a good one applies, re-applies as "no changes", and removes; a jump placed
// after a named rule, and `remove --owner NAME` without the file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execResult, withNetns, type Netns } from './helpers/netns';

const cliMain = join(__dirname, '..', 'src', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'cl-apply-'));
let files = 0;

function file(text: string, ext = 'yaml'): string {
  const path = join(dir, `f${files++}.${ext}`);
  writeFileSync(path, text);
  return path;
}

const cli = (ns: Netns, ...args: string[]) =>
  execResult('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', cliMain, ...args, '--backend', 'legacy']);
const save = async (ns: Netns) => (await ns.run('iptables-legacy-save')).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');

const GOOD = `chains:
  LIMITS:
    - -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
jumps:
  - { from: INPUT, to: LIMITS, position: first }
`;

const BAD: Array<[string, string, RegExp]> = [
  ['a list at the top', '- 1\n', /^connlimit: desired: expected an object/],
  ['chains not a map', 'chains: [1]\n', /^connlimit: chains: expected an object/],
  ['a rule outside the language', 'chains:\n  LIMITS:\n    - -j ACCEPT\n    - -p tcp --frobnicate 3 -j DROP\n', /^connlimit: chains\.LIMITS\[1\]: rule/],
  ['a rule jumping to a chain not owned', 'chains:\n  LIMITS:\n    - -j OTHER\n', /^connlimit: chains\.LIMITS\[0\]: jumps to 'OTHER'/],
  ['a jump to a chain not owned', 'chains:\n  LIMITS: []\njumps:\n  - { from: INPUT, to: NOPE }\n', /^connlimit: jumps\[0\]\.to: .*NOPE/],
  ['a jump from a chain that is not built in', 'chains:\n  LIMITS: []\njumps:\n  - { from: LIMITS, to: LIMITS }\n', /^connlimit: jumps\[0\]\.from:/],
  ['a bad position', 'chains:\n  LIMITS: []\njumps:\n  - { from: INPUT, to: LIMITS, position: middle }\n', /^connlimit: jumps\[0\]\.position:/],
  ['an owned built-in chain', 'chains:\n  INPUT: []\n', /^connlimit: chains\.INPUT: .*built-in/],
  ['broken YAML', 'chains: [\n', /^connlimit: \S+\.yaml(:\d+:\d+)?: not YAML/],
  ['an anchor of the wrong shape', 'chains:\n  LIMITS: []\njumps:\n  - { from: INPUT, to: LIMITS, position: { after: allow-ssh } }\n', /^connlimit: jumps\[0\]\.position\.after: expected \{ comment: NAME \}/],
  ['an anchor rule outside the language', 'chains:\n  LIMITS: []\njumps:\n  - { from: INPUT, to: LIMITS, position: { after: { rule: -p tcp --frobnicate 3 } } }\n', /^connlimit: jumps\[0\]\.position\.after\.rule: rule/],
  ['an owner that is no name', 'owner: web-api\nchains:\n  web-api-L: []\n', /^connlimit: owner: /],
  ['a chain not named after its owner', 'owner: web\nchains:\n  LIMITS: []\n', /^connlimit: chains\.LIMITS: the chains of owner 'web'/],
];

for (const [what, text, message] of BAD) {
  test(`apply refuses ${what}: exit 2, the place named, nothing applied`, () =>
    withNetns(async (ns) => {
      await ns.run('iptables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--dport', '1', '-j', 'ACCEPT']);
      const before = await save(ns);
      const r = await cli(ns, 'apply', file(text));
      assert.is(r.code, 2, r.stderr);
      assert.match(r.stderr, message, r.stderr);
      assert.is(await save(ns), before);
    }));
}

test('bad JSON names the file; a good JSON file applies', () =>
  withNetns(async (ns) => {
    const bad = await cli(ns, 'apply', file('{"chains":', 'json'));
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /not JSON/);
    const good = await cli(ns, 'apply', file(JSON.stringify({ chains: { L: ['-j RETURN'] } }), 'json'), '--json');
    assert.is(good.code, 0, good.stderr);
    assert.ok(JSON.parse(good.stdout).plan.committed);
  }));

test('apply --dry-run, apply, re-apply (no changes), remove', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--dport', '1', '-j', 'ACCEPT']);
    const before = await save(ns);
    const f = file(GOOD);
    const dry = await cli(ns, 'apply', f, '--dry-run');
    assert.is(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\+ \[1\] -A INPUT -j LIMITS/);
    assert.match(dry.stdout, /to commit in one transaction/);
    assert.match(dry.stdout, /restarts every connlimit count/);
    assert.is(await save(ns), before);
    assert.is((await cli(ns, 'apply', f)).code, 0);
    assert.match(await save(ns), /-A INPUT -j LIMITS/);
    const again = await cli(ns, 'apply', f, '--json');
    assert.is(JSON.parse(again.stdout).plan.commit, false);
    const removed = await cli(ns, 'remove', f);
    assert.is(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /chain LIMITS \(chain deleted\)/);
    assert.is(await save(ns), before);
    const misuse = await cli(ns, 'ls', '--dry-run');
    assert.is(misuse.code, 2);
  }));

const ANCHORED = `owner: web
chains:
  web-LIMITS:
    - -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT
jumps:
  - from: INPUT
    to: web-LIMITS
    position: { after: { comment: allow-established } }
`;

test('a jump after a named rule from YAML; a missing anchor exits 5 naming the place; remove --owner without the file', () =>
  withNetns(async (ns) => {
    const established = ['-m', 'comment', '--comment', 'allow-established', '-j', 'ACCEPT'];
    await ns.run('iptables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--dport', '1', '-j', 'ACCEPT']);
    const before = await save(ns);
    const f = file(ANCHORED);
    const missing = await cli(ns, 'apply', f);
    assert.is(missing.code, 5, missing.stderr);
    assert.match(missing.stderr, /^connlimit: jumps\[0\]\.position\.after\.comment: no rule in chain INPUT carries the comment 'allow-established'/);
    assert.is(await save(ns), before);

    await ns.run('iptables-legacy', ['-A', 'INPUT', ...established]);
    await ns.run('iptables-legacy', ['-A', 'INPUT', '-s', '10.1.1.1/32', '-j', 'DROP']);
    const dry = await cli(ns, 'apply', f, '--dry-run');
    assert.is(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\+ \[3\] -A INPUT -j web-LIMITS\n {4}after \[2\] -A INPUT -m comment --comment allow-established -j ACCEPT\n/);
    assert.is((await cli(ns, 'apply', f)).code, 0);
    assert.match(await save(ns), /--comment allow-established -j ACCEPT\n-A INPUT -j web-LIMITS\n-A INPUT -s 10\.1\.1\.1\/32 -j DROP\n/);

    const both = await cli(ns, 'remove', f, '--owner', 'web');
    assert.is(both.code, 2, both.stderr);
    assert.is((await cli(ns, 'apply', f, '--owner', 'web')).code, 2);
    assert.is((await cli(ns, 'remove', '--owner', 'web-x')).code, 2);
    const removed = await cli(ns, 'remove', '--owner', 'web', '--json');
    assert.is(removed.code, 0, removed.stderr);
    assert.ok(JSON.parse(removed.stdout).plan.chains['web-LIMITS'].remove);
    assert.not.match(await save(ns), /web-LIMITS/);
  }));

test.run();
