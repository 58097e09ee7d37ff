// HTTP transport for JSON-RPC: POST on "/", loopback by default. Everything a client sends is
// hostile until proven otherwise: strict Host (DNS rebinding), JSON content type and allowed Origin
// (cross-site pages), body size and time limits (slow senders), a per-address connection cap, and
// no path by which a client's behaviour reaches an unhandled rejection.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { errorMessage } from '../primitives/index.js';
import type { Logger } from '../util/logger.js';
import { PERMISSIONS, requestPermissions, type TokenRefusal } from './auth.js';
import { ConnectionCounter, hostAllowed, isJsonContentType, originAllowed } from './httpGuards.js';
import { RpcErrorCode, type CallContext, type RpcDispatcher } from './jsonRpc.js';
import { SubscriptionHub, type SocketLimits } from './subscriptions.js';
import { serveExplorer, type StaticFile } from './explorer.js';

export interface RpcServerOptions {
  host: string;
  port: number;
  /** JWT secret; without one every caller has every permission (tests, embedded use). */
  secret?: Uint8Array;
  /** Origins allowed to call over HTTP from browsers (CORS); none by default. */
  corsOrigins?: string[];
  /** Origins allowed to open a WebSocket from browsers; none by default (the node's own origin always). */
  wsOrigins?: string[];
  /** WebSocket subscriptions on the same port. */
  subscriptions?: SubscriptionHub;
  /** Largest request body (and WebSocket message) in bytes (geth: 5 MiB). */
  maxBodyBytes?: number;
  /** Host header names accepted (besides loopback names); '*' accepts all. */
  allowedHosts?: string[];
  /** Time a client has to send its headers and whole body. */
  requestTimeoutMs?: number;
  /** Open connections (HTTP and WebSocket) one remote address may hold. */
  maxConnectionsPerAddress?: number;
  /** Per-socket WebSocket limits. */
  socketLimits?: Partial<SocketLimits>;
  /** Serve the block explorer at /explorer (its files, loaded at start). */
  explorer?: Map<string, StaticFile>;
}

export const DEFAULT_MAX_BODY = 5 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;
/** All connections together (a spread of addresses cannot exhaust file descriptors). */
export const MAX_CONNECTIONS = 1024;

export class RpcServer {
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly connections: ConnectionCounter;

  constructor(
    private readonly dispatcher: RpcDispatcher,
    private readonly options: RpcServerOptions,
    private readonly log: Logger,
  ) {
    this.connections = new ConnectionCounter(options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS);
  }

  async start(): Promise<{ host: string; port: number; url: string }> {
    const timeout = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    // Node checks request timeouts on an interval (30 s by default): check often enough to matter.
    const server = createServer({ requestTimeout: timeout, headersTimeout: timeout, connectionsCheckingInterval: Math.min(1000, timeout), keepAliveTimeout: 5_000 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => this.failed(res, error));
    });
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.server = server;
    if (this.options.subscriptions) this.serveWebSockets(server, this.options.subscriptions);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const host = this.options.host;
    return { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/` };
  }

  /** Counts the connection against its address; past the cap it is closed at once. */
  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    if (!this.connections.acquire(address)) {
      socket.destroy();
      return;
    }
    socket.once('close', () => this.connections.release(address));
    socket.on('error', () => socket.destroy());
  }

  private serveWebSockets(server: Server, hub: SubscriptionHub): void {
    const maxPayload = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const wss = new WebSocketServer({ noServer: true, maxPayload });
    this.wss = wss;
    wss.on('error', (error) => this.log.warn({ err: errorMessage(error) }, 'WebSocket server error'));
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      this.upgrade(wss, hub, req, socket, head).catch((error: unknown) => {
        this.log.warn({ err: errorMessage(error) }, 'WebSocket upgrade failed');
        socket.destroy();
      });
    });
  }

  private async upgrade(wss: WebSocketServer, hub: SubscriptionHub, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    if (!hostAllowed(req.headers.host, this.options.allowedHosts ?? [])) return void refuse('403 Forbidden');
    if (!originAllowed(req.headers.origin, req.headers.host, this.options.wsOrigins ?? [])) return void refuse('403 Forbidden');
    const context = await this.callContext(req, SubscriptionHub.tokenOf(req));
    if ('refused' in context) return void refuse('401 Unauthorized');
    if (socket.destroyed) return;
    wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws, context, this.dispatcher, { maxMessageBytes: this.options.maxBodyBytes ?? DEFAULT_MAX_BODY, ...this.options.socketLimits }));
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
  async callContext(req: IncomingMessage, authorization = req.headers.authorization): Promise<CallContext | TokenRefusal> {
    if (!this.options.secret) return { permissions: new Set(PERMISSIONS) };
    const address = req.socket.remoteAddress ?? '';
    const loopback = address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
    const permissions = await requestPermissions(this.options.secret, authorization, loopback);
    return permissions instanceof Set ? { permissions } : permissions;
  }

  private failed(res: ServerResponse, error: unknown): void {
    this.log.warn({ err: errorMessage(error) }, 'RPC request failed');
    if (!res.headersSent && !res.destroyed) res.writeHead(500, { connection: 'close' }).end();
    else res.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = (status: number, body: string) => res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(body);
    if (!hostAllowed(req.headers.host, this.options.allowedHosts ?? [])) return void text(403, 'invalid host specified\n');
    const origin = req.headers.origin;
    const corsOrigins = this.options.corsOrigins ?? [];
    if (!originAllowed(origin, req.headers.host, corsOrigins)) return void text(403, 'origin not allowed (see --rpc-cors)\n');
    if (origin !== undefined) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-headers', 'content-type, authorization');
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS' && origin !== undefined) return void res.writeHead(204).end();
    if (this.options.explorer && serveExplorer(req, res, this.options.explorer, req.headers.host!)) return;
    if (req.method !== 'POST' || (req.url ?? '/') !== '/') return void text(req.method === 'POST' ? 404 : 405, 'JSON-RPC answers POST on /\n');
    if (!isJsonContentType(req.headers['content-type'])) return void text(415, 'content-type must be application/json\n');
    const body = await this.readBody(req, res);
    if (body === null) return;
    const context = await this.callContext(req);
    if ('refused' in context) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.forbidden, message: context.refused } }));
      return;
    }
    const response = await this.dispatcher.handleBody(body, context);
    if (res.destroyed) return;
    if (response === null) res.writeHead(204).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(response);
  }

  /** The whole body, or null after answering 413 / when the client went away mid-upload. */
  private async readBody(req: IncomingMessage, res: ServerResponse): Promise<string | null> {
    const limit = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => {
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end(`request body above ${limit} bytes\n`);
      req.resume();
      return null;
    };
    if (Number.isFinite(declared) && declared > limit) return tooLarge();
    // Events rather than an async iterator: a small body arrives in one chunk, and the iterator's
    // promise per chunk cost about a tenth of a small call's time.
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const done = (value: string | null) => {
        if (settled) return;
        settled = true;
        resolve(value);
      };
      req.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > limit) done(tooLarge());
        else chunks.push(chunk);
      });
      req.on('end', () => done(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
      // The client aborted or timed out mid-body: nothing to answer.
      req.on('error', () => {
        if (settled) return;
        res.destroy();
        done(null);
      });
      req.on('close', () => {
        if (settled || req.complete) return;
        res.destroy();
        done(null);
      });
    });
  }
}
