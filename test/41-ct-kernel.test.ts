// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 4 (conntrack) against the real kernel, in throwaway namespaces: real loopback TCP from
// several 127.x sources and synthetic entries (`conntrack -R`), with the conntrack CLI in the
// same namespace as the oracle for count, list, countBy and delete; countFor against a live
// connlimit rule installed with the Firewall API.
import { spawnSync } from 'node:child_process';
import { readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binding } from '../src/binding';
import { toNativeFilter } from '../src/conntrack/filter';
import { Conntrack, Firewall } from '../src/index';
import { rejects } from './helpers/assert';
import { parseCliLine } from './helpers/ct-fixtures';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer, type ConnectOutcome } from './helpers/tcp';

const lockPath = `/tmp/connlimit-ct-test-${process.pid}.lock`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const results = (xs: ConnectOutcome[]) => xs.map((x) => x.result);

type Cli = ReturnType<typeof parseCliLine> & { family: 'ipv4' | 'ipv6'; line: string };

/** `conntrack -L ARGS -o id` in the namespace, parsed. */
async function cliList(ns: Netns, args: string[] = []): Promise<Cli[]> {
  const r = await ns.run('conntrack', ['-L', ...args, '-o', 'id']);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => ({ ...parseCliLine(line), family: line.includes('src=') && /src=[0-9a-f:]*:/.test(line) ? 'ipv6' : 'ipv4', line }) as Cli);
}

async function cliCount(ns: Netns): Promise<number> {
  return Number((await ns.run('conntrack', ['-C'])).stdout.trim());
}

/** Synthetic entries: v4 clients in several /24s and /16s, tcp 80/443 in several states, udp, marks, a zone; v6 clients. */
function syntheticLines(): string[] {
  const lines: string[] = [];
  const states = ['ESTABLISHED', 'ESTABLISHED', 'TIME_WAIT', 'SYN_SENT', 'CLOSE_WAIT', 'CLOSE'];
  for (let i = 0; i < 240; i++) {
    const src = `10.${1 + (i % 3)}.${i % 7}.${1 + (i % 11)}`;
    const dport = i % 4 === 0 ? 80 : 443;
    let l = `-I -p tcp -s ${src} -d 10.9.${i % 2}.1 --sport ${20000 + i} --dport ${dport} --state ${states[i % states.length]} -t 3600`;
    if (i % 5 === 0) l += ' -m 7';
    if (i % 13 === 0) l += ' -w 3';
    lines.push(l);
  }
  for (let i = 0; i < 40; i++) lines.push(`-I -p udp -s 10.4.${i % 4}.${i + 1} -d 10.9.0.53 --sport ${30000 + i} --dport 53 -t 3600`);
  for (let i = 0; i < 60; i++) {
    lines.push(`-I -p tcp -s fd00:${1 + (i % 2)}:0:${i % 5}::${i + 1} -d fd00:99::1 --sport ${40000 + i} --dport 443 --state ESTABLISHED -t 3600`);
  }
  return lines;
}

async function loadSynthetic(ns: Netns): Promise<void> {
  const file = `/tmp/connlimit-ct-${process.pid}-${ns.name}.txt`;
  writeFileSync(file, syntheticLines().join('\n') + '\n');
  try {
    await ns.run('conntrack', ['-R', file]);
  } finally {
    unlinkSync(file);
  }
}

/** Address bytes of v4 or v6 text, masked to `bits`, back to text as our keys print it. */
function maskedKey(addr: string, bits: number): string {
  const v6 = addr.includes(':');
  let bytes: number[];
  if (!v6) bytes = addr.split('.').map(Number);
  else {
    const [head, tail] = addr.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g || '0', 16));
    bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  }
  const width = bytes.length * 8;
  const out = bytes.map((b, i) => {
    const left = bits - i * 8;
    return left >= 8 ? b : left <= 0 ? 0 : b & ((0xff << (8 - left)) & 0xff);
  });
  let text: string;
  if (!v6) text = out.join('.');
  else {
    const groups = [];
    for (let i = 0; i < 16; i += 2) groups.push(((out[i]! << 8) | out[i + 1]!).toString(16));
    // RFC 5952: the longest run (>1) of zero groups becomes '::'.
    let best = -1;
    let bestLen = 1;
    for (let i = 0; i < 8; ) {
      let j = i;
      while (j < 8 && groups[j] === '0') j++;
      if (j - i > bestLen) {
        best = i;
        bestLen = j - i;
      }
      i = j === i ? i + 1 : j;
    }
    text = best < 0 ? groups.join(':') : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  }
  return bits === width ? text : `${text}/${bits}`;
}

