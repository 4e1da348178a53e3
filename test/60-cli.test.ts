// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6: the `connlimit` command. Every command runs in a throwaway namespace and its effect
// is read back with the iptables CLI (the oracle; commands read back with iptables-legacy-save
// name --backend legacy, the default being auto); its --json output is compared with what the
// library's API returns for the same state; bad usage ends with the right exit code and one
// line on stderr.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemIptablesBackend } from '../src/backend-detect';
import { Firewall } from '../src/index';
import { execResult, withNetns, type ExecResult, type Netns } from './helpers/netns';

const root = join(__dirname, '..');
const cliMain = join(root, 'src', 'cli', 'main.ts');

function cli(args: string[]): Promise<ExecResult> {
  return execResult(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
    timeoutMs: 30_000,
  });
}

/** Runs the CLI and insists on exit 0, so a failure shows what it printed. */
async function ok(args: string[]): Promise<ExecResult> {
  const r = await cli(args);
  assert.is(r.code, 0, `connlimit ${args.join(' ')} -> ${r.code}: ${r.stderr}`);
  return r;
}

/** The rule and chain lines of `iptables-legacy-save`, without comments and counters. */
async function savedRules(ns: Netns, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<string[]> {
  const tool = family === 'ipv4' ? 'iptables-legacy-save' : 'ip6tables-legacy-save';
  const out = (await ns.run(tool, ['-t', 'filter'])).stdout;
  return out
    .split('\n')
    .filter((l) => l.startsWith('-A ') || l.startsWith(':'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

const LIMIT_SSH = ['-p', 'tcp', '--syn', '--dport', '22', '-m', 'connlimit', '--connlimit-above', '2', '-j', 'REJECT', '--reject-with', 'tcp-reset'];
const LIMIT_HTTP = ['-p', 'tcp', '--syn', '--dport', '80', '-m', 'connlimit', '--connlimit-above', '16', '--connlimit-mask', '24', '-j', 'REJECT'];
const ALLOW_TELNET = ['-p', 'tcp', '--syn', '--dport', '23', '-m', 'connlimit', '--connlimit-upto', '2', '-j', 'ACCEPT'];

test('add, insert at a position and rm write what iptables-legacy -A/-I/-D write', () =>
  withNetns(async (ours) =>
    withNetns(async (theirs) => {
      await ok(['add', '--backend', 'legacy', '--netns', ours.name, 'INPUT', ...LIMIT_SSH]);
      await ok(['add', '--backend', 'legacy', '--netns', ours.name, 'INPUT', ...LIMIT_HTTP]);
      await ok(['insert', '--backend', 'legacy', '--netns', ours.name, 'INPUT', '2', ...ALLOW_TELNET]);
      await ok(['insert', '--backend', 'legacy', '--netns', ours.name, 'INPUT', '-s', '10.0.0.0/8', '-j', 'DROP']);
      await theirs.run('iptables-legacy', ['-A', 'INPUT', ...LIMIT_SSH]);
      await theirs.run('iptables-legacy', ['-A', 'INPUT', ...LIMIT_HTTP]);
      await theirs.run('iptables-legacy', ['-I', 'INPUT', '2', ...ALLOW_TELNET]);
      await theirs.run('iptables-legacy', ['-I', 'INPUT', '-s', '10.0.0.0/8', '-j', 'DROP']);
      assert.equal(await savedRules(ours), await savedRules(theirs));

      const rm = await ok(['rm', '--backend', 'legacy', '--netns', ours.name, '--json', 'INPUT', ...LIMIT_HTTP]);
      assert.equal(JSON.parse(rm.stdout), { ok: true, position: 4, backend: 'legacy' });
      await ok(['rm', '--backend', 'legacy', '--netns', ours.name, 'INPUT', '1']);
      await theirs.run('iptables-legacy', ['-D', 'INPUT', ...LIMIT_HTTP]);
      await theirs.run('iptables-legacy', ['-D', 'INPUT', '1']);
      assert.equal(await savedRules(ours), await savedRules(theirs));
    })));

test('--family ipv6 writes the ip6tables table', () =>
  withNetns(async (ours) =>
    withNetns(async (theirs) => {
      const rule = ['-p', 'tcp', '--syn', '--dport', '80', '-s', 'fe80::/64', '-m', 'connlimit', '--connlimit-above', '16', '--connlimit-mask', '64', '-j', 'REJECT'];
      await ok(['add', '--backend', 'legacy', '--family', 'ipv6', '--netns', ours.name, 'INPUT', ...rule]);
      await theirs.run('ip6tables-legacy', ['-A', 'INPUT', ...rule]);
      assert.equal(await savedRules(ours, 'ipv6'), await savedRules(theirs, 'ipv6'));
      assert.equal(await savedRules(ours), await savedRules(theirs), 'the IPv4 table is untouched');
    })));

test('--backend nft writes what iptables-nft -A writes', () =>
  withNetns(async (ours) =>
    withNetns(async (theirs) => {
      await ok(['add', '--backend', 'nft', '--netns', ours.name, 'INPUT', ...LIMIT_SSH]);
      await theirs.run('iptables-nft', ['-A', 'INPUT', ...LIMIT_SSH]);
      const rules = async (ns: Netns) => (await ns.run('iptables-nft-save')).stdout.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':'));
      assert.equal(await rules(ours), await rules(theirs));
      const ls = JSON.parse((await ok(['ls', '--backend', 'nft', '--netns', ours.name, '--json', 'INPUT'])) .stdout);
      assert.is(ls.length, 1);
      await ok(['rm', '--backend', 'nft', '--netns', ours.name, 'INPUT', ...LIMIT_SSH]);
      assert.equal((await rules(ours)).filter((l) => l.startsWith('-A')), []);
    })));

test('without --backend: auto, where the system iptables looks (iptables-nft here); --json names it', () =>
  withNetns(async (ns) => {
    const expected = systemIptablesBackend() ?? 'nft';
    const add = await ok(['add', '--netns', ns.name, '--json', 'INPUT', ...LIMIT_SSH]);
    assert.equal(JSON.parse(add.stdout), { ok: true, backend: expected });
    const saved = (await ns.run(`iptables-${expected}-save`)).stdout;
    assert.ok(saved.includes('-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 '), saved);
    const save = JSON.parse((await ok(['save', '--netns', ns.name, '--json'])).stdout);
    assert.equal([save.backend, save.chains.find((c: { name: string }) => c.name === 'INPUT').rules.length], [expected, 1]);
  }));

test('without --backend in a namespace with legacy rules only: legacy', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-A', 'INPUT', '-j', 'ACCEPT']);
    const add = await ok(['add', '--netns', ns.name, '--json', 'INPUT', ...LIMIT_SSH]);
    assert.equal(JSON.parse(add.stdout), { ok: true, backend: 'legacy' });
    assert.is((await savedRules(ns)).filter((l) => l.startsWith('-A')).length, 2);
    assert.is((await ns.run('nft', ['list', 'ruleset'])).stdout.trim(), '', 'nothing written to nf_tables');
  }));

