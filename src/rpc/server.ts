// HTTP transport for JSON-RPC: POST on "/", body limit, Host allow-list, loopback by default.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { SubscriptionHub } from './subscriptions.js';
import type { Logger } from '../util/logger.js';
import { PERMISSIONS, requestPermissions } from './auth.js';
import { RpcErrorCode, type CallContext, type RpcDispatcher } from './jsonRpc.js';

export interface RpcServerOptions {
  host: string;
  port: number;
  /** JWT secret; without one every caller has every permission (tests, embedded use). */
  secret?: Uint8Array;
  /** Allowed CORS origins; none by default (no CORS headers). */
  corsOrigins?: string[];
  /** WebSocket subscriptions on the same port. */
  subscriptions?: SubscriptionHub;
  /** Largest request body in bytes (geth: 5 MiB). */
  maxBodyBytes?: number;
  /** Host header names accepted (besides loopback names); '*' accepts all. */
  allowedHosts?: string[];
}

export const DEFAULT_MAX_BODY = 5 * 1024 * 1024;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostAllowed(header: string | undefined, allowed: string[]): boolean {
  if (allowed.includes('*')) return true;
  if (!header) return false;
  const name = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0]!;
  return LOOPBACK_HOSTS.has(name) || allowed.includes(name);
}

export class RpcServer {
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;

  constructor(
    private readonly dispatcher: RpcDispatcher,
    private readonly options: RpcServerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<{ host: string; port: number; url: string }> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    if (this.options.subscriptions) {
      const hub = this.options.subscriptions;
      const wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxBodyBytes ?? DEFAULT_MAX_BODY });
      this.wss = wss;
      server.on('upgrade', (req, socket, head) => {
        void (async () => {
          if (!hostAllowed(req.headers.host, this.options.allowedHosts ?? [])) {
            socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
            return;
          }
          const context = await this.callContext(req, SubscriptionHub.tokenOf(req));
          if (!context) {
            socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
            return;
          }
          wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws, context, this.dispatcher, this.options.maxBodyBytes ?? DEFAULT_MAX_BODY));
        })();
      });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const host = this.options.host;
    return { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }

  /** Permissions of a request (token or loopback defaults); null when its token is invalid. */
  async callContext(req: IncomingMessage, authorization = req.headers.authorization): Promise<CallContext | null> {
    if (!this.options.secret) return { permissions: new Set(PERMISSIONS) };
    const address = req.socket.remoteAddress ?? '';
    const loopback = address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
    const permissions = await requestPermissions(this.options.secret, authorization, loopback);
    return permissions === 'BAD_TOKEN' ? null : { permissions };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, this.options.allowedHosts ?? [])) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('invalid host specified\n');
      return;
    }
    const origin = req.headers.origin;
    const cors = origin && this.options.corsOrigins && (this.options.corsOrigins.includes('*') || this.options.corsOrigins.includes(origin));
    if (cors) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-headers', 'content-type, authorization');
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS' && cors) {
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST' || (req.url ?? '/') !== '/') {
      res.writeHead(req.method === 'POST' ? 404 : 405, { 'content-type': 'text/plain' }).end('JSON-RPC answers POST on /\n');
      return;
    }
    const limit = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end(`request body above ${limit} bytes\n`);
        req.destroy();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const context = await this.callContext(req);
    if (!context) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.forbidden, message: 'invalid or expired token' } }));
      return;
    }
    try {
      const body = await this.dispatcher.handleBody(Buffer.concat(chunks).toString('utf8'), context);
      if (body === null) res.writeHead(204).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } catch (error) {
      this.log.error({ err: error instanceof Error ? error.message : String(error) }, 'RPC handler crashed');
      res.writeHead(500).end();
    }
  }
}
