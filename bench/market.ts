// Market benchmark: (1) a piece sent over the deal-transfer protocol on loopback (libp2p TCP + noise
// + yamux into the real DealProvider, which writes it to disk and verifies its commitment) against
// the same bytes over a raw TCP socket into a file, measured in the same run; (2) proposal-to-active
// latency on a devnet: a node process (1 MiB sectors) and `bcr client deal --wait` for one 1 MiB piece.
import '../src/util/polyfills.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DealProvider, dealProtocols, openOrder, proposeDeal, sendPiece, signOrder, type DealSink } from '../src/market/index.js';
import { createClientHost } from '../src/p2p/clientHost.js';
import { addressOf, sha256, toHex } from '../src/primitives/index.js';
import { merkleRoot } from '../src/proofs/index.js';
import { signDealProposal, type DealProposal } from '../src/state/index.js';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../src/devnet.js';
import { createLogger, silentLogger } from '../src/util/logger.js';
import { openBenchChain } from './benchChain.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const MiB = 1 << 20;

/** MB/s of `data` sent over a raw TCP socket on loopback into a file (write backpressure honoured). */
async function rawTcpMBps(data: Uint8Array, path: string): Promise<number> {
  let received = 0;
  let done: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const server = createServer((socket) => {
    const file = createWriteStream(path);
    socket.pipe(file);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received === data.length) file.end(() => done());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const start = process.hrtime.bigint();
  for (let offset = 0; offset < data.length; offset += 256 * 1024) {
    if (!socket.write(data.subarray(offset, offset + 256 * 1024))) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await finished;
  const ms = msSince(start);
  socket.destroy();
  server.close();
  return data.length / 1e6 / (ms / 1000);
}

/** The deal-transfer protocol into a real DealProvider (chain, ask and sink stand in for a miner). */
async function libp2pTransfer(root: string, data: Uint8Array): Promise<{ mbps: number; verifyMs: number }> {
  const chainDir = join(root, 'chain');
  mkdirSync(chainDir, { recursive: true });
  const { chain, db } = await openBenchChain(chainDir);
  const providerHost = await createClientHost(['/ip4/127.0.0.1/tcp/0']);
  const protocols = dealProtocols(chain.params.network, chain.genesisId);
  const sink: DealSink = { addDeal: async () => ({ tx: 'bench' }), fundsProblem: async () => null, dealStatus: () => null };
  const provider = new DealProvider({
    libp2p: providerHost,
    protocols,
    chain,
    miner: () => ({ id: 1, sectorSize: 1 << 30, sink }),
    ask: () => openOrder('storageAsk', signOrder('storageAsk', { miner: 1, pricePerGiBSlot: 0n, minPieceBytes: 128, maxPieceBytes: 1 << 30, collateralPerGiB: 0n, expirySlot: Number.MAX_SAFE_INTEGER, seq: 1 }, sha256(new Uint8Array([2])), chain.params.chainId), chain.params.chainId),
    currentSlot: () => 0,
    nowMs: () => Date.now(),
    dir: join(root, 'incoming'),
    log: process.env.BENCH_DEBUG ? createLogger({ level: 'debug' }) : silentLogger,
  });
  await provider.start();
  const client = await createClientHost();
  const key = sha256(new Uint8Array([1]));
  const proposal: DealProposal = { pieceCommitment: merkleRoot(data), pieceBytes: data.length, client: addressOf(key), provider: 1, startSlot: 1000, endSlot: 2000, pricePerSlot: 0n, providerCollateral: 0n, clientCollateral: 0n, nonce: 1 };
  const request = { chainId: chain.params.chainId, proposal, clientSignature: signDealProposal(key, chain.params.chainId, proposal), dataBytes: data.length };
  const answer = await proposeDeal(client, providerHost.getMultiaddrs(), protocols, request);
  if (answer.code !== 'ACCEPTED') throw new Error(`proposal refused: ${answer.code} ${answer.message}`);
  const start = process.hrtime.bigint();
  let lastByteMs = 0;
  await sendPiece(client, providerHost.getMultiaddrs(), protocols, request, { size: data.length, read: async (o, l) => data.subarray(o, o + l) }, { onProgress: (p) => p.sent === p.total && (lastByteMs = msSince(start)), onRetry: (e) => process.env.BENCH_DEBUG && console.error('retry', e) });
  const totalMs = msSince(start);
  await client.stop();
  await provider.stop();
  await providerHost.stop();
  await db.close();
  return { mbps: data.length / 1e6 / (lastByteMs / 1000), verifyMs: totalMs - lastByteMs };
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** Seconds from `bcr client deal --wait` to an active deal, for one 1 MiB piece on a 1-miner devnet node. */
async function proposalToActive(root: string): Promise<{ seconds: number; slotMs: number }> {
  const slotMs = 250;
  const genesis = devnetGenesis({ miners: 1, nowMs: Date.now(), startDelayMs: 3000, slotMs, finality: 20, proofProfile: 'devnet', minerParams: { provingPeriod: 40, seedDelay: 2, powerLookback: 2, randomnessLookback: 2 } });
  const dataDir = join(root, 'devnet');
  const args = prepareDevnetNode({ dataDir, genesisJson: devnetGenesisJson(genesis), index: 0, miners: 1, rpcPort: 0, p2pPort: 0, bootstrap: [] });
  const node = spawn(process.execPath, ['--import', 'tsx', CLI, 'node', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const rpcUrl = await new Promise<string>((resolve) => {
      let buffer = '';
      node.stdout!.on('data', (d: Buffer) => {
        buffer += d.toString();
        const match = /"url":"(http:[^"]+)"/.exec(buffer);
        if (match) resolve(match[1]!);
      });
    });
    const env = { BCR_PASSWORD: 'bench' };
    const keys = ['--keystore', join(root, 'keys'), '--rpc', rpcUrl];
    const clientKey = join(root, 'client.key');
    writeFileSync(clientKey, toHex(new Uint8Array(randomBytes(32))));
    const devKey = join(root, 'dev.key');
    writeFileSync(devKey, '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
    const client = JSON.parse((await run(['wallet', 'import', '--key-file', clientKey, '--keystore', join(root, 'keys'), '--light-kdf', '--json'], env)).out) as { address: string };
    await run(['wallet', 'import', '--key-file', devKey, '--keystore', join(root, 'keys'), '--light-kdf'], env);
    await waitHeight(rpcUrl, 3);
    for (const step of [
      ['miner', 'ask', 'set', '--price', '1024', '--min-piece', '256B', '--max-piece', '1MiB', '--collateral', '0', '--data-dir', dataDir, '--rpc', rpcUrl],
      ['wallet', 'send', '--from', '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '--to', client.address, '--amount', '1', '--wait', ...keys],
      ['client', 'escrow', 'add', '--from', client.address, '--amount', '0.1', ...keys],
    ]) {
      const result = await run(step, env);
      if (result.code !== 0) throw new Error(`bcr ${step.join(' ')}: ${result.out}`);
    }
    const file = join(root, 'piece.bin');
    writeFileSync(file, randomBytes(MiB));
    const start = process.hrtime.bigint();
    const deal = await run(['client', 'deal', file, '--miner', '1', '--duration', '400', '--start-in', '40', '--from', client.address, '--wait', ...keys], env);
    if (deal.code !== 0) throw new Error(`bcr client deal: ${deal.out}`);
    return { seconds: msSince(start) / 1000, slotMs };
  } finally {
    node.kill('SIGKILL');
  }
}

async function waitHeight(rpcUrl: string, height: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_chainHead', params: [] }) });
      const { result } = (await response.json()) as { result: { height: number } };
      if (result.height >= height) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const marketBench: BenchArea = {
  name: 'market',
  async run(args) {
    const mib = Number(args.find((a) => a.startsWith('--mib='))?.slice(6) ?? 64);
    const root = mkdtempSync(join(tmpdir(), 'bcr-bench-market-'));
    try {
      const data = new Uint8Array(randomBytes(mib * MiB));
      const raw = await rawTcpMBps(data, join(root, 'raw.bin'));
      const libp2p = await libp2pTransfer(root, data);
      const latency = await proposalToActive(root);
      const rows: BenchRow[] = [
        { name: `piece transfer, deal protocol (${mib} MiB)`, value: libp2p.mbps, unit: 'MB/s', note: 'libp2p TCP+noise+yamux into the DealProvider, written to disk' },
        { name: `raw TCP, same bytes into a file`, value: raw, unit: 'MB/s', note: 'reference, same run' },
        { name: 'deal protocol / raw TCP', value: (100 * libp2p.mbps) / raw, unit: '%', note: 'goal >= 50%' },
        { name: `CommD check of the piece on arrival`, value: libp2p.verifyMs, unit: 'ms' },
        { name: 'proposal to active (1 MiB piece)', value: latency.seconds, unit: 's', note: `devnet node, ${latency.slotMs} ms slots, start in 40 slots; bcr client deal --wait` },
      ];
      return { rows, json: { pieceMiB: mib, transferMBps: libp2p.mbps, rawTcpMBps: raw, ratioPercent: (100 * libp2p.mbps) / raw, commDCheckMs: libp2p.verifyMs, proposalToActiveSeconds: latency.seconds, slotMs: latency.slotMs } };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
