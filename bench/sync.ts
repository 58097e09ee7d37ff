// Sync benchmark: a 2,000-block test-network chain (miner loop: VRF, WinningPoSt, WindowPoSt txs,
// transfers) synced over loopback by a fresh node from one and from three peers (separate node
// processes serving copies of the chain), against the local import rate of the same blocks measured
// in the same run (plain, and with the sync pipeline's worker-thread preverification); then the
// gossip latency of blocks across four nodes.
import '../src/util/polyfills.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlockPreverifier, blockId, type Block } from '../src/chain/index.js';
import { slotStart } from '../src/consensus/index.js';
import { startNode, type BcrNode } from '../src/node.js';
import { hexKey } from '../src/primitives/index.js';
import { silentLogger } from '../src/util/logger.js';
import { benchGenesis, buildBenchChain, openBenchChain } from './benchChain.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** A `bcr node` process serving `dataDir` (no mining); resolves with its libp2p address. */
function startPeer(dataDir: string): Promise<{ child: ChildProcess; address: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'node', '--network', 'test', '--data-dir', dataDir, '--rpc-port', '0', '--p2p-port', '0', '--no-mine'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      const match = /"addresses":\["([^"]+)"/.exec(buffer);
      if (match) resolve({ child, address: match[1]! });
    });
    child.on('exit', (code) => reject(new Error(`peer exited with ${code}`)));
  });
}

function stopPeer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function emptyNode(root: string, name: string, source: string, bootstrap: string[]): Promise<BcrNode> {
  const dataDir = join(root, name);
  mkdirSync(dataDir, { recursive: true });
  copyFileSync(join(source, 'genesis.json'), join(dataDir, 'genesis.json'));
  return startNode({ network: 'test', dataDir, rpcHost: '127.0.0.1', rpcPort: 0, mine: false, p2p: { host: '127.0.0.1', port: 0, bootstrap }, log: silentLogger });
}

/** Blocks/s of a fresh node syncing the whole chain from `peers` (timed from its first import). */
async function syncFrom(root: string, name: string, source: string, peers: string[], target: number): Promise<number> {
  const node = await emptyNode(root, name, source, peers);
  let first = 0n;
  const done = new Promise<bigint>((resolve) =>
    node.chain.onHeadChange((change) => {
      if (first === 0n) first = process.hrtime.bigint();
      if (change.head.header.height >= target) resolve(process.hrtime.bigint());
    }),
  );
  const end = await done;
  await node.stop();
  return (target - 1) / (Number(end - first) / 1e9);
}

