// Fetching a DAG from several real trustless gateways on 127.0.0.1 at once: every block verified,
// spread over the providers, a liar dropped, a provider lacking blocks skipped.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayBlockSource, probeProviders, type FetchEvent } from '../../src/client/gatewayFetch.js';
import { exportTo, importBytes } from '../../src/content/index.js';
import { TrustlessGateway, DEFAULT_GATEWAY_LIMITS, type GatewayBlocks } from '../../src/gateway/trustlessGateway.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../helpers/chain.js';
import { pseudoRandom } from '../helpers/bytes.js';

const dir = tempDir('bcr-gwfetch-');
const gateways: TrustlessGateway[] = [];
const blocks = new Map<string, Uint8Array>();
let root: CID;
const file = pseudoRandom(2 * (1 << 20) + 777, 88172645);

async function serve(source: GatewayBlocks): Promise<string> {
  const gateway = new TrustlessGateway(source, silentLogger, { limits: { ...DEFAULT_GATEWAY_LIMITS, requestsPerSecond: 10_000 } });
  gateways.push(gateway);
  return gateway.listen('127.0.0.1', 0);
}

const honest: GatewayBlocks = { get: async (cid) => blocks.get(cid.toString()) ?? null };

beforeAll(async () => {
  root = (await importBytes(file, { put: async (cid, bytes) => void blocks.set(cid.toString(), bytes) })).cid;
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  dir.cleanup();
});

describe('GatewayBlockSource', () => {
  it('spreads a file over every provider and writes it bit for bit', async () => {
    const urls = [await serve(honest), await serve(honest), await serve(honest)];
    const source = new GatewayBlockSource(urls.map((url, i) => ({ name: `miner ${i + 1}`, url })));
    const out = join(dir.path, 'spread.bin');
    await exportTo(root, source, out, { concurrency: 6 });
    expect(Buffer.compare(readFileSync(out), file)).toBe(0);
    const report = source.report();
    expect(report.reduce((n, p) => n + p.blocks, 0)).toBe(blocks.size);
    for (const p of report) expect(p.blocks).toBeGreaterThan(0);
  });

  it('drops a provider that sends a wrong block and gets it from the others', async () => {
    // A BCR gateway checks its own blocks before sending: the liar is a server of its own that flips
    // a byte of every leaf it serves.
    const server = createServer((req, res) => {
      const key = /^\/ipfs\/([^?]+)/.exec(req.url ?? '')?.[1] ?? '';
      const bytes = blocks.get(key);
      if (!bytes) return void res.writeHead(404).end();
      const bad = new Uint8Array(bytes);
      if (key !== root.toString()) bad[0] ^= 1;
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': String(bad.length) }).end(bad);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const liarUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const events: FetchEvent[] = [];
    const source = new GatewayBlockSource([{ name: 'liar', url: liarUrl }, { name: 'honest', url: await serve(honest) }], { onEvent: (e) => events.push(e) });
    const out = join(dir.path, 'liar.bin');
    await exportTo(root, source, out, { concurrency: 4 });
    expect(Buffer.compare(readFileSync(out), file)).toBe(0);
    expect(events.filter((e) => e.type === 'dropped').map((e) => e.provider)).toEqual(['liar']);
    expect(source.report().find((p) => p.name === 'liar')!.dropped).toMatch(/does not match/);
    server.close();
  });

  it('asks another provider for a block one of them lacks, and fails with a reason when none has it', async () => {
    const half: GatewayBlocks = { get: async (cid) => (cid.toString() === root.toString() ? blocks.get(cid.toString())! : null) };
    const source = new GatewayBlockSource([{ name: 'half', url: await serve(half) }, { name: 'full', url: await serve(honest) }]);
    const out = join(dir.path, 'half.bin');
    await exportTo(root, source, out);
    expect(Buffer.compare(readFileSync(out), file)).toBe(0);
    const lonely = new GatewayBlockSource([{ name: 'half', url: await serve(half) }]);
    await expect(exportTo(root, lonely, join(dir.path, 'none.bin'))).rejects.toThrow(/no provider could serve block .*half lacks it/);
  });

  it('waits out a provider that says 429 instead of dropping it', async () => {
    let refused = 0;
    const server = createServer((req, res) => {
      if (refused < 4) {
        refused++;
        return void res.writeHead(429, { 'retry-after': '1' }).end('slow down');
      }
      const bytes = blocks.get(/^\/ipfs\/([^?]+)/.exec(req.url ?? '')?.[1] ?? '');
      if (!bytes) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': String(bytes.length) }).end(bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const source = new GatewayBlockSource([{ name: 'busy', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }]);
    await exportTo(root, source, join(dir.path, 'busy.bin'));
    expect(Buffer.compare(readFileSync(join(dir.path, 'busy.bin')), file)).toBe(0);
    expect(refused).toBe(4);
    expect(source.report()[0]!.dropped).toBeNull();
    server.close();
  });

  it('finds which gateways hold a CID', async () => {
    const empty: GatewayBlocks = { get: async () => null };
    const candidates = [
      { name: 'has', url: await serve(honest) },
      { name: 'empty', url: await serve(empty) },
      { name: 'down', url: 'http://127.0.0.1:9/' },
    ];
    expect((await probeProviders(candidates, root, { timeoutMs: 2000 })).map((p) => p.name)).toEqual(['has']);
  });
});
