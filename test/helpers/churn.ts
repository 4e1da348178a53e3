// SPDX-License-Identifier: GPL-2.0-or-later
// Concurrent writers on one table, per backend (test/71-concurrency, short;
// scripts/stress-concurrency.mjs [--backend nft], long). Every actor appends and deletes its own uniquely-commented rules in a seeded order and
// knows which of them must remain; at the end each must be in the table exactly once, nothing it
// deleted may be, and the rules nobody touched must be byte-identical.
//
// Actors: async callers in this process (separate Firewall handles), worker_threads and child
// processes loading the library, and shell loops of `iptables-legacy -w` (legacy) or
// `iptables-nft` (nft) — all on one namespace. Legacy writers serialize on one private xtables
// lock file (lockPath for the library, XTABLES_LOCKFILE for the CLI); nft writers take no lock at
// all: each commit is one batch the kernel checks against the generation id it was built from,
// so a writer that lost the race gets ERESTART and must re-read and redo (the library retries,
// bounded; iptables-nft does the same). That retry path is what the nft form exercises.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Firewall, type Backend } from '../../src/index';
import { rng } from './fuzz-gen';
import type { Netns } from './netns';

export interface ChurnPlan {
  actor: string;
  ops: number;
  seed: number;
  /** Default 'legacy'. Part of the plan so that it travels to Workers and children as JSON. */
  backend?: Backend;
}

/** One planned step: append rule `n`, or delete rule `n` appended earlier. */
export interface Step {
  kind: 'append' | 'delete';
  n: number;
}

/** The seeded steps of one actor and the rule numbers that remain after them. */
export function plan(p: ChurnPlan): { steps: Step[]; remaining: number[] } {
  const r = rng(p.seed);
  const live: number[] = [];
  const steps: Step[] = [];
  for (let i = 0; i < p.ops; i++) {
    if (live.length > 0 && r() < 0.4) {
      const [n] = live.splice(Math.floor(r() * live.length), 1);
      steps.push({ kind: 'delete', n: n as number });
    } else {
      steps.push({ kind: 'append', n: i });
      live.push(i);
    }
  }
  return { steps, remaining: live.sort((a, b) => a - b) };
}

/** The rule of actor `actor` number `n`, as arguments (the library takes them joined). */
export function ruleArgs(actor: string, n: number): string[] {
  const args = ['-p', 'tcp', '--dport', String(1 + (n % 60000)), '-m', 'comment', '--comment', `${actor}-${n}`, '-j', 'ACCEPT'];
  if (n % 3 === 0) args.splice(4, 0, '-m', 'connlimit', '--connlimit-above', String(1 + (n % 50)));
  return args;
}

export interface ActorResult {
  actor: string;
  ops: number;
  failures: string[];
}

/** Runs one actor's plan through the library (used in this process, in Workers, in children). */
export async function churnWithLibrary(p: ChurnPlan, netns: string, lockPath: string, fw?: Firewall): Promise<ActorResult> {
  const own = fw ?? (await Firewall.open({ netns, lockPath, lockTimeoutMs: 120_000, backend: p.backend ?? 'legacy' }));
  const failures: string[] = [];
  for (const s of plan(p).steps) {
    const rule = ruleArgs(p.actor, s.n).join(' ');
    try {
      if (s.kind === 'append') await own.append('INPUT', rule);
      else await own.delete('INPUT', rule);
    } catch (e) {
      failures.push(`${p.actor} ${s.kind} ${s.n}: ${(e as { code?: string }).code} ${(e as Error).message}`);
    }
  }
  if (!fw) await own.close();
  return { actor: p.actor, ops: p.ops, failures };
}

const INDEX = join(__dirname, '..', '..', 'src', 'index.ts');
const SELF = join(__dirname, 'churn.ts');

function inWorker(p: ChurnPlan, netns: string, lockPath: string): Promise<ActorResult> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    require('tsx/cjs');
    const { churnWithLibrary } = require(workerData.self);
    churnWithLibrary(workerData.plan, workerData.netns, workerData.lockPath).then((r) => parentPort.postMessage(r));
  `;
  const w = new Worker(source, { eval: true, workerData: { self: SELF, index: INDEX, plan: p, netns, lockPath } });
  return new Promise((resolve, reject) => {
    w.once('message', (m: ActorResult) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker ${p.actor} exited ${code} without a result`)));
  });
}

function inChild(p: ChurnPlan, netns: string, lockPath: string): Promise<ActorResult> {
  const code = `require(${JSON.stringify(SELF)}).churnWithLibrary(${JSON.stringify(p)}, ${JSON.stringify(netns)}, ${JSON.stringify(lockPath)}).then((r) => console.log(JSON.stringify(r)))`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (status) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (status === 0 && line.startsWith('{')) resolve(JSON.parse(line));
      else reject(new Error(`child ${p.actor} exited ${status}: ${out} ${err}`));
    });
  });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A shell loop of iptables-legacy -w (or iptables-nft) inside the namespace, one process for the whole plan. */
