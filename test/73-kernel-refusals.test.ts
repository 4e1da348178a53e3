// SPDX-License-Identifier: GPL-2.0-or-later
// Reliability: every refusal the legacy path can meet, provoked for real in a throwaway
// namespace, comes back as its typed error with a message that says what to do, and leaves
// the table as it was (iptables-legacy-save before == after). Privilege cases run a child
// under setpriv: root without CAP_NET_ADMIN, and an unprivileged uid holding only
// CAP_NET_ADMIN + CAP_NET_RAW (which is enough inside the namespace, not for entering it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall } from '../src/index';
import { rejects } from './helpers/assert';
import { iptablesOracle, type Refusal as Err } from './helpers/iptables-oracle';
import { execResult, withNetns } from './helpers/netns';

const { save, refused, refusesWhatIsMissing, refusesDeletingNonEmptyChain } = iptablesOracle('legacy');

test('ENOENT: a missing chain, a missing rule, a position past the end; in a transaction, nothing applied', () =>
  withNetns((ns) => refusesWhatIsMissing(ns)));

test('EEXIST: creating or renaming onto an existing chain', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    await fw.createChain('A');
    await fw.createChain('B');
    await refused(ns, () => fw.createChain('A'), 'ERR_CONNLIMIT_EXISTS', 'EEXIST', /already exists/);
    await refused(ns, () => fw.renameChain('A', 'B'), 'ERR_CONNLIMIT_EXISTS', 'EEXIST', /already exists/);
    await fw.close();
  }));

test('EMLINK and ENOTEMPTY: deleting a referenced or a non-empty chain', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    await fw.createChain('REF');
    await fw.append('INPUT', '-j REF');
    const e = await refused(ns, () => fw.deleteChain('REF'), 'ERR_CONNLIMIT_IN_USE', 'EMLINK', /still referenced/);
    assert.match(e.hint ?? '', /delete the rules that jump to it/);
    // libiptc's own words for the op and errno (alone, its strerror said 'Too many links': the
    // call asks iptc_get_references first, which its lookup took for the failing one).
    assert.match(e.message, /^iptc_delete_chain \(REF: Can't delete chain with references left\): /);
    await refusesDeletingNonEmptyChain(ns, fw);
    await fw.close();
  }));

test('ELOOP: a chain that reaches itself, directly, through another chain, or by goto', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    await fw.transaction((tx) => {
      tx.createChain('A');
      tx.createChain('B');
      tx.append('INPUT', '-j A');
      tx.append('A', '-j B');
    });
    for (const [chain, rule] of [['B', '-j A'], ['A', '-j A'], ['B', '-g A']] as const) {
      const e = await refused(ns, () => fw.append(chain, rule), 'ERR_CONNLIMIT_KERNEL', 'ELOOP', /loop/);
      assert.match(e.hint ?? '', /remove the jump that closes the loop/);
    }
    await fw.close();
  }));

test('EINVAL: a match whose data size the kernel does not expect; REJECT outside the filter table is caught before', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const e = await refused(
      ns,
      () => fw.append('INPUT', { matches: [{ kind: 'opaque', name: 'tcp', revision: 0, data: new Uint8Array(8) }], target: { kind: 'drop' } }),
      'ERR_CONNLIMIT_KERNEL',
      'EINVAL',
      /refused a match or target/,
    );
    assert.match(e.hint ?? '', /dmesg/);
    // REJECT with ECHOREPLY (reject_tg_check refuses it), as opaque bytes.
    await refused(ns, () => fw.append('INPUT', { target: { kind: 'opaque', name: 'REJECT', revision: 0, data: new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0]) } }), 'ERR_CONNLIMIT_KERNEL', 'EINVAL', /checkentry/);
    await fw.close();
    // ipt_REJECT is declared for the filter table only; the kernel says EINVAL elsewhere. We say it first.
    for (const table of ['nat', 'mangle', 'raw'] as const) {
      const t = await Firewall.open({ backend: 'legacy', netns: ns.name, table });
      const before = await save(ns, 'ipv4', table);
      const v = (await rejects(t.append('OUTPUT', '-p tcp -j REJECT'), 'ERR_CONNLIMIT_INVALID')) as Err & { path?: string };
      assert.is(v.path, 'rule.target');
      assert.is(await save(ns, 'ipv4', table), before);
      // And the same rule with DROP is what the kernel takes there.
      if (table !== 'nat') await t.append('OUTPUT', '-p tcp -j DROP');
      await t.close();
    }
  }));

