// Retrieval benchmark: a piece fetched over the retrieval protocol (libp2p TCP + noise + yamux, the
// real RetrievalProvider reading an unsealed file, every chunk's Merkle path checked by the client)
// from 1 provider and from 3 providers in parallel (a third of the range each), against the same
// bytes over a raw loopback TCP socket and over a bare libp2p stream in the same run; Reed-Solomon
// encode and decode rates; and the cost of chunk verification per MB. Each provider runs in a
// process of its own (on this 2-core machine the three share the cores with the client).
import '../src/util/polyfills.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Libp2p } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { CarFileSink, importBytes, readCar } from '../src/content/index.js';
import { RETRIEVAL_CHUNK_BYTES, decodeShards, encodeShards, retrieveRange, retrievalProtocols } from '../src/market/index.js';
import { createClientHost } from '../src/p2p/clientHost.js';
import { toHex } from '../src/primitives/index.js';
import { chunkProof, chunkTree, merkleRoot, verifyChunk } from '../src/proofs/index.js';
import { openBenchChain } from './benchChain.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

const MiB = 1 << 20;
const PROVIDER = fileURLToPath(new URL('./retrievalProvider.ts', import.meta.url));
const GATEWAY = fileURLToPath(new URL('./gatewayServer.ts', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** MB/s of one answer read with node:http (what a Node client or curl does; undici's fetch body is slower to drain). */
async function httpMBps(url: string): Promise<number> {
  const start = process.hrtime.bigint();
  const bytes = await new Promise<number>((resolve, reject) => {
    httpGet(url, (res) => {
      let count = 0;
      res.on('data', (chunk: Buffer) => (count += chunk.length));
      res.on('end', () => resolve(count));
      res.on('error', reject);
    }).on('error', reject);
  });
  return bytes / 1e6 / (msSince(start) / 1000);
}

/**
 * The piece as a UnixFS file in a CAR, served by a gateway process: MB/s of the CAR's first answer
 * (every block read and hashed by the gateway), of later answers (blocks checked once per run), and
 * read by a client that checks every block. Later answers alternate with raw TCP runs over the same
 * bytes, and each is compared with the raw run beside it: the machine is shared, and a run of either
 * can be far off, so the ratio is the median of pairs measured under the same load.
 */
async function gatewayMBps(root: string, data: Uint8Array, children: ChildProcess[], runs: number): Promise<{ first: number; again: number; raw: number; percentOfRaw: number; verified: number }> {
  const carPath = join(root, 'piece.car');
  const sink = await CarFileSink.create(carPath);
  const { cid } = await importBytes(data, sink);
  await sink.finish(cid);
  const child = spawn(process.execPath, ['--import', 'tsx', GATEWAY, carPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const url = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const carUrl = `${url}ipfs/${cid}?format=car`;
  const first = await httpMBps(carUrl);
  const pairs: { raw: number; gateway: number }[] = [];
  for (let i = 0; i < runs; i++) pairs.push({ raw: await rawTcpMBps(data), gateway: await httpMBps(carUrl) });
  // As a client would: every block parsed out of the stream and hashed against its CID.
  const start = process.hrtime.bigint();
  const { blocks } = await readCar((await fetch(carUrl)).body! as AsyncIterable<Uint8Array>);
  let verifiedBytes = 0;
  for await (const block of blocks) verifiedBytes += block.bytes.length;
  if (verifiedBytes < data.length) throw new Error(`the gateway sent ${verifiedBytes} bytes of blocks for ${data.length}`);
  return { first, again: median(pairs.map((p) => p.gateway)), raw: median(pairs.map((p) => p.raw)), percentOfRaw: median(pairs.map((p) => (100 * p.gateway) / p.raw)), verified: verifiedBytes / 1e6 / (msSince(start) / 1000) };
}

async function rawTcpMBps(data: Uint8Array): Promise<number> {
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  // The server sends (as a provider would), the client counts what arrives.
  const server = createServer(async (socket) => {
    for (let offset = 0; offset < data.length; offset += RETRIEVAL_CHUNK_BYTES) {
      if (!socket.write(data.subarray(offset, offset + RETRIEVAL_CHUNK_BYTES))) await new Promise((resolve) => socket.once('drain', resolve));
    }
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const start = process.hrtime.bigint();
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received === data.length) done();
  });
  await finished;
  const ms = msSince(start);
  socket.destroy();
  server.close();
  return data.length / 1e6 / (ms / 1000);
}

/** The transport's own limit: the same bytes in 256 KiB frames over a bare libp2p stream (TCP, noise, yamux). */
async function bareLibp2pMBps(data: Uint8Array): Promise<number> {
  const server = await createClientHost(['/ip4/127.0.0.1/tcp/0']);
  const client = await createClientHost();
  const frame = 256 * 1024;
  await server.handle('/bcr/bench/bare/1', async (stream) => {
    const lp = lpStream(stream, { maxDataLength: frame });
    await lp.read();
    for (let offset = 0; offset < data.length; offset += frame) await lp.write(data.subarray(offset, offset + frame));
    await stream.close();
  });
  const stream = await client.dialProtocol(server.getMultiaddrs(), '/bcr/bench/bare/1');
  const lp = lpStream(stream, { maxDataLength: frame });
  const start = process.hrtime.bigint();
  await lp.write(new Uint8Array(1));
  for (let got = 0; got < data.length; ) got += (await lp.read()).byteLength;
  const ms = msSince(start);
  await client.stop();
  await server.stop();
  return data.length / 1e6 / (ms / 1000);
}

export const retrievalBench: BenchArea = {
  name: 'retrieval',
  async run(args) {
    const mib = Number(args.find((a) => a.startsWith('--mib='))?.slice(6) ?? 64);
    const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 9);
    const root = mkdtempSync(join(tmpdir(), 'bcr-bench-retrieval-'));
    const hosts: Libp2p[] = [];
    const children: ChildProcess[] = [];
    try {
      const piece = new Uint8Array(randomBytes(mib * MiB));
      const commitment = toHex(merkleRoot(piece));
      const path = join(root, 'sector.unsealed');
      writeFileSync(path, piece);
      mkdirSync(join(root, 'chain'), { recursive: true });
      const { chain, db } = await openBenchChain(join(root, 'chain'));
      const protocols = retrievalProtocols(chain.params.network, chain.genesisId);
      // Each provider is a process of its own, as on a network.
      const addresses: Multiaddr[] = [];
      for (let i = 0; i < 3; i++) {
        const child = spawn(process.execPath, ['--import', 'tsx', PROVIDER, path, commitment, join(root, `provider-${i}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(child);
        addresses.push(multiaddr(await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())))));
      }
      const client = await createClientHost();
      hosts.push(client);
      const fetch = (i: number, offset: number, length: number) => retrieveRange(client, addresses[i]!, protocols, { pieceCommitment: merkleRoot(piece), offset, length, pricePerByte: 0n });
      // Warm each provider's chunk tree (built once per piece, then cached).
      await Promise.all([0, 1, 2].map((i) => fetch(i, 0, RETRIEVAL_CHUNK_BYTES)));
      let start = process.hrtime.bigint();
      await fetch(0, 0, piece.length);
      const one = piece.length / 1e6 / (msSince(start) / 1000);
      const third = piece.length / 3;
      const cut = Math.floor(third / RETRIEVAL_CHUNK_BYTES) * RETRIEVAL_CHUNK_BYTES;
      start = process.hrtime.bigint();
      await Promise.all([fetch(0, 0, cut), fetch(1, cut, cut), fetch(2, 2 * cut, piece.length - 2 * cut)]);
      const three = piece.length / 1e6 / (msSince(start) / 1000);
      const bare = await bareLibp2pMBps(piece);
      const gateway = await gatewayMBps(root, piece, children, runs);
      const raw = gateway.raw;

      // Reed-Solomon over the same bytes: 3 data + 2 parity, rebuilt with two data shards lost.
      start = process.hrtime.bigint();
      const { shards, shardBytes } = await encodeShards(piece, 3, 2);
      const encode = piece.length / 1e6 / (msSince(start) / 1000);
      start = process.hrtime.bigint();
      await decodeShards([null, null, shards[2]!, shards[3]!, shards[4]!], 3, 2, shardBytes, piece.length);
      const decode = piece.length / 1e6 / (msSince(start) / 1000);

      // Chunk verification alone: a chunk's root and its path.
      const levels = chunkTree(piece, RETRIEVAL_CHUNK_BYTES);
      const count = piece.length / RETRIEVAL_CHUNK_BYTES;
      const rootHash = merkleRoot(piece);
      start = process.hrtime.bigint();
      for (let i = 0; i < count; i++) verifyChunk(rootHash, piece.length, RETRIEVAL_CHUNK_BYTES, i, piece.subarray(i * RETRIEVAL_CHUNK_BYTES, (i + 1) * RETRIEVAL_CHUNK_BYTES), chunkProof(levels, i));
      const verifyMsPerMB = msSince(start) / (piece.length / 1e6);
      await db.close();

      const rows: BenchRow[] = [
        { name: `retrieval, 1 provider (${mib} MiB, chunks verified)`, value: one, unit: 'MB/s' },
        { name: 'retrieval, 3 providers in parallel', value: three, unit: 'MB/s' },
        { name: 'raw TCP, same bytes', value: raw, unit: 'MB/s', note: `reference, same run (median of ${runs})` },
        { name: 'bare libp2p stream, same bytes', value: bare, unit: 'MB/s', note: 'TCP+noise+yamux, no protocol work: the transport limit' },
        { name: '1 provider / raw TCP', value: (100 * one) / raw, unit: '%', note: 'goal >= 50%' },
        { name: '1 provider / bare libp2p stream', value: (100 * one) / bare, unit: '%' },
        { name: 'IPFS gateway, CAR of the same bytes, first answer', value: gateway.first, unit: 'MB/s', note: `${((100 * gateway.first) / raw).toFixed(0)}% of raw TCP (every block read and hashed by the gateway)` },
        { name: 'IPFS gateway, CAR of the same bytes, again', value: gateway.again, unit: 'MB/s', note: `blocks read from disk, hashed once per run (median of ${runs})` },
        { name: 'IPFS gateway again / raw TCP beside it', value: gateway.percentOfRaw, unit: '%', note: `goal >= 50% (median of ${runs} pairs)` },
        { name: 'IPFS gateway, every block verified by the client', value: gateway.verified, unit: 'MB/s', note: `${((100 * gateway.verified) / raw).toFixed(0)}% of raw TCP` },
        { name: 'Reed-Solomon encode 3+2', value: encode, unit: 'MB/s', note: '@ronomon/reed-solomon, native' },
        { name: 'Reed-Solomon decode, 2 data shards lost', value: decode, unit: 'MB/s' },
        { name: `chunk verification (${RETRIEVAL_CHUNK_BYTES / 1024} KiB chunks)`, value: verifyMsPerMB, unit: 'ms/MB' },
      ];
      return { rows, json: { pieceMiB: mib, oneProviderMBps: one, threeProvidersMBps: three, rawTcpMBps: raw, bareLibp2pMBps: bare, gatewayFirstMBps: gateway.first, gatewayMBps: gateway.again, gatewayVerifiedMBps: gateway.verified, gatewayPercentOfRaw: gateway.percentOfRaw, gatewayFirstPercentOfRaw: (100 * gateway.first) / raw, onePercentOfRaw: (100 * one) / raw, rsEncodeMBps: encode, rsDecodeMBps: decode, chunkVerifyMsPerMB: verifyMsPerMB } };
    } finally {
      for (const child of children) child.kill('SIGKILL');
      for (const host of hosts) await host.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