function expectedCounts(cli: Cli[], key: 'src' | 'dst', bits4: number, bits6: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const c of cli) {
    const k = maskedKey(c.orig[key]!, c.family === 'ipv6' ? bits6 : bits4);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
const ids = (xs: Array<{ id: number }>) => xs.map((x) => x.id).sort((a, b) => a - b);
const cliIds = (xs: Cli[]) => xs.map((x) => Number(x.rest.id)).sort((a, b) => a - b);

/** Turn conntrack on for IPv4 in the namespace (a connlimit rule needs it) and open real connections. */
async function realTraffic(ns: Netns) {
  const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath });
  await fw.append('INPUT', '-p tcp --syn --dport 7100 -m connlimit --connlimit-above 100 -j ACCEPT');
  await fw.close();
  const peer = await startPeer(ns);
  await peer.listen(7100, '127.0.0.1');
  const plan: Array<[string, number]> = [['127.0.1.10', 3], ['127.0.1.11', 2], ['127.0.2.5', 1], ['127.3.0.9', 2]];
  for (const [src, n] of plan) {
    assert.equal(results(await peer.connectMany(n, { host: '127.0.0.1', port: 7100, localAddress: src })), Array(n).fill('ok'));
  }
  return peer;
}

test('count, list and countBy equal conntrack -C / -L (real TCP and synthetic entries, v4 and v6)', () =>
  withNetns(async (ns) => {
    const peer = await realTraffic(ns);
    try {
      await loadSynthetic(ns);
      const ct = await Conntrack.open({ netns: ns.name });
      const cli = await cliList(ns);
      assert.ok(cli.length >= 340 + 8, `${cli.length} entries`);
      assert.is(await ct.count(), await cliCount(ns));
      assert.is(await ct.count(), cli.length);

      const all = await ct.toArray();
      assert.equal(ids(all), cliIds(cli));
      const real = all.filter((e) => e.orig.dport === 7100);
      assert.is(real.length, 8, 'one entry per real connection');
      assert.ok(real.every((e) => e.state === 'ESTABLISHED' && e.status.includes('SEEN_REPLY') && e.protocol === 'tcp'));

      // Filters against the CLI's own filters where it has them.
      const same = async (filter: Parameters<Conntrack['toArray']>[0], args: string[]) => {
        const ours = await ct.toArray(filter);
        const theirs = await cliList(ns, args);
        assert.ok(theirs.length > 0, `CLI ${args.join(' ')} listed nothing: a useless comparison`);
        assert.equal(ids(ours), cliIds(theirs), `${JSON.stringify(filter)} vs conntrack -L ${args.join(' ')}`);
      };
      await same({ protocol: 'tcp', dport: 443 }, ['-p', 'tcp', '--dport', '443']);
      await same({ family: 'ipv4', protocol: 'tcp', dport: 443 }, ['-f', 'ipv4', '-p', 'tcp', '--dport', '443']);
      await same({ protocol: 'tcp', state: 'TIME_WAIT' }, ['-p', 'tcp', '--state', 'TIME_WAIT']);
      await same({ protocol: 'udp' }, ['-p', 'udp']);
      await same({ mark: 7 }, ['-m', '7']);
      await same({ zone: 3 }, ['-w', '3']);
      await same({ source: '10.2.3.4' }, ['-s', '10.2.3.4']);
      await same({ family: 'ipv6' }, ['-f', 'ipv6']);
      await same({ source: '127.0.1.10', protocol: 'tcp', dport: 7100 }, ['-s', '127.0.1.10', '-p', 'tcp', '--dport', '7100']);
      // CIDRs, ranges and inversions: against the full CLI listing filtered here.
      const cidr = await ct.toArray({ source: '10.1.0.0/16', protocol: 'tcp', dport: { from: 400, to: 500 } });
      const want = cli.filter((c) => c.proto === 'tcp' && c.orig.src!.startsWith('10.1.') && c.orig.dport === '443');
      assert.ok(want.length > 0);
      assert.equal(ids(cidr), cliIds(want));
      const notUdp = await ct.toArray({ protocol: { not: 'udp' }, source: { not: '10.0.0.0/8' } });
      // An address implies its family, even negated: IPv6 entries are not 'outside 10.0.0.0/8'.
      assert.equal(ids(notUdp), cliIds(cli.filter((c) => c.proto !== 'udp' && c.family === 'ipv4' && !c.orig.src!.startsWith('10.'))));

      // The listing arrives in batches and stops early when the loop breaks.
      let seen = 0;
      for await (const e of ct.list({}, { batchSize: 16 })) {
        assert.type(e.id, 'number');
        if (++seen === 20) break;
      }
      assert.is(seen, 20);

      // countBy: several masks, both keys, both families.
      for (const [bits4, bits6] of [[32, 128], [24, 64], [16, 48], [8, 32], [0, 0]] as const) {
        for (const key of ['source', 'destination'] as const) {
          const got = await ct.countBy({ key, mask: bits4, mask6: bits6 });
          assert.equal(sorted(got), sorted(expectedCounts(cli, key === 'source' ? 'src' : 'dst', bits4, bits6)), `${key} /${bits4} /${bits6}`);
          const sum = [...got.values()].reduce((a, b) => a + b, 0);
          assert.is(sum, cli.length);
        }
      }
      const v6 = await ct.countBy({ family: 'ipv6', mask: 64 });
      assert.equal(sorted(v6), sorted(expectedCounts(cli.filter((c) => c.family === 'ipv6'), 'src', 32, 64)));
      assert.ok(v6.size > 1 && [...v6.keys()].every((k) => k.endsWith('/64')));
      const web = await ct.countBy({ protocol: 'tcp', dport: 7100, mask: 24 });
      assert.equal(sorted(web), [['127.0.1.0/24', 5], ['127.0.2.0/24', 1], ['127.3.0.0/24', 2]]);

      // top: the N largest, largest first.
      const full = await ct.countBy({ mask: 24 });
      const top = await ct.countBy({ mask: 24, top: 3 });
      assert.is(top.size, 3);
      const counts = [...full.values()];
      assert.equal([...top.values()], [...counts].sort((a, b) => b - a).slice(0, 3));
      assert.equal([...full.values()], [...counts].sort((a, b) => b - a), 'ordered by count');
      await ct.close();
    } finally {
      await peer.exit();
    }
  }));