test('ENOENT and EPROTOTYPE for extensions: the kernel lacks the module, or that revision', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    await refused(
      ns,
      () => fw.append('INPUT', { target: { kind: 'opaque', name: 'NOSUCHTG', revision: 0, data: new Uint8Array(8) } }),
      'ERR_CONNLIMIT_UNSUPPORTED',
      'ENOENT',
      /modprobe xt_NOSUCHTG/,
    );
    await refused(
      ns,
      () => fw.append('INPUT', { matches: [{ kind: 'opaque', name: 'mark', revision: 9, data: new Uint8Array(16) }], target: { kind: 'drop' } }),
      'ERR_CONNLIMIT_UNSUPPORTED',
      'EPROTOTYPE',
      /not in the revision asked for/,
    );
    await fw.close();
  }));

test('EAGAIN/EWOULDBLOCK on the xtables lock: ERR_CONNLIMIT_BUSY with the lock path; a bad lockPath says so', () =>
  withNetns(async (ns) => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-lock-'));
    try {
      const lockPath = join(dir, 'xtables.lock');
      const holder = spawn('flock', [lockPath, 'sleep', '30'], { stdio: 'ignore' });
      // Wait until flock really holds it: a non-blocking flock of our own fails.
      for (let i = 0; i < 200; i++) {
        const probe = await execResult('flock', ['-n', lockPath, 'true']);
        if (probe.code !== 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      try {
        const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath, lockTimeoutMs: 100 });
        const e = await refused(ns, () => fw.append('INPUT', '-j DROP'), 'ERR_CONNLIMIT_BUSY', 'EAGAIN', /xtables lock/);
        assert.match(e.message, new RegExp(lockPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
        assert.match(e.hint ?? '', /lockTimeoutMs/);
        // Reading needs no lock (as iptables-legacy-save): it still works.
        assert.is((await fw.list()).length, 0);
        await fw.close();
      } finally {
        holder.kill('SIGKILL');
      }
      const bad = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath: join(dir, 'missing', 'x.lock') });
      const e = await refused(ns, () => bad.append('INPUT', '-j DROP'), 'ERR_CONNLIMIT_KERNEL', 'ENOENT', /xtables lock file/);
      assert.match(e.hint ?? '', /lockPath/);
      await bad.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test('EAGAIN from a stale commit (a writer that ignores our lock): retried from a fresh read, nothing lost', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    // A big table makes each commit long, so the lockless writer lands inside our read-commit window.
    await fw.transaction((tx) => {
      for (let i = 0; i < 2000; i++) tx.append('FORWARD', `-s 10.9.${i >> 8}.${i & 255} -j DROP`);
    });
    const rogue = ns.exec('sh', ['-c', 'for i in $(seq 1 150); do XTABLES_LOCKFILE=/tmp/cl-rogue-$$.lock iptables-legacy -w -A OUTPUT -m comment --comment rogue-$i -j ACCEPT || echo FAIL $i; done'], { timeoutMs: 50_000 });
    const ours: Promise<string>[] = [];
    for (let i = 0; i < 60; i++) {
      const rule = `-p tcp --dport ${1000 + i} -m comment --comment ours-${i} -j ACCEPT`;
      ours.push(
        fw.append('INPUT', rule).then(
          () => 'ok',
          (e: { code?: string; errno?: string }) => (e.code === 'ERR_CONNLIMIT_KERNEL' && e.errno !== 'EINVAL' ? `${e.code} ${e.errno}` : (e.code ?? 'error')),
        ),
      );
    }
    const outcomes = await Promise.all(ours);
    const r = await rogue;
    const text = await save(ns);
    // A commit that stayed stale through every retry is ERR_CONNLIMIT_BUSY and applied nothing.
    // A lockless commit landing between the kernel's table replace and its counter update makes
    // libiptc's commit fail (EINVAL) after our table went in (iptables-legacy says 'Invalid
    // argument' in the same race); the library then reads the table again and finds its chains
    // as it left them, so the call is ok, and a group is not committed a second time one by one
    // (which doubled its rules: seen once in a full run). Nothing lost, nothing doubled.
    for (let i = 0; i < 60; i++) {
      const n = text.split(`--comment ours-${i} `).length - 1;
      if (outcomes[i] === 'ok') assert.is(n, 1, `ours-${i}`);
      else {
        assert.is(outcomes[i], 'ERR_CONNLIMIT_BUSY', `ours-${i}`);
        assert.is(n, 0, `ours-${i}`);
      }
    }
    assert.ok(outcomes.filter((o) => o === 'ok').length >= 30, `only ${outcomes.filter((o) => o === 'ok').length} of 60 committed`);
    // Each rogue append that said it succeeded is there once (it reports its own failures as FAIL).
    const failed = new Set((r.stdout.match(/FAIL \d+/g) ?? []).map((s) => s.slice(5)));
    for (let i = 1; i <= 150; i++) {
      const n = text.split(`--comment rogue-${i} `).length - 1;
      // Its 'Invalid argument' failures are the same race as ours above: maybe applied.
      if (failed.has(String(i))) assert.ok(n <= 1, `rogue-${i} x${n}`);
      else assert.is(n, 1, `rogue-${i}`);
    }
    await fw.close();
  }));

test('a lockless write between the table replace and its counter step: the calls are ok, nothing doubled (alone and grouped)', () =>
  withNetns(async (ns) => {
    // The race test above meets this by chance (once in a full run, before the fix: a group's
    // commit reported failed after its table went in, then its calls committed again one by one,
    // each rule twice). Here a preloaded shim makes it happen on every commit.
    const dir = mkdtempSync(join(tmpdir(), 'cl-between-'));
    try {
      const shim = join(dir, 'between.so');
      const built = await execResult('cc', ['-shared', '-fPIC', '-o', shim, join(__dirname, 'fixtures', 'lockless-between-commit.c'), '-ldl']);
      assert.is(built.code, 0, built.stderr);
      const rogue = `env -u LD_PRELOAD XTABLES_LOCKFILE=${join(dir, 'rogue.lock')} iptables-legacy -w -A OUTPUT -m comment --comment rogue -j ACCEPT`;
      const code = `
        const { Firewall } = require(${JSON.stringify(join(__dirname, '..', 'src', 'index.ts'))});
        (async () => {
          const fw = await Firewall.open({ backend: 'legacy', netns: ${JSON.stringify(ns.name)}, lockPath: ${JSON.stringify(join(dir, 'ours.lock'))} });
          const settle = (p) => p.then(() => 'ok', (e) => e.code + ' ' + e.errno);
          const alone = await settle(fw.append('INPUT', '-m comment --comment alone -j ACCEPT'));
          const group = await Promise.all(Array.from({ length: 8 }, (_, i) => settle(fw.append('INPUT', '-m comment --comment grouped-' + i + ' -j ACCEPT'))));
          console.log(JSON.stringify({ alone, group }));
          await fw.close();
        })();`;
      const r = await execResult(process.execPath, ['--import', 'tsx', '-e', code], {
        env: { ...process.env, NODE_OPTIONS: '', LD_PRELOAD: [process.env.LD_PRELOAD, shim].filter(Boolean).join(':'), CONNLIMIT_TEST_BETWEEN_COMMIT: rogue, TSX_TSCONFIG_PATH: join(__dirname, '..', 'tsconfig.json') },
      });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      assert.ok(line.startsWith('{'), `child said: ${r.stdout} ${r.stderr}`);
      const { alone, group } = JSON.parse(line) as { alone: string; group: string[] };
      assert.is(alone, 'ok');
      assert.equal(group, Array(8).fill('ok'));
      const text = await save(ns);
      for (const c of ['alone', ...group.map((_, i) => `grouped-${i}`)]) assert.is(text.split(`--comment ${c} `).length - 1, 1, c);
      // Every commit met the lockless write once: it is there, and counted the commits.
      const rogues = text.split('--comment rogue ').length - 1;
      assert.ok(rogues >= 2 && rogues <= 9, `${rogues} lockless writes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

/** Runs a child that opens the table and appends, under setpriv options; returns its JSON verdict. */
async function child(prefix: string[], options: object): Promise<Err & { n?: number }> {
  const code = `
    const { Firewall } = require(${JSON.stringify(join(__dirname, '..', 'src', 'index.ts'))});
    (async () => {
      try {
        const fw = await Firewall.open(${JSON.stringify({ backend: 'legacy', ...options })});
        await fw.append('INPUT', '-p tcp --dport 5 -m connlimit --connlimit-above 2 -j REJECT');
        console.log(JSON.stringify({ code: 'ok', n: (await fw.list('INPUT')).length }));
        await fw.close();
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, errno: e.errno, message: e.message, hint: e.hint }));
      }
    })();`;
  const [cmd, ...args] = [...prefix, process.execPath, '--import', 'tsx', '-e', code];
  const r = await execResult(cmd as string, args, { env: { ...process.env, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: join(__dirname, '..', 'tsconfig.json') } });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `child said: ${r.stdout} ${r.stderr}`);
  return JSON.parse(line);
}

test('EPERM: root without CAP_NET_ADMIN is refused; a plain uid with only CAP_NET_ADMIN + CAP_NET_RAW works inside the namespace, and is told why it cannot enter one', () =>
  withNetns(async (ns) => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-caps-'));
    chmodSync(dir, 0o777);
    try {
      const lockPath = join(dir, 'xtables.lock');
      const before = await save(ns);
      const noAdmin = await child(['ip', 'netns', 'exec', ns.name, 'setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin'], { lockPath });
      assert.is(noAdmin.code, 'ERR_CONNLIMIT_PERMISSION');
      assert.is(noAdmin.errno, 'EPERM');
      assert.match(noAdmin.message, /CAP_NET_ADMIN/);
      const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
      const noRaw = await child(['ip', 'netns', 'exec', ns.name, 'setpriv', ...nobody, '--inh-caps=+net_admin', '--ambient-caps=+net_admin'], { lockPath });
      assert.is(noRaw.code, 'ERR_CONNLIMIT_PERMISSION');
      assert.match(noRaw.message, /CAP_NET_RAW/);
      assert.is(await save(ns), before, 'a refused caller changed the table');
      const caps = ['--inh-caps=+net_admin,+net_raw', '--ambient-caps=+net_admin,+net_raw'];
      const entering = await child(['setpriv', ...nobody, ...caps], { lockPath, netns: ns.name });
      assert.is(entering.code, 'ERR_CONNLIMIT_PERMISSION');
      assert.match(entering.hint ?? '', /CAP_SYS_ADMIN.*ip netns exec/);
      assert.is(await save(ns), before);
      const inside = await child(['ip', 'netns', 'exec', ns.name, 'setpriv', ...nobody, ...caps], { lockPath });
      assert.equal(inside, { code: 'ok', n: 1 });
      assert.match(await save(ns), /--dport 5 .*--connlimit-above 2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test.run();
