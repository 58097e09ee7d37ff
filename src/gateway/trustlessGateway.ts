// The IPFS Trustless Gateway (specs.ipfs.tech/http-gateways/trustless-gateway) over HTTP, for the
// blocks a node holds: `GET|HEAD /ipfs/{cid}` answered as one raw block (application/vnd.ipld.raw,
// or ?format=raw) or as a CAR (application/vnd.ipld.car, ?format=car) of `dag-scope=block|entity|all`
// with optional `entity-bytes=FROM:TO`. Every answer can be checked by the client against the CID,
// which is what lets any IPFS client fetch from any BCR node without trusting it.
//
// It faces the internet: one remote address holds at most a few connections and a bounded request
// rate, a CAR answer stops at a byte and block cap, only /ipfs/ is served, and a malformed CID or
// parameter is a 400 with the reason, never a crash.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LRUCache } from 'lru-cache';
import { varint } from 'multiformats';
import { ContentError, carHeader, dagBlocks, parseCid, parseEntityBytes, verifyBlock, type CID, type DagScope, type EntityBytes } from '../content/index.js';
import { BcrError, errorMessage } from '../primitives/errors.js';
import { ConnectionCounter } from '../util/connectionCounter.js';
import type { Metrics } from '../metrics/index.js';
import type { Logger } from '../util/logger.js';
import { PeerRateLimiter } from '../util/rateLimit.js';
import { UploadPacer } from '../util/uploadPacer.js';

/** The blocks a gateway serves. */
export interface GatewayBlocks {
  /** The block's bytes, or null when this node does not hold it. */
  get(cid: CID): Promise<Uint8Array | null>;
  /** Takes back a raw block's buffer once it is on the wire (to read the next block into). */
  release?(bytes: Uint8Array): void;
}

export interface GatewayLimits {
  maxConnectionsPerAddress: number;
  /** Requests per second one address may make (with a burst of as many again). */
  requestsPerSecond: number;
  /** A CAR answer stops (and the connection is cut, so the client sees it incomplete) past these. */
  maxCarBytes: number;
  maxCarBlocks: number;
  /** Every answer together sends at most this many bytes per second (null: no cap). */
  uploadBytesPerSecond: number | null;
}

/**
 * Paid access (null, or an admission that returns null: free). `admit` checks the request's payment
 * header and returns the meter each answer's bytes are charged through before they are sent; a
 * refusal is an HttpError (402 with the terms in headers).
 */
export interface GatewayPayments {
  /** The request header the payment travels in (lower case). */
  readonly header: string;
  admit(payment: string | null): Promise<{ charge(bytes: number): Promise<void> } | null>;
}

