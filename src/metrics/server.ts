// Serves the registry in the Prometheus text format on its own port (off unless --metrics-port is
// given; loopback unless --metrics-host says otherwise), apart from the RPC port and its tokens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostAllowed } from '../util/httpHost.js';
import type { Metrics } from './metrics.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** `allowedHosts`: Host names accepted besides the loopback ones (as the RPC's --allowed-hosts). */
export async function startMetricsServer(metrics: Metrics, host: string, port: number, allowedHosts: readonly string[] = []): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (!hostAllowed(req.headers.host, allowedHosts)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('invalid host specified\n');
      return;
    }
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    metrics.scrape().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