test('delete removes what conntrack -D removes, and returns the same number (twin namespaces)', () =>
  withNetns((a) =>
    withNetns(async (b) => {
      await loadSynthetic(a);
      await loadSynthetic(b);
      const ct = await Conntrack.open({ netns: a.name });
      const cases: Array<[Parameters<Conntrack['delete']>[0], string[]]> = [
        [{ protocol: 'udp' }, ['-p', 'udp']],
        [{ source: '10.1.0.0/16', dport: { not: 80 }, protocol: 'tcp' }, ['-s', '10.1.0.0/16', '-p', 'tcp', '--dport', '443']],
        [{ source: '10.2.3.4', protocol: 'tcp' }, ['-s', '10.2.3.4', '-p', 'tcp']],
        [{ protocol: 'tcp', dport: 80, state: 'ESTABLISHED' }, ['-p', 'tcp', '--dport', '80', '--state', 'ESTABLISHED']],
        [{ mark: 7 }, ['-m', '7']],
        [{ family: 'ipv6' }, ['-f', 'ipv6']],
        [{ family: 'ipv4', protocol: 'tcp', dport: 443 }, ['-f', 'ipv4', '-p', 'tcp', '--dport', '443']],
      ];
      const tuples = (xs: Array<{ orig: { src?: string; dst?: string; sport?: number | string; dport?: number | string } }>) =>
        xs.map((x) => `${x.orig.src} ${x.orig.dst} ${x.orig.sport} ${x.orig.dport}`).sort();
      for (const [filter, args] of cases) {
        const removed = await ct.delete(filter);
        const r = await b.exec('conntrack', ['-D', ...args]);
        const m = /(\d+) flow entries have been deleted/.exec(r.stderr + r.stdout);
        assert.ok(m, r.stderr);
        assert.ok(removed > 0, `${JSON.stringify(filter)} removed nothing: a useless comparison`);
        assert.is(removed, Number(m![1]), JSON.stringify(filter));
        assert.equal(tuples(await ct.toArray()), tuples(await cliList(b)), `after ${JSON.stringify(filter)}`);
        assert.is(await ct.count(), await cliCount(b));
      }
      assert.is(await ct.delete({ protocol: 'udp' }), 0, 'nothing left to delete');
      await ct.close();

      // Which way the addon deleted: one kernel flush when the kernel can apply the whole
      // filter, entry by entry otherwise (the native layer tells; the public API returns the count).
      const raw = new (binding().Conntrack)({ netnsPath: a.path });
      await raw.open();
      await a.run('conntrack', ['-I', '-p', 'tcp', '-s', '10.77.3.4', '-d', '10.9.0.1', '--sport', '1', '--dport', '80', '--state', 'ESTABLISHED', '-t', '60']);
      await a.run('conntrack', ['-I', '-p', 'tcp', '-s', '10.77.3.5', '-d', '10.9.0.1', '--sport', '1', '--dport', '80', '--state', 'ESTABLISHED', '-t', '60']);
      const flush = await raw.delete(toNativeFilter({ source: '10.77.3.4', protocol: 'tcp', dport: 80 }));
      assert.equal(flush, { matched: 1, deleted: 1, vanished: 0, kernelSide: true });
      const each = await raw.delete(toNativeFilter({ source: '10.77.3.0/24', protocol: 'tcp', dport: 80 }));
      assert.equal(each, { matched: 1, deleted: 1, vanished: 0, kernelSide: false });
      raw.close();
    }),
  ));

