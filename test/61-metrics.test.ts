// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6: metrics. The exposition encoder against hand-written text in both formats, then the
// real thing: rule counters after real connections, scraped over loopback from the handler a
// service mounts and from `connlimit metrics`, parsed, and compared with iptables-legacy-save -c.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMetrics, Firewall, firewallMetrics, renderExposition, type MetricFamily } from '../src/index';
import { withNetns, type Netns } from './helpers/netns';
import { startPeer } from './helpers/tcp';

const families: MetricFamily[] = [
  { name: 'demo_requests', type: 'counter', help: 'Requests.', samples: [{ labels: { path: 'a"b\\c\nd' }, value: 3n }] },
  { name: 'demo_size_bytes', type: 'gauge', unit: 'bytes', help: 'Back\\slash\nnewline.', samples: [{ labels: {}, value: 1.5 }, { labels: { x: 'y' }, value: NaN }] },
];

test('Prometheus text format: _total on counter names, escaped labels and help', () => {
  assert.is(
    renderExposition(families, 'prometheus'),
    [
      '# HELP demo_requests_total Requests.',
      '# TYPE demo_requests_total counter',
      'demo_requests_total{path="a\\"b\\\\c\\nd"} 3',
      '# HELP demo_size_bytes Back\\\\slash\\nnewline.',
      '# TYPE demo_size_bytes gauge',
      'demo_size_bytes 1.5',
      'demo_size_bytes{x="y"} NaN',
      '',
    ].join('\n'),
  );
});

test('OpenMetrics: families named without _total, units declared, # EOF last', () => {
  const text = renderExposition(families, 'openmetrics');
  assert.ok(text.includes('# TYPE demo_requests counter\ndemo_requests_total{'));
  assert.ok(text.includes('# UNIT demo_size_bytes bytes\n'));
  assert.ok(text.endsWith('# EOF\n'));
});

test('names the format cannot carry are refused, not rendered', () => {
  assert.throws(() => renderExposition([{ name: 'bad-name', type: 'gauge', help: '', samples: [] }], 'prometheus'), /bad metric name/);
  assert.throws(() => renderExposition([{ name: 'x_total', type: 'counter', help: '', samples: [] }], 'prometheus'), /bad metric name/);
  assert.throws(() => renderExposition([{ name: 'x', type: 'gauge', help: '', samples: [{ labels: { 'a-b': '1' }, value: 1 }] }], 'prometheus'), /bad label/);
});

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: string;
}

