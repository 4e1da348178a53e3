// SPDX-License-Identifier: GPL-2.0-or-later
// Real TCP inside a test namespace: a Node child started with
// `ip netns exec <ns> node scripts/lib/tcp-peer.cjs` runs listeners and opens client
// connections from chosen source addresses; this file is its typed driver.
// Protocol: see scripts/lib/tcp-peer.cjs.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Netns } from './netns';

/**
 * How a connection attempt ended.
 * - `ok`: handshake completed; the connection stays open until closed.
 * - `refused`: ECONNREFUSED: RST (REJECT --reject-with tcp-reset, or no listener)
 *   or ICMP port-unreachable (plain REJECT).
 * - `timeout`: no answer within `timeoutMs` (DROP).
 * - `reset`: ECONNRESET during the handshake.
 * - `error`: anything else; `code` says what (EACCES for icmp6-adm-prohibited,
 *   EHOSTUNREACH for icmp-host-*, EPERM for a local OUTPUT DROP, ...).
 *
 * Measured on 6.18 loopback: an IPv6 plain REJECT (icmp6-port-unreachable)
 * refuses only after the first SYN retransmit, ~1 s (the first ICMPv6 error
 * lands while connect() holds the socket and is kept as a soft error), so with
 * the 300 ms default it reads `timeout`. IPv4 icmp-port-unreachable and
 * tcp-reset (both families) refuse at once. Use tcp-reset in IPv6 tests, or
 * `timeoutMs: 2000`.
 */
export type ConnectResult = 'ok' | 'refused' | 'timeout' | 'reset' | 'error';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Source address to bind, e.g. `127.0.1.10` or `::1`. Any 127.x.y.z works without adding it. */
  localAddress?: string;
  localPort?: number;
  /** How long to wait for the handshake. Default 300 ms (a DROP gives `timeout`). */
  timeoutMs?: number;
}

export interface ConnectOutcome {
  result: ConnectResult;
  /** Set when `result === 'ok'`; pass to {@link Peer.closeClient}. */
  id?: number;
  /** errno name when the attempt failed. */
  code?: string;
  localAddress?: string;
  localPort?: number;
}

export interface PeerStats {
  /** Open client connections made by {@link Peer.connect}. */
  clients: number;
  /** Open server-side (accepted) sockets. */
  accepted: number;
  listeners: number;
}

export interface Peer {
  /** PID of the child (inside the namespace). */
  readonly pid: number;
  /** Listens on `host:port` (port 0 picks one) inside the namespace. Accepted sockets stay open. */
  listen(port: number, host: string): Promise<{ id: number; port: number; address: string }>;
  closeListener(id: number): Promise<void>;
  /** One connection attempt. Never rejects for a network outcome, only for protocol failures. */
  connect(opts: ConnectOptions): Promise<ConnectOutcome>;
  /** `n` attempts one after another; returns their results, e.g. `['ok', 'ok', 'refused']`. */
  connectMany(n: number, opts: ConnectOptions): Promise<ConnectOutcome[]>;
  /** Closes one client connection: FIN (client ends in TIME_WAIT), or RST with `{ reset: true }`. */
  closeClient(id: number, opts?: { reset?: boolean }): Promise<void>;
  /** Closes every client connection and every accepted socket; listeners stay. */
  closeAll(): Promise<void>;
  stats(): Promise<PeerStats>;
  /** Asks the child to exit and waits for it (kills it after 2 s). Idempotent. */
  exit(): Promise<void>;
}

export interface StartPeerOptions {
  /** Added to each request's own wait to bound every call. Default 5000 ms. */
  requestTimeoutMs?: number;
}

const CHILD_SCRIPT = resolve(__dirname, '..', '..', 'scripts', 'lib', 'tcp-peer.cjs');

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Starts the peer child inside `netns`.
 * @example
 * const peer = await startPeer(ns);
 * await peer.listen(7001, '127.0.0.1');
 * const r = await peer.connect({ host: '127.0.0.1', port: 7001, localAddress: '127.0.1.10' });
 */