test('countFor: per /24, the connections the live connlimit rule let through, with limit and headroom', () =>
  withNetns(async (ns) => {
    const rule = '-p tcp --syn --dport 7200 -m connlimit --connlimit-above 2 --connlimit-mask 24 -j REJECT --reject-with tcp-reset';
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name, lockPath });
    await fw.append('INPUT', rule);
    const peer = await startPeer(ns);
    try {
      await peer.listen(7200, '127.0.0.1');
      const opts = (localAddress: string) => ({ host: '127.0.0.1', port: 7200, localAddress });
      const attempts = {
        '127.0.1.0/24': [...(await peer.connectMany(2, opts('127.0.1.10'))), ...(await peer.connectMany(1, opts('127.0.1.11')))],
        '127.0.2.0/24': await peer.connectMany(3, opts('127.0.2.10')),
        '127.0.3.0/24': await peer.connectMany(1, opts('127.0.3.10')),
      };
      assert.equal(results(attempts['127.0.1.0/24']), ['ok', 'ok', 'refused']);
      assert.equal(results(attempts['127.0.2.0/24']), ['ok', 'ok', 'refused']);
      const ct = await Conntrack.open({ netns: ns.name });
      const okCount = (xs: ConnectOutcome[]) => xs.filter((x) => x.result === 'ok').length;
      const got = await ct.countFor(rule);
      assert.equal(
        sorted(new Map([...got].map(([k, v]) => [k, v.count]))),
        sorted(new Map(Object.entries(attempts).map(([k, v]) => [k, okCount(v)]))),
        'counts equal the connections the rule let through',
      );
      assert.equal(got.get('127.0.3.0/24'), { count: 1, limit: 2, headroom: 1 });
      assert.equal(got.get('127.0.2.0/24'), { count: 2, limit: 2, headroom: 0 });
      // The refused attempts are conntrack entries in CLOSE, which a plain count includes.
      const plain = await ct.countBy({ protocol: 'tcp', dport: 7200, mask: 24 });
      assert.is(plain.get('127.0.2.0/24'), 3);
      const cli = await cliList(ns, ['-p', 'tcp', '--dport', '7200', '--state', 'CLOSE']);
      assert.is(cli.length, 2);
      // The same rule as a typed object, from the firewall's own listing.
      const [listed] = await fw.list('INPUT');
      assert.equal(await ct.countFor(listed!), got);
      // A reset connection goes to CLOSE and stops counting, as in nf_conncount; the rule agrees.
      await peer.closeClient(attempts['127.0.2.0/24'][0]!.id!, { reset: true });
      await sleep(100);
      assert.is((await ct.countFor(rule)).get('127.0.2.0/24')?.count, 1);
      assert.equal(results(await peer.connectMany(2, opts('127.0.2.11'))), ['ok', 'refused']);
      assert.is((await ct.countFor(rule)).get('127.0.2.0/24')?.count, 2);
      // A daddr rule keys by destination, full width without a mask.
      const byDst = await ct.countFor('-p tcp --dport 7200 -m connlimit --connlimit-above 9 --connlimit-daddr -j DROP');
      assert.equal([...byDst.keys()], ['127.0.0.1']);
      assert.is(byDst.get('127.0.0.1')?.count, 5);
      await rejects(ct.countFor('-p tcp --dport 22 -j DROP'), 'ERR_CONNLIMIT_INVALID');
      await ct.close();
      await fw.close();
    } finally {
      await peer.exit();
    }
  }));