test('ensure appends once; check answers with its exit code', () =>
  withNetns(async (ns) => {
    assert.is((await ok(['ensure', '--backend', 'legacy', '--netns', ns.name, 'INPUT', ...LIMIT_SSH])).stdout.trim(), 'added');
    assert.is((await ok(['ensure', '--backend', 'legacy', '--netns', ns.name, 'INPUT', ...LIMIT_SSH])).stdout.trim(), 'present');
    assert.is((await savedRules(ns)).filter((l) => l.startsWith('-A')).length, 1);

    const present = await cli(['check', '--backend', 'legacy', '--netns', ns.name, '--json', 'INPUT', ...LIMIT_SSH]);
    assert.is(present.code, 0);
    assert.equal(JSON.parse(present.stdout), { exists: true, backend: 'legacy' });
    const absent = await cli(['check', '--backend', 'legacy', '--netns', ns.name, 'INPUT', ...LIMIT_HTTP]);
    assert.is(absent.code, 1);
    assert.is(absent.stdout.trim(), 'absent');
    assert.is(absent.stderr, '');
  }));

test('ls prints what iptables-legacy -S prints; ls --json is what Firewall.list returns', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-N', 'clients']);
    await ns.run('iptables-legacy', ['-A', 'INPUT', '-j', 'clients']);
    await ns.run('iptables-legacy', ['-A', 'clients', ...LIMIT_SSH]);
    await ns.run('iptables-legacy', ['-A', 'clients', '-m', 'comment', '--comment', 'two words "quoted"', '-j', 'ACCEPT']);

    const all = await ok(['ls', '--backend', 'legacy', '--netns', ns.name]);
    assert.is(all.stdout, (await ns.run('iptables-legacy', ['-S'])).stdout);
    const one = await ok(['ls', '--backend', 'legacy', '--netns', ns.name, 'clients']);
    assert.is(one.stdout, (await ns.run('iptables-legacy', ['-S', 'clients'])).stdout);

    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    try {
      const json = await ok(['ls', '--backend', 'legacy', '--netns', ns.name, '--json', 'clients']);
      const api = await fw.list('clients');
      const viaJson = JSON.parse(JSON.stringify(api, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      assert.equal(JSON.parse(json.stdout), viaJson);
      assert.is(JSON.parse(json.stdout)[1].rule.comment, 'two words "quoted"');
    } finally {
      await fw.close();
    }
  }));

test('save prints the table as iptables-legacy-save does; flush empties a chain or the table', () =>
  withNetns(async (ns) => {
    await ok(['add', '--backend', 'legacy', '--netns', ns.name, 'INPUT', ...LIMIT_SSH]);
    await ok(['add', '--backend', 'legacy', '--netns', ns.name, 'OUTPUT', '-p', 'udp', '--dport', '53', '-j', 'ACCEPT']);
    const ours = (await ok(['save', '--backend', 'legacy', '--netns', ns.name])).stdout;
    const theirs = (await ns.run('iptables-legacy-save', ['-t', 'filter'])).stdout;
    const body = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(body(ours), body(theirs));

    await ok(['flush', '--backend', 'legacy', '--netns', ns.name, 'OUTPUT']);
    assert.equal((await savedRules(ns)).filter((l) => l.startsWith('-A')), ['-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with tcp-reset']);
    await ok(['flush', '--backend', 'legacy', '--netns', ns.name]);
    assert.equal((await savedRules(ns)).filter((l) => l.startsWith('-A')), []);
  }));

