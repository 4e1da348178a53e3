// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6: the `connlimit` command. Every command runs in a throwaway namespace and its effect
// is read back with the iptables CLI (the oracle; commands read back with iptables-legacy-save
// name --backend legacy, the default being auto); its --json output is compared with what the
// library's API returns for the same state; bad usage ends with the right exit code and one
// line on stderr.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
      const ls = JSON.parse((await ok(['ls', '--backend', 'nft', '--netns', ours.name, '--json', 'INPUT'])).stdout);
      assert.equal([ls.ok, ls.backend, ls.rules.length], [true, 'nft', 1]);
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
    assert.equal(JSON.parse(present.stdout), { ok: true, backend: 'legacy', exists: true });
    const ensured = await ok(['ensure', '--backend', 'legacy', '--netns', ns.name, '--json', 'INPUT', ...LIMIT_SSH]);
    assert.equal(JSON.parse(ensured.stdout), { ok: true, backend: 'legacy', added: false });
    const absent = await cli(['check', '--backend', 'legacy', '--netns', ns.name, 'INPUT', ...LIMIT_HTTP]);
    assert.is(absent.code, 1);
    assert.is(absent.stdout.trim(), 'absent');
    assert.is(absent.stderr, '');
  }));

test('ls prints what iptables-legacy -S prints; ls --json has the rules as JSON.stringify(Firewall.list()) writes them', () =>
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
      // No replacer: listed rules serialize themselves, counters as decimal strings.
      const viaJson = JSON.parse(JSON.stringify(api));
      assert.is(viaJson[0].packets, '0');
      const out = JSON.parse(json.stdout);
      assert.equal([out.ok, out.backend], [true, 'legacy']);
      assert.equal(out.rules, viaJson);
      assert.is(out.rules[1].rule.comment, 'two words "quoted"');
      assert.equal(Object.keys(api[0] as object), ['chain', 'position', 'rule', 'text', 'packets', 'bytes'], 'toJSON is not an own enumerable key');
      assert.is(JSON.parse(JSON.stringify(await fw.chains())).find((c: { name: string }) => c.name === 'clients').rules.length, 2);
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
    assert.equal([JSON.parse(r.stdout).ok, JSON.parse(r.stdout).error.code], [false, 'ERR_CONNLIMIT_NOT_FOUND']);
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

test('--help: the overview once; per command a short text with its own options; no arguments is bad usage; --version', async () => {
  const overview = await ok(['--help']);
  assert.match(overview.stdout, /Exit codes: 0 ok/);
  assert.match(overview.stdout, /--connlimit-above 2 -j REJECT/, 'the man page examples');
  for (const command of ['add', 'insert', 'ensure', 'rm', 'check', 'ls', 'save', 'flush', 'count', 'watch', 'top', 'metrics']) {
    const r = await ok([command, '--help']);
    assert.match(r.stdout, new RegExp(`^connlimit ${command} `));
    assert.ok(r.stdout.split('\n').length < 25, `${command} --help is short:\n${r.stdout}`);
    assert.not.match(r.stdout, /Exit codes/, 'the global parts only once, in the overview');
  }
  for (const command of ['count', 'watch', 'top']) {
    const r = await ok([command, '--help']);
    assert.match(r.stdout, /--dport P/, `${command} shows the filters`);
    assert.match(r.stdout, /--all-states/, `${command} says how to count every entry`);
    assert.not.match(r.stdout, /--lock-timeout/, `${command} takes no lock`);
  }
  assert.match((await ok(['watch', '--help'])).stdout, /--hold MS/);
  assert.match((await ok(['add', '--help'])).stdout, /--lock-timeout MS/);

  const bare = await cli([]);
  assert.is(bare.code, 2);
  assert.is(bare.stdout, '');
  assert.is(bare.stderr, overview.stdout, 'no arguments prints the overview, as bad usage');

  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.is((await ok(['--version'])).stdout, `connlimit ${pkg.version}\n`);
});

test('xtables lock held by another program: exit 4, one line naming --lock-timeout (not lockTimeoutMs)', () =>
  withNetns(async (ns) => {
    const dir = mkdtempSync(join(tmpdir(), 'connlimit-60-lock-'));
    const lock = join(dir, 'xtables.lock');
    writeFileSync(lock, '');
    // flock holds the lock until its sleep is killed.
    const holder = spawn('flock', ['--exclusive', lock, 'sleep', '60'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 200 && spawnSync('flock', ['--nonblock', lock, 'true']).status === 0; i++) await new Promise((r) => setTimeout(r, 25));
      const r = await execResult(process.execPath, ['--import', 'tsx', cliMain, 'add', '--backend', 'legacy', '--netns', ns.name, '--lock-timeout', '100', 'INPUT', '-j', 'DROP'], {
        env: { ...process.env, NODE_OPTIONS: '', XTABLES_LOCKFILE: lock },
        timeoutMs: 30_000,
      });
      assert.is(r.code, 4, r.stderr);
      assert.is(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr, /--lock-timeout/);
      assert.not.match(r.stderr, /lockTimeoutMs/);
      assert.is(r.stderr.split('another program').length, 2, `said once: ${r.stderr}`);
    } finally {
      holder.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test('the reader of stdout going away is an ordinary end: exit 0, nothing on stderr', () =>
  withNetns(async (ns) => {
    // More than a pipe holds (64 KiB): the writes outlast the reader.
    const comment = 'x'.repeat(200);
    await ns.run('sh', ['-c', `for i in $(seq 400); do echo "-A INPUT -m comment --comment \\"$i ${comment}\\" -j ACCEPT"; done | (echo '*filter'; cat; echo COMMIT) | iptables-legacy-restore --noflush`]);
    // `connlimit save | head -c 1`: the reader takes one byte and leaves.
    const r = spawnSync('bash', ['-c', `set -o pipefail; '${process.execPath}' --import tsx '${cliMain}' save --backend legacy --netns ${ns.name} | head -c 1 >/dev/null; echo "exit=$?"`], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: 30_000,
    });
    assert.is(r.stderr, '');
    assert.match(r.stdout, /exit=0/);
  }));

test.run();