/** A strict reader of the text format: any line it does not understand fails the test. */
function parseExposition(text: string): ParsedSample[] {
  const out: ParsedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ') || line.startsWith('# UNIT ') || line === '# EOF') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    let at = 0;
    while (at < body.length) {
      re.lastIndex = at;
      const l = re.exec(body);
      assert.ok(l, `bad labels at ${at}: ${body}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      at = re.lastIndex;
    }
    out.push({ name: m[1] as string, labels, value: m[3] as string });
  }
  return out;
}

/** Rule counters as `iptables-legacy-save -c` prints them, keyed by the rule text without `-A CHAIN `. */
async function savedCounters(ns: Netns): Promise<Map<string, { packets: string; bytes: string }>> {
  const out = (await ns.run('iptables-legacy-save', ['-c', '-t', 'filter'])).stdout;
  const map = new Map<string, { packets: string; bytes: string }>();
  for (const line of out.split('\n')) {
    const m = /^\[(\d+):(\d+)\] -A \S+ (.*)$/.exec(line);
    if (m) map.set(m[3] as string, { packets: m[1] as string, bytes: m[2] as string });
  }
  return map;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

test('a service mounts the handler: counters after real connections equal iptables-legacy-save -c', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const server = createServer((req, res) => createMetrics([firewallMetrics(fw)]).handler(req, res));
    try {
      await peer.listen(7022, '127.0.0.1');
      await fw.append('INPUT', '-p tcp --syn --dport 7022 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset -m comment --comment "ssh \\"per host\\""');
      await fw.append('INPUT', '-p tcp --syn --dport 80 -m connlimit --connlimit-above 16 --connlimit-mask 24 -j REJECT');
      await fw.append('INPUT', '-p udp --dport 53 -j ACCEPT');
      const tries = await peer.connectMany(3, { host: '127.0.0.1', port: 7022, localAddress: '127.0.3.1' });
      assert.equal(tries.map((t) => t.result), ['ok', 'ok', 'refused']);

      const url = await listen(server);
      const response = await fetch(url);
      assert.is(response.status, 200);
      assert.is(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      const samples = parseExposition(await response.text());
      const saved = await savedCounters(ns);

      const packets = samples.filter((s) => s.name === 'connlimit_rule_packets_total');
      assert.is(packets.length, 2, 'connlimit rules only by default');
      for (const s of packets) {
        assert.is(s.labels.chain, 'INPUT');
        assert.is(s.value, saved.get(s.labels.rule as string)?.packets, s.labels.rule);
      }
      const ssh = packets.find((s) => s.labels.position === '1');
      assert.is(ssh?.value, '1', 'the one refused SYN matched');
      assert.is(ssh?.labels.comment, 'ssh "per host"');
      for (const s of samples.filter((x) => x.name === 'connlimit_rule_bytes_total')) {
        assert.is(s.value, saved.get(s.labels.rule as string)?.bytes);
      }
      const limits = samples.filter((s) => s.name === 'connlimit_rule_limit').map((s) => [s.labels.position, s.labels.mode, s.labels.mask, s.value]);
      assert.equal(limits, [['1', 'above', '32', '2'], ['2', 'above', '24', '16']]);
      assert.equal(samples.filter((s) => s.name === 'connlimit_source_up').map((s) => s.value), ['1']);

      const om = await fetch(url, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
      assert.match(om.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
      const omText = await om.text();
      assert.ok(omText.endsWith('# EOF\n'));
      assert.is(parseExposition(omText).filter((s) => s.name === 'connlimit_rule_packets_total').length, 2);
    } finally {
      server.close();
      await fw.close();
      await peer.exit();
    }
  }));

test("rules: 'all' exports every rule; a failing source scrapes as up 0 and is reported", () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const broken = await Firewall.open({ backend: 'legacy', netns: ns.name, family: 'ipv6' });
    await broken.close();
    await fw.append('INPUT', '-p udp --dport 53 -j ACCEPT');
    const errors: string[] = [];
    const metrics = createMetrics([firewallMetrics(fw, { rules: 'all' }), firewallMetrics(broken)], {
      onError: (e, source) => errors.push(`${source.name}: ${(e as { code?: string }).code}`),
    });
    try {
      const samples = parseExposition(await metrics.render());
      assert.equal(samples.filter((s) => s.name === 'connlimit_rule_packets_total').map((s) => s.labels.rule), ['-p udp -m udp --dport 53 -j ACCEPT']);
      assert.equal(samples.filter((s) => s.name === 'connlimit_source_up').map((s) => [s.labels.source, s.value]), [
        ['firewall ipv4/filter in /run/netns/' + ns.name, '1'],
        ['firewall ipv6/filter in /run/netns/' + ns.name, '0'],
      ]);
      assert.equal(errors, [`firewall ipv6/filter in /run/netns/${ns.name}: ERR_CONNLIMIT_CLOSED`]);
    } finally {
      await fw.close();
    }
  }));

test('connlimit metrics serves both families until SIGTERM, then exits 0', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--syn', '--dport', '22', '-m', 'connlimit', '--connlimit-above', '2', '-j', 'REJECT']);
    await ns.run('ip6tables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--syn', '--dport', '22', '-m', 'connlimit', '--connlimit-above', '4', '--connlimit-mask', '64', '-j', 'REJECT']);
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'src', 'cli', 'main.ts'), 'metrics', '--backend', 'legacy', '--netns', ns.name, '--listen', '127.0.0.1:0', '--json'], {
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const first = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
      });
      const { listening } = JSON.parse(first) as { listening: string };
      assert.match(listening, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const samples = parseExposition(await (await fetch(listening)).text());
      const limits = samples.filter((s) => s.name === 'connlimit_rule_limit').map((s) => [s.labels.family, s.labels.mask, s.value]);
      assert.equal(limits, [['ipv4', '32', '2'], ['ipv6', '64', '4']]);
      assert.is((await fetch(listening.replace('/metrics', '/other'))).status, 404);
    } finally {
      child.kill('SIGTERM');
    }
    assert.is(await exited, 0, stderr);
    assert.is(stderr, '');
  }));

test.run();