test('our long options may follow the rule; after -- everything is the rule', () =>
  withNetns(async (ns) => {
    const r = await ok(['add', 'INPUT', ...LIMIT_SSH, '--netns', ns.name, '--backend', 'legacy', '--json']);
    assert.equal(JSON.parse(r.stdout), { ok: true, backend: 'legacy' });
    await ok(['add', '--backend', 'legacy', '--netns', ns.name, '--', 'INPUT', '-m', 'comment', '--comment', 'x', '-j', 'ACCEPT']);
    assert.is((await savedRules(ns)).filter((l) => l.startsWith('-A')).length, 2);
  }));

/** One line on stderr, the expected exit code, and nothing written to the namespace. */
async function refuses(ns: Netns, args: string[], exitCode: number, message: RegExp): Promise<void> {
  const before = await savedRules(ns);
  const r = await cli(args);
  assert.is(r.code, exitCode, `connlimit ${args.join(' ')}: ${r.stderr}`);
  assert.is(r.stderr.split('\n').filter(Boolean).length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, /^connlimit: /);
  assert.match(r.stderr, message);
  assert.equal(await savedRules(ns), before);
}

test('bad usage: exit 2 and a one-line message; nothing is written', () =>
  withNetns(async (ns) => {
    await refuses(ns, ['frobnicate', 'INPUT'], 2, /unknown command 'frobnicate'/);
    await refuses(ns, ['add', '--bogus', 'INPUT', '-j', 'DROP'], 2, /bogus/);
    await refuses(ns, ['add', '--backend', 'legacy', '--netns', ns.name, 'INPUT', '-p', 'tcp', '--dport', '99999', '-j', 'DROP'], 2, /99999.*port/);
    await refuses(ns, ['add', '--backend', 'legacy', '--netns', ns.name, 'INPUT', '-j', 'DROP;', 'rm', '-rf', '/'], 2, /rule|target|DROP;/);
    await refuses(ns, ['add', '--backend', 'legacy', '--netns', ns.name, 'INPUT'], 2, /missing rule/);
    await refuses(ns, ['add', '--backend', 'legacy', '--netns', ns.name], 2, /missing chain/);
    await refuses(ns, ['add', '--backend', 'legacy', '--netns', ns.name, '--family', 'ipx', 'INPUT', '-j', 'DROP'], 2, /family/);
    await refuses(ns, ['add', '--backend', 'legacy', '--netns', ns.name, '--lock-timeout', 'soon', 'INPUT', '-j', 'DROP'], 2, /lock-timeout/);
  }));

test('missing chain or namespace: exit 5; --json also prints the error object', () =>
  withNetns(async (ns) => {
    await refuses(ns, ['add', '--backend', 'legacy', '--netns', ns.name, 'nosuchchain', '-j', 'DROP'], 5, /nosuchchain/);
    await refuses(ns, ['rm', '--backend', 'legacy', '--netns', ns.name, 'INPUT', ...LIMIT_SSH], 5, /./);
    await refuses(ns, ['ls', '--backend', 'legacy', '--netns', 'cl-no-such-namespace'], 5, /cl-no-such-namespace/);
    const r = await cli(['ls', '--backend', 'legacy', '--netns', ns.name, '--json', 'nosuchchain']);
    assert.is(r.code, 5);
    assert.is(JSON.parse(r.stdout).error.code, 'ERR_CONNLIMIT_NOT_FOUND');
  }));

test('without CAP_NET_ADMIN over the namespace: exit 3 naming the capability', () =>
  withNetns(async (ns) => {
    const before = await savedRules(ns);
    const r = spawnSync('unshare', ['--user', process.execPath, '--import', 'tsx', cliMain, 'add', '--backend', 'legacy', '--netns', ns.path, 'INPUT', '-j', 'DROP'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: 30_000,
    });
    assert.is(r.status, 3, r.stderr);
    assert.match(r.stderr, /^connlimit: .*CAP_NET_ADMIN/);
    assert.equal(await savedRules(ns), before);
  }));

test('--help for every command shows its usage and the man page examples', async () => {
  for (const command of ['add', 'insert', 'ensure', 'rm', 'check', 'ls', 'save', 'flush']) {
    const r = await ok([command, '--help']);
    assert.match(r.stdout, new RegExp(`^connlimit ${command} `));
    assert.match(r.stdout, /--connlimit-above 2 -j REJECT/);
  }
  const top = await ok(['--help']);
  assert.match(top.stdout, /Exit codes: 0 ok/);
  assert.is((await ok([])).stdout, top.stdout, 'no arguments prints the overview');
});

test.run();
