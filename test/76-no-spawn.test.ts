// SPDX-License-Identifier: GPL-2.0-or-later
// Security: the library never starts a process. Under strace -f, a process that goes through
// every operation (and the kernel refusals), with the default backend and with legacy, makes
// exactly one execve (its own start) and only
// thread clones (CLONE_THREAD), never a fork. And no source file could: src/ imports no
// child_process, native/ calls no exec*/fork/system/popen/posix_spawn.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemIptablesBackend } from '../src/backend-detect';
import { bundleEnv, bundleLibrary } from './helpers/bundle';
import { execResult, withNetns } from './helpers/netns';

const ROOT = join(__dirname, '..');

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(f) ? [p] : [];
  });
}

test('no source file can start a process', () => {
  for (const f of files(join(ROOT, 'src'), /\.ts$/)) {
    assert.not.match(readFileSync(f, 'utf8'), /child_process|worker_threads|process\.binding|\bspawn\(|\bexecFile\(/, f);
  }
  for (const f of files(join(ROOT, 'native'), /\.(cc|h)$/)) {
    assert.not.match(readFileSync(f, 'utf8'), /\b(fork|vfork|execv|execvp|execve|execl|execlp|system|popen|posix_spawn|posix_spawnp)\s*\(/, f);
  }
});

test('under strace -f: one execve (its own), thread clones only, through every operation', () =>
  withNetns(async (ns) => {
    const bundle = bundleLibrary();
    const trace = join(dirname(bundle), 'trace');
    try {
      const code = `
        const { Firewall } = require(${JSON.stringify(bundle)});
        (async () => {
          // The default first, while the namespace is empty: 'auto' finds the system's iptables
          // by walking PATH, never by running it. Then legacy, named.
          for (const [family, backend] of [['ipv4'], ['ipv6'], ['ipv4', 'legacy'], ['ipv6', 'legacy']]) {
            const fw = await Firewall.open({ netns: ${JSON.stringify(ns.name)}, family, ...(backend ? { backend } : {}), lockPath: ${JSON.stringify(join(dirname(bundle), 'lock'))} });
            console.log(fw.backend);
            await fw.createChain('L');
            await fw.append('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -m comment --comment "a;b \`id\` $(id)" -j REJECT');
            await fw.insert('INPUT', 1, '-j L');
            await fw.replace('INPUT', 1, '-j L');
            await fw.ensure('INPUT', '-p udp --dport 53 -j ACCEPT');
            await fw.check('INPUT', '-p udp --dport 53 -j ACCEPT');
            await fw.list(); await fw.save(); await fw.zero(); await fw.setPolicy('FORWARD', 'DROP');
            for (const bad of [() => fw.append('NOPE', '-j DROP'), () => fw.append('L', '-j L'), () => fw.append('INPUT', { target: { kind: 'opaque', name: 'NOSUCH', revision: 0, data: new Uint8Array(8) } })]) await bad().catch(() => {});
            await fw.delete('INPUT', 1); await fw.flush(); await fw.renameChain('L', 'M'); await fw.deleteChain('M');
            await fw.close();
          }
          console.log('done');
        })();`;
      const r = await execResult('strace', ['-f', '-qq', '-o', trace, '-e', 'trace=execve,execveat,fork,vfork,clone,clone3', process.execPath, '-e', code], { env: bundleEnv() });
      const picked = systemIptablesBackend() ?? 'nft';
      assert.is(r.stdout.trim(), [picked, picked, 'legacy', 'legacy', 'done'].join('\n'), r.stderr);
      const lines = readFileSync(trace, 'utf8').split('\n').filter((l) => /\b(execve|execveat|fork|vfork|clone|clone3)\(/.test(l));
      const execs = lines.filter((l) => /\bexecve(at)?\(/.test(l));
      assert.is(execs.length, 1, execs.join('\n'));
      const forks = lines.filter((l) => /\b(fork|vfork)\(/.test(l) || (/\bclone3?\(/.test(l) && !/CLONE_THREAD/.test(l)));
      assert.equal(forks, [], 'a process was started');
      assert.ok(lines.some((l) => /CLONE_THREAD/.test(l)), 'strace saw the thread clones (the trace works)');
    } finally {
      rmSync(dirname(bundle), { recursive: true, force: true });
    }
  }));

test.run();
