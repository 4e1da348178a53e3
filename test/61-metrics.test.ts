// SPDX-License-Identifier: GPL-2.0-or-later
// Layer 6: metrics. Rule counters after real connections, registered into a prom-client
// registry as a service would and served by `connlimit metrics`, read back by a strict reader of
// both formats (test/helpers/exposition.ts) and by Prometheus's promtool, and compared with iptables-legacy-save -c; series
// keep their identity when rules move; the server's HTTP: HEAD, 405, gzip, a port in use.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Firewall, firewallMetrics, registerMetrics } from '../src/index';
import { checkExposition, type ParsedSample } from './helpers/exposition';
import { execResult, withNetns, type Netns } from './helpers/netns';
import { assertPromtoolAccepts } from './helpers/promtool';
import { startPeer } from './helpers/tcp';

const cliMain = join(__dirname, '..', 'src', 'cli', 'main.ts');
const env = { ...process.env, NODE_OPTIONS: '' };

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

function openMetricsRegistry(): Registry<'application/openmetrics-text; version=1.0.0; charset=utf-8'> {
  const r = new Registry<'application/openmetrics-text; version=1.0.0; charset=utf-8'>();
  r.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return r;
}

const named = (samples: ParsedSample[], name: string) => samples.filter((s) => s.name === name);

test('a service registers the metrics into its prom-client registry: counters equal iptables-legacy-save -c, both formats strict', () =>
  withNetns(async (ns) => {
    const peer = await startPeer(ns);
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const registry = new Registry();
    const om = openMetricsRegistry();
    registerMetrics(registry, [firewallMetrics(fw)]);
    registerMetrics(om, [firewallMetrics(fw)]);
    try {
      await peer.listen(7022, '127.0.0.1');
      await fw.append('INPUT', '-p tcp --syn --dport 7022 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset -m comment --comment "ssh \\"per host\\""');
      await fw.append('INPUT', '-p tcp --syn --dport 23 -m connlimit --connlimit-upto 2 --connlimit-mask 24 -j ACCEPT');
      await fw.append('INPUT', '-p udp --dport 53 -j ACCEPT');
      const tries = await peer.connectMany(3, { host: '127.0.0.1', port: 7022, localAddress: '127.0.3.1' });
      assert.equal(tries.map((t) => t.result), ['ok', 'ok', 'refused']);

      assert.is(registry.contentType, 'text/plain; version=0.0.4; charset=utf-8');
      const text = await registry.metrics();
      const samples = checkExposition(text, 'prometheus');
      assertPromtoolAccepts(text);
      const saved = await savedCounters(ns);
      const packets = named(samples, 'connlimit_rule_packets_total');
      assert.is(packets.length, 2, 'connlimit rules only by default');
      for (const s of packets) {
        assert.equal(Object.keys(s.labels).slice(0, 4), ['family', 'table', 'chain', 'rule_id']);
        assert.match(s.labels.rule_id as string, /^[0-9a-f]{8}$/);
        assert.is(s.value, saved.get(s.labels.rule as string)?.packets, s.labels.rule);
      }
      const ssh = packets.find((s) => s.labels.comment !== undefined);
      assert.is(ssh?.value, '1', 'the one refused SYN matched');
      assert.is(ssh?.labels.comment, 'ssh "per host"');
      for (const s of named(samples, 'connlimit_rule_bytes_total')) assert.is(s.value, saved.get(s.labels.rule as string)?.bytes);
      const limits = named(samples, 'connlimit_rule_limit').map((s) => [s.labels.mode, s.labels.mask, s.labels.key, s.value]);
      assert.equal(limits, [['above', '32', 'source', '2'], ['upto', '24', 'source', '2']]);
      assert.equal(named(samples, 'connlimit_rule_position').map((s) => s.value), ['1', '2']);
      assert.equal(named(samples, 'connlimit_source_up').map((s) => s.value), ['1']);

      const omSamples = checkExposition(await om.metrics(), 'openmetrics');
      assert.is(named(omSamples, 'connlimit_rule_packets_total').length, 2);
      // An OpenMetrics render renames counters in place: the text-format registry is untouched.
      assert.is(named(checkExposition(await registry.metrics(), 'prometheus'), 'connlimit_rule_packets_total').length, 2);
    } finally {
      await fw.close();
      await peer.exit();
    }
  }));

test('a rule inserted above moves positions, not series: rule_id stays, connlimit_rule_position follows; equal rules get -2', () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const registry = new Registry();
    registerMetrics(registry, [firewallMetrics(fw)]);
    const ids = async () => {
      const samples = checkExposition(await registry.metrics(), 'prometheus');
      const position = new Map(named(samples, 'connlimit_rule_position').map((s) => [s.labels.rule_id as string, s.value]));
      return named(samples, 'connlimit_rule_limit').map((s) => [s.labels.rule_id as string, s.labels.rule as string, position.get(s.labels.rule_id as string)]);
    };
    try {
      await fw.append('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT');
      const before = await ids();
      await fw.insert('INPUT', 1, '-p tcp --syn --dport 80 -m connlimit --connlimit-above 16 -j REJECT');
      await fw.append('INPUT', '-p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT');
      const after = await ids();
      const [id] = before[0] as [string, string, string];
      assert.equal(before, [[id, '-p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable', '1']]);
      assert.equal(after.map((r) => r[2]), ['1', '2', '3']);
      assert.equal(after[1], [id, before[0]?.[1], '2'], 'same id, new position');
      assert.is(after[2]?.[0], `${id}-2`, 'an equal rule further down');
      assert.not.equal(after[0]?.[0], id);
    } finally {
      await fw.close();
    }
  }));

