// A trustless gateway in a process of its own for the retrieval bench: serves the blocks of one CAR
// file (indexed as a miner indexes a stored piece, read from the file per block into the node's
// pooled block buffers) and prints its URL.
// `gatewayServer.ts CAR [BYTES_PER_SECOND]`: the second argument caps its upload (a home uplink).
import { open, stat } from 'node:fs/promises';
import { indexStoredCar } from '../src/content/index.js';
import { TrustlessGateway } from '../src/gateway/trustlessGateway.js';
import { blockBuffers } from '../src/util/bufferPool.js';
import { silentLogger } from '../src/util/logger.js';

const [carPath, cap] = process.argv.slice(2) as [string, string | undefined];
const UPLOAD_CAP = cap ? Number(cap) : null;
const index = (await indexStoredCar(carPath, 0, (await stat(carPath)).size))!;
const where = new Map(index.blocks.map((b) => [b.cid.toString(), b]));
const handle = await open(carPath, 'r');
const gateway = new TrustlessGateway(
  {
    get: async (cid) => {
      const at = where.get(cid.toString());
      if (!at) return null;
      const bytes = blockBuffers.take(at.length);
      await handle.read(bytes, 0, at.length, at.offset);
      return bytes;
    },
    release: (bytes) => blockBuffers.give(bytes),
  },
  silentLogger,
  { limits: { maxConnectionsPerAddress: 64, requestsPerSecond: 10_000, maxCarBytes: 2 ** 34, maxCarBlocks: 1_000_000, uploadBytesPerSecond: UPLOAD_CAP } },
);
process.stdout.write(`${await gateway.listen('127.0.0.1', 0)}\n`);
// Gone with the bench: its stdin closes when the bench process ends, however it ends.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