test('no descriptor leaks: open/close and listings abandoned mid-dump give their sockets back', () =>
  withNetns(async (ns) => {
    await loadSynthetic(ns);
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 10; i++) {
      const ct = await Conntrack.open({ netns: ns.name });
      assert.ok((await ct.count()) > 300);
      let n = 0;
      for await (const _ of ct.list({}, { batchSize: 8 })) if (++n === 10) break; // the dump is still running
      assert.is(n, 10);
      await ct.close();
    }
    assert.is(fds(), before);
  }));

test('inside a Worker, terminated mid-dump: the process goes on and the main thread still reads the table', () =>
  withNetns(async (ns) => {
    await loadSynthetic(ns);
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      require('tsx/cjs');
      const { Conntrack } = require(workerData.index);
      (async () => {
        const ct = await Conntrack.open({ netns: workerData.netns });
        parentPort.postMessage(await ct.countBy({ mask: 8 }));
        for (;;) for await (const _ of ct.list({}, { batchSize: 4 })) {} // keep dumping until terminated
      })();
    `;
    const worker = new Worker(source, { eval: true, workerData: { index: join(__dirname, '..', 'src', 'index.ts'), netns: ns.name } });
    const counts = await new Promise<Map<string, number>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const ct = await Conntrack.open({ netns: ns.name });
    assert.equal(counts, await ct.countBy({ mask: 8 }));
    await sleep(50);
    assert.is(await worker.terminate(), 1);
    assert.is(await ct.count(), (await cliList(ns)).length);
    await ct.close();
  }));

test('errors: a missing namespace, bad filters before the kernel, use after close, no capability', () =>
  withNetns(async (ns) => {
    await rejects(Conntrack.open({ netns: 'cl-no-such-ns' }), 'ERR_CONNLIMIT_NOT_FOUND');
    await rejects(Conntrack.open({ netns: 'bad name' }), 'ERR_CONNLIMIT_INVALID');
    const ct = await Conntrack.open({ netns: ns.path });
    await rejects(ct.countBy({ protocol: 'tcp', dport: 99999 }), (e) => e.code === 'ERR_CONNLIMIT_INVALID' && (e as { path?: string }).path === 'dport');
    await rejects(ct.countBy({ mask: 33 }), 'ERR_CONNLIMIT_INVALID');
    await rejects(ct.delete({ state: 'NOPE' as never }), 'ERR_CONNLIMIT_INVALID');
    assert.throws(() => ct.list({ zone: -1 }), (e: { code: string }) => e.code === 'ERR_CONNLIMIT_INVALID');
    assert.is(await ct.count(), 0);
    await ct.close();
    await ct.close();
    await rejects(ct.count(), 'ERR_CONNLIMIT_CLOSED');
    assert.throws(() => ct.list(), (e: { code: string }) => e.code === 'ERR_CONNLIMIT_CLOSED');

    const index = join(__dirname, '..', 'src', 'index.ts');
    const code = `const { Conntrack } = require(${JSON.stringify(index)});
      Conntrack.open({ netns: ${JSON.stringify(ns.path)} }).then(() => console.log('{"code":"none"}'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`;
    const r = spawnSync('unshare', ['--user', process.execPath, '--import', 'tsx', '-e', code], {
      cwd: join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000,
    });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { code?: string; message?: string };
    assert.is(out.code, 'ERR_CONNLIMIT_PERMISSION', r.stdout + r.stderr);
    assert.match(out.message ?? '', /CAP_NET_ADMIN/);
  }));

test.run();