export async function startPeer(netns: Netns | string, opts: StartPeerOptions = {}): Promise<Peer> {
  const nsName = typeof netns === 'string' ? netns : netns.name;
  const slack = opts.requestTimeoutMs ?? 5_000;
  const child: ChildProcessWithoutNullStreams = spawn(
    'ip',
    ['netns', 'exec', nsName, process.execPath, CHILD_SCRIPT],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let stderrTail = '';
  let exitInfo: string | null = null;
  let onReady!: (pid: number) => void;
  let onReadyFail!: (e: Error) => void;
  const ready = new Promise<number>((res, rej) => {
    onReady = res;
    onReadyFail = rej;
  });

  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderrTail = (stderrTail + d).slice(-4000);
  });
  child.stdin.on('error', () => undefined); // EPIPE after the child died; surfaced via 'exit'

  const exited = new Promise<void>((res) => {
    child.once('error', (err) => {
      exitInfo = `spawn failed: ${err.message}`;
      failAll();
      res();
    });
    child.once('exit', (code, signal) => {
      exitInfo = `peer child exited (code ${code}, signal ${signal})${stderrTail ? `: ${stderrTail.trim()}` : ''}`;
      failAll();
      res();
    });
  });

  function failAll(): void {
    const err = new Error(exitInfo ?? 'peer child gone');
    onReadyFail(err);
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
  }

  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      stderrTail = (stderrTail + `\n[stdout] ${line}`).slice(-4000);
      return;
    }
    if (msg.event === 'ready') {
      onReady(Number(msg.pid));
      return;
    }
    const p = pending.get(Number(msg.id));
    if (!p) return;
    pending.delete(Number(msg.id));
    clearTimeout(p.timer);
    if (msg.ok === true) p.resolve(msg);
    else p.reject(Object.assign(new Error(`peer: ${String(msg.error)}`), { code: msg.code }));
  });

  // Don't let a forgotten peer keep the test process alive; pending requests
  // hold their own timers, which keep the loop running while we wait.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) {
    (s as unknown as { unref?: () => void }).unref?.();
  }

  const readyTimer = setTimeout(() => onReadyFail(new Error(`peer child not ready after 10 s: ${stderrTail.trim()}`)), 10_000);
  let pid: number;
  try {
    pid = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(readyTimer);
  }

  function request(op: string, params: Record<string, unknown> = {}, waitMs = 0): Promise<Record<string, unknown>> {
    if (exitInfo !== null) return Promise.reject(new Error(exitInfo));
    const id = nextId++;
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        // A child that stops answering is a bug; kill it so nothing hangs.
        child.kill('SIGKILL');
        rej(new Error(`peer: '${op}' got no reply within ${waitMs + slack} ms`));
      }, waitMs + slack);
      pending.set(id, { resolve: res, reject: rej, timer });
      child.stdin.write(JSON.stringify({ id, op, ...params }) + '\n');
    });
  }

  const toOutcome = (r: Record<string, unknown>): ConnectOutcome => {
    const out: ConnectOutcome = { result: r.result as ConnectResult };
    if (typeof r.clientId === 'number') out.id = r.clientId;
    if (typeof r.code === 'string') out.code = r.code;
    if (typeof r.localAddress === 'string') out.localAddress = r.localAddress;
    if (typeof r.localPort === 'number') out.localPort = r.localPort;
    return out;
  };

  let exiting: Promise<void> | null = null;
  const peer: Peer = {
    pid,
    async listen(port, host) {
      const r = await request('listen', { port, host });
      return { id: Number(r.listenerId), port: Number(r.port), address: String(r.address) };
    },
    async closeListener(id) {
      await request('closeListener', { listenerId: id });
    },
    async connect(o) {
      const timeoutMs = o.timeoutMs ?? 300;
      return toOutcome(await request('connect', { ...o, timeoutMs }, timeoutMs));
    },
    async connectMany(n, o) {
      const out: ConnectOutcome[] = [];
      for (let i = 0; i < n; i++) out.push(await peer.connect(o));
      return out;
    },
    async closeClient(id, o = {}) {
      await request('closeClient', { clientId: id, reset: Boolean(o.reset) }, 1_000);
    },
    async closeAll() {
      await request('closeAll', {}, 1_000);
    },
    async stats() {
      const r = await request('stats');
      return { clients: Number(r.clients), accepted: Number(r.accepted), listeners: Number(r.listeners) };
    },
    exit() {
      exiting ??= (async () => {
        if (exitInfo === null) {
          await request('exit').catch(() => undefined);
          child.stdin.end();
        }
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(killTimer);
      })();
      return exiting;
    },
  };
  return peer;
}