async function inCli(p: ChurnPlan, ns: Netns, lockPath: string): Promise<ActorResult> {
  const cmd = p.backend === 'nft' ? 'iptables-nft' : 'iptables-legacy -w';
  const lines = plan(p).steps.map((s) => `${cmd} ${s.kind === 'append' ? '-A' : '-D'} INPUT ${ruleArgs(p.actor, s.n).map(shellQuote).join(' ')} || echo "FAIL ${s.kind} ${s.n} rc=$?"`);
  // The script goes in on stdin: as one -c argument it passes MAX_ARG_STRLEN (128 KiB) at 1,000 steps.
  const r = await ns.exec('sh', ['-s'], { input: `${lines.join('\n')}\n`, env: { ...process.env, XTABLES_LOCKFILE: lockPath }, timeoutMs: 600_000 });
  const failures = (r.stdout.match(/^FAIL .*$/gm) ?? []).map((l) => `${p.actor} ${l}`);
  if (r.code !== 0 && failures.length === 0 && r.stdout.includes('FAIL')) failures.push(`${p.actor}: sh exited ${r.code}`);
  if (r.stderr.trim()) failures.push(`${p.actor} stderr: ${r.stderr.trim().slice(0, 500)}`);
  return { actor: p.actor, ops: p.ops, failures };
}

export interface StressReport {
  ops: number;
  ms: number;
  opsPerSecond: number;
  finalRules: number;
  failures: string[];
  /** Rule comments expected exactly once but found n times (n != 1). */
  wrongCounts: string[];
  /** Rules present that no actor should have left. */
  strays: string[];
  untouchedChanged: boolean;
  perActor: Record<string, number>;
  /** When each actor finished its ops, in ms from the start: the slowest bounds opsPerSecond. */
  doneMs: Record<string, number>;
}

/** `iptables-{legacy,nft}-save -t filter` without timestamps and counters. */
export async function save(ns: Netns, backend: Backend = 'legacy'): Promise<string> {
  const r = await ns.run(backend === 'nft' ? 'iptables-nft-save' : 'iptables-legacy-save', ['-t', 'filter']);
  return r.stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n').replace(/\[\d+:\d+\]/g, '[0:0]');
}

/**
 * 4 async callers, 2 Workers, 2 child processes and 2 CLI loops, `totalOps` operations in all,
 * on `ns` with one private lock file. Returns what was found; the caller asserts. Without
 * `cliLoops` two more async callers take the CLI loops' place (still 10 writers): each CLI op
 * forks a process that replaces the whole table under the lock, which bounds everyone's ops/s.
 */
export async function stress(ns: Netns, totalOps: number, lockPath: string, seed = 71, backend: Backend = 'legacy', cliLoops = true): Promise<StressReport> {
  // Rules nobody touches: in another chain, and in INPUT before everyone's.
  const setup = await Firewall.open({ netns: ns.name, lockPath, backend });
  await setup.transaction((tx) => {
    tx.createChain('UNTOUCHED');
    for (let i = 0; i < 20; i++) tx.append('UNTOUCHED', `-s 10.7.0.${i} -p tcp --dport ${i + 1} -m connlimit --connlimit-above ${i} -j DROP`);
    tx.append('INPUT', '-m comment --comment sentinel-first -j UNTOUCHED');
    tx.append('FORWARD', '-m comment --comment sentinel-forward -j DROP');
  });
  await setup.close();
  const untouched = (await save(ns, backend)).split('\n').filter((l) => !l.startsWith('-A INPUT') || l.includes('sentinel'));

  const kinds = ['async', 'async', 'async', 'async', 'worker', 'worker', 'child', 'child', ...(cliLoops ? ['cli', 'cli'] : ['async', 'async'])];
  const per = Math.floor(totalOps / kinds.length);
  const plans = kinds.map((k, i) => ({ kind: k, p: { actor: `${k}${i}`, ops: per, seed: seed * 100 + i, backend } }));
  const t0 = Date.now();
  const doneMs: Record<string, number> = {};
  const results = await Promise.all(
    plans.map(async ({ kind, p }) => {
      let r: ActorResult;
      if (kind === 'async') r = await churnWithLibrary(p, ns.name, lockPath);
      else if (kind === 'worker') r = await inWorker(p, ns.name, lockPath);
      else if (kind === 'child') r = await inChild(p, ns.name, lockPath);
      else r = await inCli(p, ns, lockPath);
      doneMs[p.actor] = Date.now() - t0;
      return r;
    }),
  );
  const ms = Date.now() - t0;

  const text = await save(ns, backend);
  const lines = text.split('\n');
  const comments = new Map<string, number>();
  for (const l of lines) {
    const m = /--comment (\S+)/.exec(l);
    if (m && l.startsWith('-A INPUT')) comments.set(m[1] as string, (comments.get(m[1] as string) ?? 0) + 1);
  }
  const wrongCounts: string[] = [];
  const expected = new Set<string>(['sentinel-first']);
  for (const { p } of plans) {
    for (const n of plan(p).remaining) {
      const c = `${p.actor}-${n}`;
      expected.add(c);
      if (comments.get(c) !== 1) wrongCounts.push(`${c} x${comments.get(c) ?? 0}`);
    }
  }
  const strays = [...comments.keys()].filter((c) => !expected.has(c));
  const untouchedNow = lines.filter((l) => !l.startsWith('-A INPUT') || l.includes('sentinel'));
  return {
    ops: per * kinds.length,
    ms,
    opsPerSecond: Math.round((per * kinds.length * 1000) / ms),
    finalRules: lines.filter((l) => l.startsWith('-A INPUT')).length,
    failures: results.flatMap((r) => r.failures),
    wrongCounts,
    strays,
    untouchedChanged: untouchedNow.join('\n') !== untouched.join('\n'),
    perActor: Object.fromEntries(results.map((r) => [r.actor, r.ops])),
    doneMs,
  };
}
