// SPDX-License-Identifier: GPL-2.0-or-later
// npm run demo: the iptables man page's three connlimit examples, applied through the library
// in a throwaway network namespace, proven with real loopback connections. Nothing on the
// host changes. (The demo spawns `ip` and a TCP peer inside the namespace; the library
// itself never forks.)
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Conntrack, Firewall } from '../dist/index.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ns = `connlimit-demo-${process.pid}`;
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const mark = (r) => (r === 'ok' ? 'accepted' : r === 'refused' ? 'REFUSED ' : r.toUpperCase());

/** The TCP peer (scripts/lib/tcp-peer.cjs) runs inside the namespace; we talk JSON lines to it. */
function startPeer() {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(here, 'lib', 'tcp-peer.cjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  let ready;
  const isReady = new Promise((r) => (ready = r));
  let next = 1;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    if (msg.event === 'ready') return ready();
    const w = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (msg.ok) w?.resolve(msg);
    else w?.reject(new Error(`${msg.code ?? ''} ${msg.error ?? ''}`));
  });
  const call = (op, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      child.stdin.write(`${JSON.stringify({ id, op, ...params })}\n`);
    });
  return { isReady, call, stop: () => child.stdin.end() };
}

const EXAMPLES = [
  {
    title: 'allow 2 telnet connections per client host (port 23 moved to 2323)',
    rules: ['-p tcp --syn --dport 2323 -m connlimit --connlimit-above 2 -j REJECT'],
    port: 2323,
    tries: [['127.0.1.10', 3], ['127.0.1.11', 3]],
  },
  {
    title: 'the other way around: accept up to 2 per host, reject the rest (port 2424)',
    rules: [
      '-p tcp --syn --dport 2424 -m connlimit ! --connlimit-above 2 -j ACCEPT',
      '-p tcp --syn --dport 2424 -j REJECT --reject-with tcp-reset',
    ],
    port: 2424,
    tries: [['127.0.2.10', 3]],
  },
  {
    title: 'limit parallel HTTP requests to 16 per class C sized source network (port 80 moved to 8080)',
    rules: ['-p tcp --syn --dport 8080 -m connlimit --connlimit-above 16 --connlimit-mask 24 -j REJECT'],
    port: 8080,
    // 17 hosts of one /24, one connection each, then a host of another /24.
    tries: [...Array.from({ length: 17 }, (_, i) => [`127.0.3.${i + 1}`, 1]), ['127.0.4.1', 1]],
  },
];

async function main() {
  execFileSync('ip', ['netns', 'add', ns]);
  let peer;
  let fw;
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    console.log(`${bold('connlimit demo')} in the throwaway network namespace ${ns}\n`);
    fw = await Firewall.open({ family: 'ipv4', backend: 'legacy', netns: ns });
    peer = startPeer();
    await peer.isReady;
    for (const ex of EXAMPLES) {
      await peer.call('listen', { port: ex.port, host: '127.0.0.1' });
      for (const rule of ex.rules) {
        const t0 = process.hrtime.bigint();
        await fw.append('INPUT', rule);
        const us = Number(process.hrtime.bigint() - t0) / 1000;
        console.log(`  fw.append('INPUT', '${rule}')  ${us.toFixed(0)} µs`);
      }
    }
    for (const ex of EXAMPLES) {
      console.log(`\n${bold(ex.title)}`);
      const perSource = [];
      for (const [source, n] of ex.tries) {
        const got = [];
        for (let i = 0; i < n; i++) {
          const r = await peer.call('connect', { host: '127.0.0.1', port: ex.port, localAddress: source, timeoutMs: 1000 });
          got.push(r.result);
        }
        perSource.push([source, got]);
      }
      if (ex.tries.every(([, n]) => n === 1)) {
        const ok = perSource.filter(([, g]) => g[0] === 'ok').map(([s]) => s);
        const refused = perSource.filter(([, g]) => g[0] !== 'ok').map(([s]) => s);
        console.log(`  accepted: ${ok.length} connections (${ok[0]} … ${ok.at(-1)})`);
        console.log(`  refused:  ${refused.join(', ') || 'none'}`);
      } else {
        for (const [source, got] of perSource) console.log(`  from ${source.padEnd(12)} ${got.map(mark).join('  ')}`);
      }
    }
    // What conntrack says each client holds now, as the first rule counts it.
    const ct = await Conntrack.open({ netns: ns });
    try {
      const rule = EXAMPLES[0].rules[0];
      console.log(`\n${bold('per client, what the first rule counts')} (ct.countFor, read from conntrack)`);
      for (const [client, { count, limit, headroom }] of await ct.countFor(rule)) {
        console.log(`  ${client.padEnd(12)} ${count} of ${limit}, ${headroom} left`);
      }
      console.log('  (the refused attempt still counts: plain REJECT answers with ICMP, its entry waits in SYN_SENT;');
      console.log("   '--reject-with tcp-reset' frees it at once, see README)");
    } finally {
      await ct.close();
    }
    console.log(`\n${bold('the table, as iptables-save prints it')} (read back through the library)\n`);
    console.log((await fw.save()).trimEnd());
    console.log(`\nEvery commit to a legacy table resets the table's connlimit counts: batch changes in one transaction (see README).`);
  } finally {
    peer?.stop();
    await fw?.close();
    execFileSync('ip', ['netns', 'del', ns]);
    console.log(`\nremoved ${ns}; nothing on the host changed.`);
  }
}

main().catch((e) => {
  console.error(`demo failed: ${e.code ?? ''} ${e.message}`);
  process.exitCode = 1;
});
