// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6: the command checks every argument before it opens anything. Opening a legacy table
// creates it in the namespace, so a refused command must leave a fresh namespace as it was:
// `iptables-legacy-save` prints nothing and `nft list ruleset` is empty. Messages quote a
// huge argument cut short, on one line.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execResult, withNetns, type ExecResult, type Netns } from './helpers/netns';

const cliMain = join(__dirname, '..', 'src', 'cli', 'main.ts');

function cli(args: string[]): Promise<ExecResult> {
  return execResult(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
    timeoutMs: 30_000,
  });
}

/** What the kernel holds in the namespace, through both families' legacy tables and nf_tables. */
async function kernelState(ns: Netns): Promise<string> {
  const parts: string[] = [];
  for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) parts.push((await ns.run(tool)).stdout);
  parts.push((await ns.run('nft', ['list', 'ruleset'])).stdout);
  return parts.join('');
}

/** [what, arguments after the backend and namespace]. Each is bad usage, found without the kernel. */
const BAD: Array<[string, string[]]> = [
  ['a bad chain name (add)', ['add', 'BAD!', '-j', 'DROP']],
  ['a bad chain name (insert)', ['insert', 'BAD!', '1', '-j', 'DROP']],
  ['a bad chain name (ensure)', ['ensure', 'BAD!', '-j', 'DROP']],
  ['a bad chain name (check)', ['check', 'BAD!', '-j', 'DROP']],
  ['a bad chain name (rm)', ['rm', 'BAD!', '1']],
  ['a bad chain name (flush)', ['flush', 'BAD!']],
  ['a bad chain name (ls)', ['ls', 'BAD!']],
  ['a chain name too long', ['add', 'X'.repeat(29), '-j', 'DROP']],
  ['a target name as chain', ['add', 'ACCEPT', '-j', 'DROP']],
  ['position 0 (insert)', ['insert', 'INPUT', '0', '-j', 'DROP']],
  ['position 0 (rm)', ['rm', 'INPUT', '0']],
  ['a position past int32', ['insert', 'INPUT', '99999999999', '-j', 'DROP']],
  ['-o in INPUT', ['add', 'INPUT', '-o', 'lo', '-j', 'DROP']],
  ['-i in OUTPUT', ['add', 'OUTPUT', '-i', 'lo', '-j', 'DROP']],
  ['REJECT outside the filter table', ['add', '--table', 'mangle', 'PREROUTING', '-j', 'REJECT']],
  ['an unknown table', ['add', '--table', 'nope', 'INPUT', '-j', 'DROP']],
  ['a bad rule', ['add', 'INPUT', '-p', 'tcp', '--dport', '99999', '-j', 'DROP']],
  ['rule text over 8192 characters', ['add', 'INPUT', '-m', 'comment', '--comment', 'x'.repeat(9000), '-j', 'DROP']],
];

for (const backend of ['legacy', 'nft'] as const) {
  test(`${backend}: bad arguments exit 2 and leave a fresh namespace without any table`, () =>
    withNetns(async (ns) => {
      assert.is(await kernelState(ns), '', 'a fresh namespace holds no table');
      const wrong: string[] = [];
      for (const [what, args] of BAD) {
        const [command, ...rest] = args as [string, ...string[]];
        const r = await cli([command, '--backend', backend, '--netns', ns.name, ...rest]);
        if (r.code !== 2) wrong.push(`${what}: exit ${r.code}: ${r.stderr.trim()}`);
        else if (r.stderr.split('\n').filter(Boolean).length !== 1) wrong.push(`${what}: not one line: ${r.stderr}`);
        const state = await kernelState(ns);
        if (state !== '') {
          wrong.push(`${what}: the kernel now holds\n${state}`);
          break;
        }
      }
      assert.equal(wrong, [], wrong.join('\n'));
    }));
}

test('nftables: a rule the native form cannot hold, or a user chain, exits 2 before a table exists', () =>
  withNetns(async (ns) => {
    for (const args of [['add', 'INPUT', '-j', 'ACCEPT'], ['add', 'LIMITS', '-j', 'DROP'], ['add', 'INPUT', '-f', '-j', 'DROP']]) {
      const [command, ...rest] = args as [string, ...string[]];
      const r = await cli([command, '--backend', 'nftables', '--netns', ns.name, ...rest]);
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.is(await kernelState(ns), '', args.join(' '));
    }
  }));

test('a huge argument is quoted cut short: one line of stderr, under 400 characters', () =>
  withNetns(async (ns) => {
    const big = 'z'.repeat(100_000); // one argv string may be 128 KiB
    for (const args of [
      ['add', '--backend', 'legacy', '--netns', ns.name, `${big}`, '-j', 'DROP'],
      ['add', '--backend', 'legacy', '--netns', ns.name, 'INPUT', '-p', big],
      ['add', `--${big}`, 'INPUT', '-j', 'DROP'],
      ['count', `--${big}`],
      ['count', '--by', big],
      [big],
    ]) {
      const r = await cli(args);
      assert.is(r.code, 2, r.stderr.slice(0, 200));
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.is(lines.length, 1, r.stderr.slice(0, 200));
      assert.ok(lines[0]!.length < 400, `${lines[0]!.length} characters: ${lines[0]!.slice(0, 200)}`);
    }
    assert.is(await kernelState(ns), '');
  }));

test('flush with no chain still flushes every chain', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-A', 'INPUT', '-j', 'ACCEPT']);
    await ns.run('iptables-legacy', ['-A', 'OUTPUT', '-j', 'ACCEPT']);
    const r = await cli(['flush', '--backend', 'legacy', '--netns', ns.name]);
    assert.is(r.code, 0, r.stderr);
    assert.not.match((await ns.run('iptables-legacy-save')).stdout, /-A /);
  }));

test.run();