export interface GatewayOptions {
  limits?: GatewayLimits;
  nowMs?: () => number;
  metrics?: Metrics | null;
  payments?: GatewayPayments | null;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = { maxConnectionsPerAddress: 16, requestsPerSecond: 200, maxCarBytes: 1 << 30, maxCarBlocks: 100_000, uploadBytesPerSecond: null };

const RAW = 'application/vnd.ipld.raw';
const CAR = 'application/vnd.ipld.car';
const MAX_URL = 2048;
const RAW_CODEC = 0x55;
/** Connections over every address together (each holds up to SOCKET_BUFFER_BYTES of answer). */
const MAX_CONNECTIONS = 1024;
const SOCKET_BUFFER_BYTES = 256 * 1024;
const IMMUTABLE = 'public, max-age=29030400, immutable';

type Format = 'raw' | 'car';

/** A refusal with its HTTP status (its code is `HTTP_<status>`). */
export class HttpError extends BcrError {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP_${status}`, message);
  }
}

/** What a request asks for, or the HttpError that says why it cannot be answered. */
export interface GatewayRequest {
  cid: CID;
  format: Format;
  scope: DagScope;
  range: EntityBytes | null;
}

/** Parses method, URL and Accept into a request (pure: no I/O). */
export function parseGatewayRequest(method: string | undefined, rawUrl: string | undefined, accept: string | undefined): GatewayRequest {
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'the gateway is read-only: GET and HEAD', { allow: 'GET, HEAD' });
  const text = rawUrl ?? '/';
  if (text.length > MAX_URL) throw new HttpError(414, `the URL is longer than ${MAX_URL} characters`);
  let url: URL;
  try {
    url = new URL(text, 'http://gateway.invalid');
  } catch {
    throw new HttpError(400, 'the URL does not parse');
  }
  const match = /^\/ipfs\/([^/]+)(\/.*)?$/.exec(url.pathname);
  if (!match) throw new HttpError(404, 'only /ipfs/{cid} is served here');
  if (match[2] !== undefined && match[2] !== '/') throw new HttpError(400, 'paths inside a DAG are not served: ask for the CID of the entry itself');
  let cid: CID;
  try {
    cid = parseCid(decodeURIComponent(match[1]!));
  } catch (error) {
    throw new HttpError(400, errorMessage(error));
  }
  const format = chooseFormat(url.searchParams.get('format'), accept);
  const scopeText = url.searchParams.get('dag-scope') ?? 'all';
  if (scopeText !== 'block' && scopeText !== 'entity' && scopeText !== 'all') throw new HttpError(400, `dag-scope must be block, entity or all, got "${scopeText}"`);
  const bytesText = url.searchParams.get('entity-bytes');
  let range: EntityBytes | null = null;
  if (bytesText !== null) {
    if (scopeText !== 'entity') throw new HttpError(400, 'entity-bytes goes with dag-scope=entity');
    try {
      range = parseEntityBytes(bytesText);
    } catch (error) {
      throw new HttpError(400, errorMessage(error));
    }
  }
  return { cid, format, scope: scopeText, range };
}

function chooseFormat(query: string | null, accept: string | undefined): Format {
  if (query !== null) {
    if (query === 'raw' || query === 'car') return query;
    throw new HttpError(400, `format must be raw or car, got "${query}"`);
  }
  for (const part of (accept ?? '').split(',')) {
    const [type, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    if (params.some((p) => /^q=0(\.0*)?$/.test(p))) continue;
    if (type === RAW) return 'raw';
    if (type === CAR) {
      const version = params.find((p) => p.startsWith('version='));
      if (version && version !== 'version=1') continue;
      const order = params.find((p) => p.startsWith('order='));
      if (order && order !== 'order=dfs' && order !== 'order=unk') continue;
      return 'car';
    }
  }
  throw new HttpError(406, `this trustless gateway answers only ${RAW} or ${CAR}; version=1; order=dfs (Accept, or ?format=raw|car)`);
}

export class TrustlessGateway {
  private readonly connections: ConnectionCounter;
  private readonly rate: PeerRateLimiter;
  private readonly pacer: UploadPacer | null;
  private server: Server | null = null;
  private readonly limits: GatewayLimits;
  private readonly nowMs: () => number;
  private readonly metrics: Metrics | null;
  private readonly payments: GatewayPayments | null;
  /**
   * Blocks already checked against their CID this run. Each block is hashed the first time it is
   * served (the index checked it when its piece was indexed, and every client checks it again):
   * hashing it on every answer cost a third of what a hot gateway does.
   */
  private readonly verified = new LRUCache<string, true>({ max: 1 << 17 });

  constructor(
    private readonly blocks: GatewayBlocks,
    private readonly log: Logger,
    options: GatewayOptions = {},
  ) {
    const limits = options.limits ?? DEFAULT_GATEWAY_LIMITS;
    this.limits = limits;
    this.nowMs = options.nowMs ?? Date.now;
    this.metrics = options.metrics ?? null;
    this.payments = options.payments ?? null;
    this.connections = new ConnectionCounter(limits.maxConnectionsPerAddress);
    this.rate = new PeerRateLimiter({ capacity: limits.requestsPerSecond * 2, refillPerSecond: limits.requestsPerSecond });
    this.pacer = limits.uploadBytesPerSecond === null ? null : new UploadPacer(limits.uploadBytesPerSecond);
  }

  async listen(host: string, port: number): Promise<string> {
    // Clients fetch block by block on kept-alive connections: a long keep-alive spares them the race
    // of reusing a connection the server is closing.
    // A socket takes a few blocks before it pushes back (16 KiB, the default, made every 256 KiB block
    // wait for a drain); with at most MAX_CONNECTIONS sockets the memory this holds stays bounded.
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 30_000, highWaterMark: SOCKET_BUFFER_BYTES }, (req, res) => void this.handle(req, res));
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket) => {
      const address = socket.remoteAddress ?? 'unknown';
      if (!this.connections.acquire(address)) {
        socket.destroy();
        return;
      }
      socket.once('close', () => this.connections.release(address));
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answers one request (exposed for servers that mount the gateway themselves). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let format = 'none';
    res.once('finish', () => this.metrics?.gatewayRequests.inc({ format, status: String(res.statusCode) }));
    try {
      if (!this.rate.allow(req.socket.remoteAddress ?? 'unknown', 1, this.nowMs())) throw new HttpError(429, 'too many requests from this address', { 'retry-after': '1' });
      const request = parseGatewayRequest(req.method, req.url, req.headers.accept);
      format = request.format;
      const root = await this.blocks.get(request.cid);
      if (!root) throw new HttpError(404, `this node holds no block ${request.cid}`);
      await this.verify(request.cid, root).catch(() => {
        throw new HttpError(500, `the stored block ${request.cid} is damaged`);
      });
      const etag = request.format === 'raw' ? `"${request.cid}.raw"` : `"${request.cid}.car.${request.scope}${request.range ? `.${request.range.from}-${request.range.to ?? '*'}` : ''}"`;
      const headers: Record<string, string> = {
        'content-type': request.format === 'raw' ? RAW : `${CAR}; version=1; order=dfs; dups=n`,
        etag,
        'cache-control': IMMUTABLE,
        'x-content-type-options': 'nosniff',
        'x-ipfs-path': `/ipfs/${request.cid}`,
        'content-disposition': `attachment; filename="${request.cid}.${request.format === 'raw' ? 'bin' : 'car'}"`,
        vary: 'Accept',
      };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers).end();
        return;
      }
      // Presence is free to ask (HEAD); a HEAD that carries a payment delivers it (a payer's last voucher).
      const payment = this.payments ? headerValue(req.headers[this.payments.header]) : null;
      const meter = this.payments && (req.method !== 'HEAD' || payment !== null) ? await this.payments.admit(payment) : null;
      if (request.format === 'raw') {
        if (req.method !== 'HEAD') {
          await meter?.charge(root.length);
          await this.pacer?.take(root.length);
        }
        res.writeHead(200, { ...headers, 'content-length': String(root.length) });
        res.end(req.method === 'HEAD' ? undefined : root);
        if (req.method !== 'HEAD') this.metrics?.gatewayBytes.inc({ format: 'raw' }, root.length);
        return;
      }
      res.writeHead(200, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      await this.streamCar(request, res, meter);
    } catch (error) {
      if (res.headersSent) {
        // Mid-CAR: cutting the connection is the only way to tell the client the answer is incomplete.
        this.log.warn({ err: errorMessage(error), url: req.url }, 'Gateway answer cut off');
        res.destroy();
        return;
      }
      const status = error instanceof HttpError ? error.status : error instanceof ContentError ? 502 : 500;
      if (!(error instanceof HttpError)) this.log.error({ err: errorMessage(error), url: req.url }, 'Gateway request failed');
      const headers = error instanceof HttpError ? error.headers : {};
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers });
      res.end(`${error instanceof Error ? error.message : String(error)}\n`);
    }
  }

  private async streamCar(request: GatewayRequest, res: ServerResponse, meter: { charge(bytes: number): Promise<void> } | null): Promise<void> {
    let bytes = 0;
    let blocks = 0;
    const get = async (cid: CID): Promise<Uint8Array> => {
      const block = await this.blocks.get(cid);
      if (!block) throw new ContentError('BLOCK_MISMATCH', `this node holds no block ${cid} (under ${request.cid})`);
      await this.verify(cid, block);
      return block;
    };
    // CARv1 written straight onto the response: the header once, then `varint | CID | block` per
    // block (no intermediate copies; the socket's backpressure paces the reads).
    if (!(await this.write(res, await carHeader([request.cid])))) return;
    for await (const block of dagBlocks(request.cid, get, request.scope, request.range)) {
      bytes += block.bytes.length;
      blocks++;
      if (bytes > this.limits.maxCarBytes || blocks > this.limits.maxCarBlocks) throw new ContentError('BLOCK_MISMATCH', `the CAR is larger than this gateway serves (${this.limits.maxCarBlocks} blocks, ${this.limits.maxCarBytes} bytes): ask for a smaller scope`);
      const cidBytes = block.cid.bytes;
      // Charged block by block: a payer that stops paying gets a CAR cut off (incomplete).
      await meter?.charge(block.bytes.length);
      await this.pacer?.take(block.bytes.length);
      // The section's head (length varint and CID) in one buffer: two buffers per block on the socket.
      const sectionLength = cidBytes.length + block.bytes.length;
      const lengthBytes = varint.encodingLength(sectionLength);
      const head = new Uint8Array(lengthBytes + cidBytes.length);
      varint.encodeTo(sectionLength, head);
      head.set(cidBytes, lengthBytes);
      res.cork();
      res.write(head);
      // A raw leaf is never read again once written (a dag-pb node is: its links are followed).
      const release = this.blocks.release && block.cid.code === RAW_CODEC ? this.blocks.release.bind(this.blocks, block.bytes) : undefined;
      const more = res.write(block.bytes, release);
      res.uncork();
      this.metrics?.gatewayBytes.inc({ format: 'car' }, block.bytes.length);
      if (!more && !(await drained(res))) return; // the client went away
    }
    res.end();
  }

  private async verify(cid: CID, block: Uint8Array): Promise<void> {
    const key = cid.toString();
    if (this.verified.has(key)) return;
    await verifyBlock(cid, block);
    this.verified.set(key, true);
  }

  private async write(res: ServerResponse, bytes: Uint8Array): Promise<boolean> {
    return res.write(bytes) || drained(res);
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/** Resolves true once the response can take more, false if it closed first. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