/** Imports `blocks` into a fresh chain, optionally preverifying each 64-block batch one batch ahead. */
async function localImport(dataDir: string, blocks: Block[], now: number, preverify: boolean): Promise<number> {
  mkdirSync(dataDir, { recursive: true });
  const { chain, db } = await openBenchChain(dataDir);
  const preverifier = preverify ? new BlockPreverifier(chain) : null;
  await preverifier?.prepare([]); // the worker has booted (as in a node, before sync starts)
  const batches: Block[][] = [];
  for (let i = 0; i < blocks.length; i += 64) batches.push(blocks.slice(i, i + 64));
  const start = process.hrtime.bigint();
  // As sync does: batches are preverified ahead (up to 4 in flight) while earlier ones import.
  const prepared: Promise<void>[] = [];
  for (let i = 0; i < batches.length; i++) {
    for (let j = prepared.length; preverifier && j < Math.min(batches.length, i + 4); j++) prepared.push(preverifier.prepare(batches[j]!));
    await prepared[i];
    for (const block of batches[i]!) await chain.importBlock(block, now);
  }
  const ms = msSince(start);
  await preverifier?.close();
  await db.close();
  return (blocks.length * 1000) / ms;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Gossip latency: blocks imported at node A (as if mined) reaching B, C and D (full mesh, one process). */
async function gossipLatency(root: string, source: string, blocks: Block[], now: number): Promise<number[]> {
  const a = await emptyNode(root, 'gossip-a', source, []);
  const others: BcrNode[] = [];
  for (const name of ['gossip-b', 'gossip-c', 'gossip-d']) others.push(await emptyNode(root, name, source, [a.network!.addresses()[0]!, ...others.map((n) => n.network!.addresses()[0]!)]));
  const sentAt = new Map<string, bigint>();
  const latencies: number[] = [];
  let arrivals = 0;
  for (const node of others) {
    node.chain.onHeadChange((change) => {
      for (const block of change.applied) {
        const sent = sentAt.get(hexKey(blockId(block.header)));
        if (sent !== undefined) latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
        arrivals++;
      }
    });
  }
  const subscribed = () => others.every((n) => n.network!.libp2p.services.pubsub.getSubscribers(a.network!.topics.blocks).length > 0) && a.network!.libp2p.services.pubsub.getSubscribers(a.network!.topics.blocks).length === 3;
  while (!subscribed()) await new Promise((r) => setTimeout(r, 50));
  for (const block of blocks) {
    sentAt.set(hexKey(blockId(block.header)), process.hrtime.bigint());
    await a.chain.importBlock(block, now);
    await new Promise((r) => setTimeout(r, 50));
  }
  const deadline = Date.now() + 10_000;
  while (arrivals < blocks.length * 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const node of [a, ...others]) await node.stop();
  return latencies.sort((x, y) => x - y);
}

export const syncBench: BenchArea = {
  name: 'sync',
  async run(args) {
    const target = args.includes('--quick') ? 400 : 2000;
    const root = mkdtempSync(join(tmpdir(), 'bcr-bench-sync-'));
    const source = join(root, 'source');
    mkdirSync(source);
    const chain = await buildBenchChain(source, target);
    const now = slotStart(benchGenesis().params, chain.headSlot + 10);

    const plain = await localImport(join(root, 'local-plain'), chain.blocks, now, false);
    const preverified = await localImport(join(root, 'local-preverified'), chain.blocks, now, true);

    const peers: { child: ChildProcess; address: string }[] = [];
    const rows: BenchRow[] = [];
    let oneRate = 0;
    let threeRate = 0;
    try {
      for (let i = 0; i < 3; i++) {
        const dir = join(root, `peer-${i}`);
        cpSync(source, dir, { recursive: true });
        peers.push(await startPeer(dir));
      }
      oneRate = await syncFrom(root, 'sync-one', source, [peers[0]!.address], target);
      threeRate = await syncFrom(root, 'sync-three', source, peers.map((p) => p.address), target);
    } finally {
      for (const peer of peers) await stopPeer(peer.child);
    }
    const latencyBlocks = chain.blocks.slice(0, args.includes('--quick') ? 50 : 200);
    const latencies = await gossipLatency(root, source, latencyBlocks, now);
    rmSync(root, { recursive: true, force: true });

    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    rows.push(
      { name: `chain (${target} blocks) built by the miner loop`, value: (target * 1000) / chain.buildMs, unit: 'block/s', note: `${chain.txs} txs, ${chain.windowPostTxs} WindowPoSt` },
      { name: 'local import, one block at a time (reference)', value: plain, unit: 'block/s' },
      { name: 'local import, VRF + signatures preverified on a worker', value: preverified, unit: 'block/s', note: `${(preverified / plain).toFixed(2)}x plain` },
      { name: 'sync over loopback from 1 peer', value: oneRate, unit: 'block/s', note: `${((oneRate / plain) * 100).toFixed(0)}% of local import` },
      { name: 'sync over loopback from 3 peers', value: threeRate, unit: 'block/s', note: `${((threeRate / plain) * 100).toFixed(0)}% of local import` },
      { name: `gossip latency of a block, 4 nodes (${latencies.length} arrivals) p50`, value: p50, unit: 'ms', note: 'all 4 nodes in this process: includes their validation' },
      { name: 'gossip latency p99', value: p99, unit: 'ms' },
    );
    return {
      rows,
      json: {
        blocks: target,
        local_import_blocks_per_s: Number(plain.toFixed(1)),
        local_import_preverified_blocks_per_s: Number(preverified.toFixed(1)),
        sync_one_peer_blocks_per_s: Number(oneRate.toFixed(1)),
        sync_three_peers_blocks_per_s: Number(threeRate.toFixed(1)),
        gossip_latency_p50_ms: Number(p50.toFixed(2)),
        gossip_latency_p99_ms: Number(p99.toFixed(2)),
        gossip_arrivals: latencies.length,
      },
    };
  },
};
