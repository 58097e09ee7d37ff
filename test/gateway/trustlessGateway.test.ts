// The trustless gateway over real HTTP on 127.0.0.1: answers parsed by @ipld/car and checked block by
// block against their CIDs, the spec's formats, scopes and status codes, and its limits.
import { request } from 'node:http';
import { CarBlockIterator } from '@ipld/car/iterator';
import { CID } from 'multiformats/cid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileContent, importBytes, importPath, verifyBlock } from '../../src/content/index.js';
import { TrustlessGateway, parseGatewayRequest, type GatewayLimits } from '../../src/gateway/trustlessGateway.js';
import { silentLogger } from '../../src/util/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import parsePrometheus from 'parse-prometheus-text-format';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/chain.js';
import { pseudoRandom } from '../helpers/bytes.js';

const MiB = 1 << 20;
const dir = tempDir('bcr-gateway-');
const blocks = new Map<string, Uint8Array>();
const store = { put: async (cid: CID, bytes: Uint8Array) => void blocks.set(cid.toString(), bytes) };
const source = { get: async (cid: CID) => blocks.get(cid.toString()) ?? null };
// (Not periodic: equal chunks would be one block.)
const file = pseudoRandom(3 * MiB + 100, 2463534242);
let fileCid: CID;
let dirCid: CID;
const gateways: TrustlessGateway[] = [];
let base: string;

async function start(limits?: Partial<GatewayLimits>, blocksOf = source, nowMs: () => number = Date.now): Promise<string> {
  const gateway = new TrustlessGateway(blocksOf, silentLogger, { limits: { maxConnectionsPerAddress: 16, requestsPerSecond: 1000, maxCarBytes: 1 << 30, maxCarBlocks: 100_000, uploadBytesPerSecond: null, ...limits }, nowMs });
  gateways.push(gateway);
  return gateway.listen('127.0.0.1', 0);
}

beforeAll(async () => {
  fileCid = (await importBytes(file, store)).cid;
  const tree = join(dir.path, 'site');
  mkdirSync(join(tree, 'css'), { recursive: true });
  writeFileSync(join(tree, 'index.html'), '<h1>hi</h1>');
  writeFileSync(join(tree, 'css', 'a.css'), 'h1{}');
  dirCid = (await importPath(tree, store)).cid;
  base = await start();
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  dir.cleanup();
});

async function carBlocks(response: Response): Promise<{ roots: CID[]; blocks: { cid: CID; bytes: Uint8Array }[] }> {
  const iterator = await CarBlockIterator.fromBytes(new Uint8Array(await response.arrayBuffer()));
  const out = [];
  for await (const block of iterator) {
    await verifyBlock(block.cid, block.bytes);
    out.push(block);
  }
  return { roots: await iterator.getRoots(), blocks: out };
}

