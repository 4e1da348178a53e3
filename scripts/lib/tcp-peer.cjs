// SPDX-License-Identifier: GPL-2.0-or-later
// TCP peer that runs INSIDE a test network namespace (started by test/helpers/tcp.ts and scripts/demo.mjs
// as `ip netns exec <ns> node tcp-peer.cjs`): a JS process cannot switch
// namespace, so the test drives this child over a line-based JSON protocol.
//
// stdin:  one JSON request per line: {"id": 1, "op": "connect", ...}
// stdout: one JSON line per reply:    {"id": 1, "ok": true, ...} | {"id": 1, "ok": false, "error": "...", "code": "EADDRINUSE"}
//         plus one unsolicited first line {"event": "ready", "pid": N}
// ops:    ping | listen {port, host, backlog?} | closeListener {listenerId}
//         connect {host, port, localAddress?, localPort?, timeoutMs?}
//           -> {result: 'ok', clientId, localAddress, localPort}
//            | {result: 'refused' | 'timeout' | 'reset' | 'error', code}
//         closeClient {clientId, reset?} | closeAll | stats | exit
// The child exits when stdin closes (its parent died or closed it), so it never
// outlives the test.
'use strict';

const net = require('node:net');
const readline = require('node:readline');

const listeners = new Map(); // id -> net.Server
const clients = new Map(); // id -> net.Socket (our outgoing connections)
const accepted = new Set(); // server-side sockets
let nextListener = 1;
let nextClient = 1;
let exiting = false;

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function quit(code) {
  if (exiting) return;
  exiting = true;
  for (const s of clients.values()) s.destroy();
  for (const s of accepted) s.destroy();
  for (const srv of listeners.values()) srv.close();
  // Let the last reply flush before exiting.
  process.stdout.write('', () => process.exit(code));
  setTimeout(() => process.exit(code), 500).unref();
}

function waitClose(sock, ms) {
  return new Promise((resolve) => {
    if (sock.closed) return resolve();
    const t = setTimeout(() => {
      sock.destroy();
      resolve();
    }, ms);
    sock.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

function classify(code) {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'error';
  }
}

const ops = {
  ping() {
    return { pid: process.pid };
  },

  listen({ port, host, backlog }) {
    return new Promise((resolve, reject) => {
      const server = net.createServer((sock) => {
        accepted.add(sock);
        sock.on('error', () => {});
        sock.on('close', () => accepted.delete(sock));
        sock.resume();
      });
      server.once('error', reject);
      server.listen({ port, host, backlog: backlog ?? 511, exclusive: true }, () => {
        server.removeListener('error', reject);
        server.on('error', () => {});
        const id = nextListener++;
        listeners.set(id, server);
        const addr = server.address();
        resolve({ listenerId: id, port: addr.port, address: addr.address });
      });
    });
  },

  closeListener({ listenerId }) {
    const server = listeners.get(listenerId);
    if (!server) throw Object.assign(new Error(`no listener ${listenerId}`), { code: 'ENOENT' });
    listeners.delete(listenerId);
    return new Promise((resolve) => server.close(() => resolve({})));
  },

  connect({ host, port, localAddress, localPort, timeoutMs }) {
    const ms = timeoutMs ?? 300;
    return new Promise((resolve) => {
      let settled = false;
      const opts = { host, port };
      if (localAddress) opts.localAddress = localAddress;
      if (localPort) opts.localPort = localPort;
      const sock = net.connect(opts);
      const done = (reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(reply);
      };
      const timer = setTimeout(() => {
        sock.destroy();
        done({ result: 'timeout', code: 'ETIMEDOUT' });
      }, ms);
      sock.once('connect', () => {
        const id = nextClient++;
        clients.set(id, sock);
        sock.on('close', () => clients.delete(id));
        sock.resume();
        done({ result: 'ok', clientId: id, localAddress: sock.localAddress, localPort: sock.localPort });
      });
      sock.on('error', (err) => {
        sock.destroy();
        done({ result: classify(err.code), code: err.code || 'EUNKNOWN' });
      });
    });
  },

  async closeClient({ clientId, reset }) {
    const sock = clients.get(clientId);
    if (!sock) return { wasOpen: false };
    clients.delete(clientId);
    if (reset && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
    else sock.end();
    await waitClose(sock, 1000);
    return { wasOpen: true };
  },

  async closeAll() {
    const n = clients.size;
    const socks = [...clients.values()];
    clients.clear();
    for (const s of socks) s.end();
    await Promise.all(socks.map((s) => waitClose(s, 1000)));
    const m = accepted.size;
    for (const s of accepted) s.destroy();
    accepted.clear();
    return { closedClients: n, closedAccepted: m };
  },

  stats() {
    return { clients: clients.size, accepted: accepted.size, listeners: listeners.size };
  },

  exit() {
    setImmediate(() => quit(0));
    return {};
  },
};

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    send({ id: null, ok: false, error: `bad JSON: ${line.slice(0, 200)}` });
    return;
  }
  const fn = Object.prototype.hasOwnProperty.call(ops, req.op) ? ops[req.op] : null;
  if (!fn) {
    send({ id: req.id, ok: false, error: `unknown op ${req.op}` });
    return;
  }
  try {
    const result = await fn(req);
    send({ id: req.id, ok: true, ...result });
  } catch (err) {
    send({ id: req.id, ok: false, error: String((err && err.message) || err), code: err && err.code });
  }
}

process.on('uncaughtException', (err) => {
  process.stderr.write(`tcp-peer: ${err && err.stack}\n`);
  quit(1);
});
process.stdout.on('error', () => quit(1)); // parent gone (EPIPE)

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim()) handle(line);
});
rl.on('close', () => quit(0)); // stdin closed: the parent died or is done with us

send({ event: 'ready', pid: process.pid });
