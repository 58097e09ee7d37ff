// Fuzz targets for content addressing: the gateway's request parser, the gateway over real HTTP
// (every answer a status with a reason, the server never down), CARs from outside (reader and the
// stored-piece index) and DAG traversal over hostile blocks.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import * as dagPb from '@ipld/dag-pb';
import { sha256 } from 'multiformats/hashes/sha2';
import { CID, carBytes, dagBlocks, importBytes, indexStoredCar, readCar, type Block } from '../../src/content/index.js';
import { TrustlessGateway, parseGatewayRequest } from '../../src/gateway/trustlessGateway.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../helpers/chain.js';
import { ACCEPTED, Crash, mutated, refusalCode, type FuzzTarget } from './targets.js';

async function outcome(step: () => Promise<unknown>): Promise<string> {
  try {
    await step();
    return ACCEPTED;
  } catch (error) {
    return refusalCode(error);
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export async function contentTargets(): Promise<{ targets: FuzzTarget[]; close(): Promise<void> }> {
  const dir = tempDir('bcr-fuzz-content-');
  const blocks: Block[] = [];
  const file = Uint8Array.from({ length: 1_200_000 }, (_, i) => (i * 2654435761) >>> 24);
  const { cid } = await importBytes(file, { put: async (c, b) => void blocks.push({ cid: c, bytes: b }) });
  const chunks: Uint8Array[] = [];
  for await (const chunk of carBytes([cid], blocks)) chunks.push(chunk);
  const car = Buffer.concat(chunks);
  const byKey = new Map(blocks.map((b) => [b.cid.toString(), b.bytes]));
  const gateway = new TrustlessGateway({ get: async (c) => byKey.get(c.toString()) ?? null }, silentLogger, { limits: { maxConnectionsPerAddress: 64, requestsPerSecond: 1_000_000, maxCarBytes: 1 << 26, maxCarBlocks: 1000, uploadBytesPerSecond: null } });
  const base = await gateway.listen('127.0.0.1', 0);
  const root = cid.toString();
  const validPaths = [`/ipfs/${root}?format=raw`, `/ipfs/${root}?format=car&dag-scope=entity&entity-bytes=10:2000`, `/ipfs/${root}`, `/ipfs/${blocks[0]!.cid}?format=car&dag-scope=block`];
  const urlText = fc.oneof(
    fc.constantFrom(...validPaths),
    mutated(validPaths.map((p) => new TextEncoder().encode(p))).map((b) => Buffer.from(b).toString('latin1')),
    fc.string({ maxLength: 300 }).map((s) => `/ipfs/${s}`),
    fc.string({ maxLength: 100 }),
  );
  const accept = fc.option(fc.oneof(fc.constantFrom('application/vnd.ipld.raw', 'application/vnd.ipld.car; version=1; order=dfs', 'application/vnd.ipld.car;q=0, */*', 'text/html'), fc.string({ maxLength: 80 })), { nil: undefined });
  const method = fc.oneof({ arbitrary: fc.constant('GET'), weight: 4 }, { arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'), weight: 1 });
  const pieceBytes = fc.oneof(mutated([Uint8Array.from(car)]), fc.uint8Array({ maxLength: 512 }));
  let n = 0;
  const targets: FuzzTarget[] = [
    {
      name: 'gateway request parser (method, URL, Accept)',
      arbitrary: fc.tuple(method, urlText, accept),
      run(input) {
        const [m, url, a] = input as [string, string, string | undefined];
        return outcome(async () => parseGatewayRequest(m, url, a));
      },
    },
    {
      name: 'gateway over HTTP (a status and a reason, never down)',
      arbitrary: fc.tuple(fc.constantFrom('GET', 'HEAD'), urlText.filter((u) => /^[\x21-\x7e]*$/.test(u)), accept.filter((a) => a === undefined || /^[\x20-\x7e]*$/.test(a))),
      async run(input) {
        const [m, url, a] = input as [string, string, string | undefined];
        let response: Response;
        try {
          response = await fetch(new URL(url.startsWith('/') ? url.slice(1) : url, base), { method: m, ...(a !== undefined ? { headers: { accept: a } } : {}) });
          await response.arrayBuffer();
        } catch (error) {
          // The client may refuse to send what it cannot encode; the server being down is a crash.
          const alive = await fetch(`${base}ipfs/${root}?format=raw`).then((r) => r.status === 200, () => false);
          if (!alive) throw new Crash(`the gateway stopped answering after ${url}: ${String(error)}`);
          return 'CLIENT_REFUSED';
        }
        if (response.status >= 500) throw new Crash(`HTTP ${response.status} for ${url}`);
        return response.status === 200 || response.status === 304 ? ACCEPTED : `HTTP_${response.status}`;
      },
    },
    {
      name: 'CAR reader (every block verified)',
      arbitrary: pieceBytes,
      run(input) {
        return outcome(async () => {
          const { blocks: read } = await readCar(once(input as Uint8Array));
          for await (const block of read) void block;
        });
      },
    },
    {
      name: "a stored piece's CAR index",
      arbitrary: pieceBytes,
      async run(input) {
        // Never throws: a region that is not a CAR is null, a block that does not match is counted.
        const bytes = input as Uint8Array;
        const path = join(dir.path, `piece-${n++ % 4}`);
        writeFileSync(path, Buffer.concat([bytes, Buffer.alloc(64)]));
        let index;
        try {
          index = await indexStoredCar(path, 0, bytes.length + 64);
        } catch (error) {
          throw new Crash(`indexing threw: ${String(error)}`);
        }
        if (index && index.blocks.some((b) => b.offset + b.length > bytes.length + 64)) throw new Crash('an indexed block lies outside the piece');
        return index === null ? 'NOT_A_CAR' : index.rejected > 0 ? 'BLOCKS_REJECTED' : ACCEPTED;
      },
    },
    {
      name: 'DAG traversal over hostile dag-pb blocks',
      arbitrary: fc.uint8Array({ maxLength: 300 }),
      run(input) {
        return outcome(async () => {
          const bytes = input as Uint8Array;
          const rootCid = CID.createV1(dagPb.code, await sha256.digest(bytes));
          // Every link leads back to the same hostile block: the traversal must end (depth bound) or refuse.
          for await (const block of dagBlocks(rootCid, async () => bytes, 'all')) void block;
        });
      },
    },
  ];
  return {
    targets,
    async close() {
      await gateway.close();
      dir.cleanup();
    },
  };
}