test("rules: 'all' exports every rule; a failing source scrapes as up 0 and is reported", () =>
  withNetns(async (ns) => {
    const fw = await Firewall.open({ backend: 'legacy', netns: ns.name });
    const broken = await Firewall.open({ backend: 'legacy', netns: ns.name, family: 'ipv6' });
    await broken.close();
    await fw.append('INPUT', '-p udp --dport 53 -j ACCEPT');
    const errors: string[] = [];
    const registry = new Registry();
    registerMetrics(registry, [firewallMetrics(fw, { rules: 'all' }), firewallMetrics(broken)], {
      onError: (e, source) => errors.push(`${source.name}: ${(e as { code?: string }).code}`),
    });
    try {
      const samples = checkExposition(await registry.metrics(), 'prometheus');
      assert.equal(named(samples, 'connlimit_rule_packets_total').map((s) => s.labels.rule), ['-p udp -m udp --dport 53 -j ACCEPT']);
      assert.equal(named(samples, 'connlimit_source_up').map((s) => [s.labels.source, s.value]), [
        ['firewall ipv4/filter in /run/netns/' + ns.name, '1'],
        ['firewall ipv6/filter in /run/netns/' + ns.name, '0'],
      ]);
      assert.equal(errors, [`firewall ipv6/filter in /run/netns/${ns.name}: ERR_CONNLIMIT_CLOSED`]);
      assert.throws(() => registerMetrics(registry, [firewallMetrics(fw)]), /already been registered/, 'one registration per registry');
    } finally {
      await fw.close();
    }
  }));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw HTTP request (fetch would unzip and can't send every method plainly). */
function http(url: string, method: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('connlimit metrics: both families, OpenMetrics on request, HEAD, 405, gzip; a port in use exits 1; SIGTERM exits 0', () =>
  withNetns(async (ns) => {
    await ns.run('iptables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--syn', '--dport', '22', '-m', 'connlimit', '--connlimit-above', '2', '-j', 'REJECT']);
    await ns.run('ip6tables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--syn', '--dport', '22', '-m', 'connlimit', '--connlimit-above', '4', '--connlimit-mask', '64', '-j', 'REJECT']);
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'metrics', '--backend', 'legacy', '--netns', ns.name, '--listen', '127.0.0.1:0', '--json'], {
      env,
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
      const { ok, listening } = JSON.parse(first) as { ok: boolean; listening: string };
      assert.is(ok, true);
      assert.match(listening, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

      const get = await http(listening, 'GET');
      assert.is(get.status, 200);
      assert.is(get.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const samples = checkExposition(get.body.toString(), 'prometheus');
      assertPromtoolAccepts(get.body.toString());
      assert.equal(named(samples, 'connlimit_rule_limit').map((s) => [s.labels.family, s.labels.mask, s.value]), [['ipv4', '32', '2'], ['ipv6', '64', '4']]);

      const om = await http(listening, 'GET', { accept: 'application/openmetrics-text; version=1.0.0,text/plain;q=0.5' });
      assert.match(String(om.headers['content-type']), /^application\/openmetrics-text; version=1\.0\.0/);
      assert.is(named(checkExposition(om.body.toString(), 'openmetrics'), 'connlimit_rule_packets_total').length, 2);

      const zipped = await http(listening, 'GET', { 'accept-encoding': 'gzip, deflate' });
      assert.is(zipped.headers['content-encoding'], 'gzip');
      assert.is(named(checkExposition(gunzipSync(zipped.body).toString(), 'prometheus'), 'connlimit_rule_limit').length, 2);
      assert.is((await http(listening, 'GET', { 'accept-encoding': 'gzip;q=0' })).headers['content-encoding'], undefined);

      const head = await http(listening, 'HEAD');
      assert.equal([head.status, head.headers['content-type'], head.body.length], [200, 'text/plain; version=0.0.4; charset=utf-8', 0]);
      const post = await http(listening, 'POST');
      assert.equal([post.status, post.headers.allow], [405, 'GET, HEAD']);
      assert.is((await http(listening.replace('/metrics', '/other'), 'GET')).status, 404);

      const busy = await execResult(process.execPath, ['--import', 'tsx', cliMain, 'metrics', '--backend', 'legacy', '--netns', ns.name, '--listen', listening.replace(/^http:\/\/|\/metrics$/g, '')], { env, timeoutMs: 30_000 });
      assert.is(busy.code, 1, busy.stderr);
      assert.match(busy.stderr, /^connlimit: cannot listen on 127\.0\.0\.1:\d+: the port is in use \(EADDRINUSE\)\n$/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.is(await exited, 0, stderr);
    assert.is(stderr, '');
  }));

test.run();
