// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `connlimit metrics`: serves the library's metrics over HTTP until SIGINT/SIGTERM, through
 * prom-client and the same registerMetrics() a service calls on its own registry.
 */
import { createServer } from 'node:http';
import { Conntrack, Firewall, firewallMetrics, LoadError, registerMetrics, watchMetrics, type ConntrackWatch, type Family, type FirewallOptions, type MetricSource } from '../index';
import type { CommonOptions } from './args';
import { EXIT } from './exit-codes';
import { metricsHandler, type Registries } from './metrics-http';
import { usageError } from './usage-error';
import { quote } from '../echo';

/** prom-client is an optional peer dependency: only this command needs it. */
async function loadPromClient(): Promise<typeof import('prom-client')> {
  try {
    return await import('prom-client');
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code !== 'MODULE_NOT_FOUND') throw e;
    throw new LoadError('ERR_CONNLIMIT_LOAD', 'connlimit metrics serves through prom-client, which is not installed', {
      hint: "install it beside connlimit: 'npm install prom-client'",
    });
  }
}

/** A listen failure (EADDRINUSE, EACCES, EADDRNOTAVAIL) as the one line the CLI prints; exit 1. */
function listenError(host: string, port: number, e: NodeJS.ErrnoException): Error {
  const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : e.message;
  return Object.assign(new Error(`cannot listen on ${host}:${port}: ${why}${e.code ? ` (${e.code})` : ''}`), { code: e.code ?? 'ERR_LISTEN' });
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) usageError('--listen', `expected HOST:PORT or [IPV6]:PORT, got ${quote(listen)}`);
  return { host: (m[1] ?? m[2]) as string, port };
}

export async function runMetricsCommand(options: CommonOptions, rest: string[]): Promise<number> {
  if (rest.length > 0) usageError('arguments', `metrics takes no positional arguments, got ${quote(rest[0] as string)}`);
  const { host, port } = parseListen(options.listen ?? '127.0.0.1:9464');
  const rules = options.rules ?? 'connlimit';
  const prom = await loadPromClient();
  if (rules !== 'connlimit' && rules !== 'all') usageError('--rules', `expected 'connlimit' or 'all', got ${quote(rules)}`);
  const families: Family[] = options.family === undefined ? ['ipv4', 'ipv6'] : [options.family as Family];

  const firewalls: Firewall[] = [];
  const watches: ConntrackWatch[] = [];
  const close = () => Promise.allSettled([...firewalls.map((fw) => fw.close()), ...watches.map((w) => w.close())]);
  const firewallOptions = families.map((family) => {
    const o: FirewallOptions = { family };
    if (options.table !== undefined) o.table = options.table as FirewallOptions['table'];
    if (options.backend !== undefined) o.backend = options.backend as FirewallOptions['backend'];
    if (options.netns !== undefined) o.netns = options.netns;
    if (options.lockTimeoutMs !== undefined) o.lockTimeoutMs = options.lockTimeoutMs;
    return o;
  });
  // Every argument is checked before a table is opened (opening a legacy table creates it):
  // the options here, the watch rules by watchFor below, which only opens conntrack sockets.
  for (const o of firewallOptions) await Firewall.validate(o);
  try {
    if (options.watchRules?.length) {
      const ct = await Conntrack.open(options.netns === undefined ? {} : { netns: options.netns });
      try {
        const family = options.family as Family | undefined;
        for (const rule of options.watchRules) watches.push(ct.watchFor(rule, family ? { family } : {}));
      } finally {
        await ct.close(); // the watches have sockets of their own
      }
      await Promise.all(watches.map((w) => w.ready));
    }
    for (const o of firewallOptions) firewalls.push(await Firewall.open(o));
  } catch (e) {
    await close();
    throw e;
  }
  const sources: MetricSource[] = [
    ...firewalls.map((fw) => firewallMetrics(fw, { rules })),
    // The rule as given names its series: what the operator typed is what they will query.
    ...watches.map((w, i) => watchMetrics(w, { name: options.watchRules?.[i] as string })),
  ];
  const onError = (e: unknown, source: MetricSource) => process.stderr.write(`connlimit: metrics: ${source.name}: ${String((e as Error)?.message ?? e).split('\n')[0]}\n`);
  const prometheus = new prom.Registry();
  const openmetrics = new prom.Registry<typeof prom.openMetricsContentType>();
  openmetrics.setContentType(prom.openMetricsContentType);
  registerMetrics(prometheus, sources, { onError });
  registerMetrics(openmetrics, sources, { onError });
  const registries: Registries = { prometheus, openmetrics };
  const server = createServer(metricsHandler(registries, (e) => process.stderr.write(`connlimit: metrics: ${String((e as Error)?.message ?? e).split('\n')[0]}\n`)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  }).catch(async (e: NodeJS.ErrnoException) => {
    await close();
    throw listenError(host, port, e);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`;
  process.stdout.write(options.json ? `${JSON.stringify({ ok: true, listening: url })}\n` : `serving ${url}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await close();
  return EXIT.ok;
}