describe('trustless gateway', () => {
  it('serves one raw block, verifiable against its CID', async () => {
    for (const init of [{ headers: { accept: 'application/vnd.ipld.raw' } }, {}]) {
      const response = await fetch(`${base}ipfs/${fileCid}${'headers' in init ? '' : '?format=raw'}`, init);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/vnd.ipld.raw');
      expect(response.headers.get('etag')).toBe(`"${fileCid}.raw"`);
      expect(response.headers.get('cache-control')).toBe('public, max-age=29030400, immutable');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      await verifyBlock(fileCid, new Uint8Array(await response.arrayBuffer()));
    }
    const head = await fetch(`${base}ipfs/${fileCid}?format=raw`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(blocks.get(fileCid.toString())!.length);
    const cached = await fetch(`${base}ipfs/${fileCid}?format=raw`, { headers: { 'if-none-match': `"${fileCid}.raw"` } });
    expect(cached.status).toBe(304);
  });

  it('serves a file as a CAR in DFS order that rebuilds it, and the narrower scopes', async () => {
    const all = await fetch(`${base}ipfs/${fileCid}`, { headers: { accept: 'application/vnd.ipld.car; version=1; order=dfs' } });
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('application/vnd.ipld.car; version=1; order=dfs; dups=n');
    const car = await carBlocks(all);
    expect(car.roots.map(String)).toEqual([fileCid.toString()]);
    expect(car.blocks[0]!.cid.toString()).toBe(fileCid.toString());
    expect(car.blocks).toHaveLength(14); // the root and thirteen 256 KiB-or-less leaves
    const fromCar = new Map(car.blocks.map((b) => [b.cid.toString(), b.bytes]));
    const chunks: Uint8Array[] = [];
    for await (const chunk of fileContent(fileCid, { get: async (c) => fromCar.get(c.toString())! })) chunks.push(chunk);
    expect(Buffer.compare(Buffer.concat(chunks), file)).toBe(0);

    expect((await carBlocks(await fetch(`${base}ipfs/${fileCid}?format=car&dag-scope=block`))).blocks.map((b) => String(b.cid))).toEqual([String(fileCid)]);
    // A byte range reaches only the leaves that hold it: the four of the second MiB and the one holding the first byte of the third.
    const range = await carBlocks(await fetch(`${base}ipfs/${fileCid}?format=car&dag-scope=entity&entity-bytes=${MiB}:${2 * MiB}`));
    expect(range.blocks.map((b) => String(b.cid))).toEqual([String(fileCid), ...car.blocks.slice(5, 10).map((b) => String(b.cid))]);
    const tail = await carBlocks(await fetch(`${base}ipfs/${fileCid}?format=car&dag-scope=entity&entity-bytes=-50:*`));
    expect(tail.blocks.map((b) => String(b.cid))).toEqual([String(fileCid), String(car.blocks[13]!.cid)]);
  });

  it('takes back only raw leaves, and only once they are on the wire: a released buffer scribbled over spoils no answer', async () => {
    const released: Uint8Array[] = [];
    const copies = {
      // A fresh copy per read, as a node reads from disk; poisoned the moment it is handed back.
      get: async (cid: CID) => {
        const stored = blocks.get(cid.toString());
        return stored ? Buffer.from(stored) : null;
      },
      release: (bytes: Uint8Array) => {
        released.push(bytes);
        bytes.fill(0xff);
      },
    };
    const url = await start(undefined, copies);
    for (let i = 0; i < 3; i++) {
      const car = await carBlocks(await fetch(`${url}ipfs/${fileCid}?format=car`));
      expect(car.blocks).toHaveLength(14);
    }
    // Thirteen raw leaves per answer; the dag-pb root (whose links are followed after it is sent) never.
    expect(released).toHaveLength(3 * 13);
  });

  it("serves a directory's own node for dag-scope=entity and everything for all", async () => {
    const entity = await carBlocks(await fetch(`${base}ipfs/${dirCid}?format=car&dag-scope=entity`));
    expect(entity.blocks.map((b) => String(b.cid))).toEqual([String(dirCid)]);
    const everything = await carBlocks(await fetch(`${base}ipfs/${dirCid}?format=car`));
    expect(everything.blocks.length).toBe(4); // root, css/, css/a.css, index.html
  });

  it('answers what it cannot serve with the status the spec gives and a reason', async () => {
    const cases: [string, RequestInit, number, RegExp][] = [
      [`ipfs/${await unknownCid()}?format=raw`, {}, 404, /holds no block/],
      ['ipfs/not-a-cid?format=raw', {}, 400, /not a CID/],
      [`ipfs/${fileCid}`, {}, 406, /answers only application\/vnd\.ipld\.raw/],
      [`ipfs/${fileCid}`, { headers: { accept: 'text/html' } }, 406, /trustless/],
      [`ipfs/${fileCid}`, { headers: { accept: 'application/vnd.ipld.car; version=2' } }, 406, /version=1/],
      [`ipfs/${fileCid}?format=car&dag-scope=some`, {}, 400, /dag-scope must be/],
      [`ipfs/${fileCid}?format=car&dag-scope=entity&entity-bytes=a:b`, {}, 400, /entity-bytes must be/],
      [`ipfs/${fileCid}?format=car&entity-bytes=0:1`, {}, 400, /goes with dag-scope=entity/],
      [`ipfs/${dirCid}/index.html?format=raw`, {}, 400, /paths inside a DAG/],
      [`ipfs/${fileCid}?format=html`, {}, 400, /format must be raw or car/],
      ['ipns/example.com', {}, 404, /only \/ipfs\/\{cid\}/],
      [`ipfs/${fileCid}?format=raw`, { method: 'POST', body: 'x' }, 405, /read-only/],
      [`ipfs/${fileCid}?format=raw&pad=${'x'.repeat(3000)}`, {}, 414, /longer than/],
    ];
    for (const [path, init, status, reason] of cases) {
      const response = await fetch(`${base}${path}`, init);
      expect(response.status, path).toBe(status);
      expect(await response.text(), path).toMatch(reason);
    }
  });

  it('cuts a CAR past its caps or at a block it lacks, so the client sees it incomplete', async () => {
    const capped = await start({ maxCarBlocks: 2 });
    await expect(fetch(`${capped}ipfs/${fileCid}?format=car`).then((r) => r.arrayBuffer())).rejects.toThrow();
    // The second leaf is missing from this node.
    const leaves = (await carBlocks(await fetch(`${base}ipfs/${fileCid}?format=car`))).blocks;
    const holey = await start({}, { get: async (cid) => (cid.equals(leaves[2]!.cid) ? null : source.get(cid)) });
    await expect(fetch(`${holey}ipfs/${fileCid}?format=car`).then((r) => r.arrayBuffer())).rejects.toThrow();
    // A stored root that no longer hashes to its CID is not served.
    const damaged = await start({}, { get: async (cid) => (cid.equals(fileCid) ? new Uint8Array(10) : source.get(cid)) });
    expect((await fetch(`${damaged}ipfs/${fileCid}?format=raw`)).status).toBe(500);
  });

  it('limits the request rate and the connections of one address', async () => {
    // Time stands still for this gateway: a burst of twice the rate, then 429 with Retry-After.
    const slow = await start({ requestsPerSecond: 2 }, source, () => 1_000_000);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${slow}ipfs/${fileCid}?format=raw`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const narrow = await start({ maxConnectionsPerAddress: 1 });
    const url = new URL(`${narrow}ipfs/${fileCid}?format=raw`);
    // One connection held open; a second from the same address is closed at once.
    const first = request(url, { agent: false, headers: { connection: 'keep-alive' } });
    await new Promise<void>((resolve) => first.on('response', (r) => { r.resume(); resolve(); }).end());
    const second = await new Promise<string>((resolve) => request(url, { agent: false }).on('response', () => resolve('answered')).on('error', (e) => resolve(e.message)).end());
    expect(second).not.toBe('answered');
    first.destroy();
  });

  it('sends no faster than its upload cap, whole and correct', async () => {
    // 3 MiB at 8 MiB/s cannot arrive in under about a third of a second (a busy machine only adds to it).
    const capped = await start({ uploadBytesPerSecond: 8 << 20 });
    const began = performance.now();
    const car = await carBlocks(await fetch(`${capped}ipfs/${fileCid}?format=car`));
    const elapsed = performance.now() - began;
    expect(car.blocks).toHaveLength(14);
    expect(elapsed).toBeGreaterThan(300);
  });

  it('counts requests by format and status, and the block bytes it sent', async () => {
    const metrics = createMetrics();
    const gateway = new TrustlessGateway(source, silentLogger, { metrics });
    gateways.push(gateway);
    const url = await gateway.listen('127.0.0.1', 0);
    await (await fetch(`${url}ipfs/${fileCid}?format=raw`)).arrayBuffer();
    await (await fetch(`${url}ipfs/${fileCid}?format=car`)).arrayBuffer();
    await (await fetch(`${url}ipfs/not-a-cid`)).arrayBuffer();
    const families = parsePrometheus(await metrics.scrape());
    const value = (name: string, labels: Record<string, string>) => Number(families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? 0);
    expect(value('bcr_gateway_requests_total', { format: 'raw', status: '200' })).toBe(1);
    expect(value('bcr_gateway_requests_total', { format: 'car', status: '200' })).toBe(1);
    expect(value('bcr_gateway_requests_total', { format: 'none', status: '400' })).toBe(1);
    // The CAR of the file: its leaves (the file's bytes) and its root node.
    expect(value('bcr_gateway_sent_bytes_total', { format: 'car' })).toBe(file.length + blocks.get(fileCid.toString())!.length);
  });

  it('parses requests purely', () => {
    expect(parseGatewayRequest('GET', `/ipfs/${fileCid}/`, 'application/vnd.ipld.raw;q=0, application/vnd.ipld.car')).toMatchObject({ format: 'car', scope: 'all', range: null });
  });
});

async function unknownCid(): Promise<CID> {
  const { sha256 } = await import('multiformats/hashes/sha2');
  return CID.createV1(0x55, await sha256.digest(new TextEncoder().encode('nobody stored this')));
}
