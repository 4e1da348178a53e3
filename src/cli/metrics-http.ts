// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The HTTP face of `connlimit metrics`: GET and HEAD on /metrics, 405 for other methods, the
 * format from `Accept` (OpenMetrics only when named) and gzip from `Accept-Encoding`. Each
 * format has a registry of its own: prom-client fixes the format per registry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

/** What the handler needs of a prom-client Registry. */
export interface RenderingRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface Registries {
  prometheus: RenderingRegistry;
  openmetrics: RenderingRegistry;
}

const gzipAsync = promisify(gzip);

/** Whether a header value accepts a token (`gzip`, `application/openmetrics-text`) with q above 0. */
export function accepts(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().split(';');
    if (name?.trim().toLowerCase() !== token) return false;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/i.exec(p)).find(Boolean);
    return q ? Number(q[1]) > 0 : true;
  });
}

function isMetricsPath(url: string | undefined): boolean {
  return url === '/metrics' || url?.startsWith('/metrics?') === true;
}

export function metricsHandler(registries: Registries, onError: (e: unknown) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (!isMetricsPath(req.url)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('GET or HEAD\n');
      return;
    }
    const registry = accepts(req.headers.accept, 'application/openmetrics-text') ? registries.openmetrics : registries.prometheus;
    const zipped = accepts(req.headers['accept-encoding'], 'gzip');
    const headers: Record<string, string> = { 'content-type': registry.contentType, vary: 'Accept, Accept-Encoding' };
    if (zipped) headers['content-encoding'] = 'gzip';
    // A HEAD is a liveness probe: answered without reading the kernel.
    if (req.method === 'HEAD') {
      res.writeHead(200, headers).end();
      return;
    }
    registry
      .metrics()
      .then(async (text) => {
        const body = zipped ? await gzipAsync(text) : Buffer.from(text);
        res.writeHead(200, { ...headers, 'content-length': String(body.length) }).end(body);
      })
      .catch((e: unknown) => {
        onError(e);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${String((e as Error)?.message ?? e)}\n`);
      });
  };
}
