// A test-network chain made by the real miner loop (VRF tickets, WinningPoSt, WindowPoSt txs,
// transfers), shared by the consensus and sync benchmarks. The chain db is left in `dataDir/chain`
// with the genesis in `dataDir/genesis.json`, the layout a node's data dir has.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChainStore, genesisToJson, parseGenesis, readGenesisJson, type Block, type Genesis } from '../src/chain/index.js';
import { slotStart } from '../src/consensus/index.js';
import { Database } from '../src/db/index.js';
import { Mempool } from '../src/mempool/index.js';
import { MinerService } from '../src/miner/miner.js';
import { PieceIndex } from '../src/miner/pieceIndex.js';
import { SectorStore } from '../src/miner/sectorStore.js';
import { DEV_PRIVATE_KEY, DEV_WORKER_KEY, devVrfSecret } from '../src/node.js';
import { encode, fromHex, sha256, uintToBytesBE } from '../src/primitives/index.js';
import { PROOF_PROFILES } from '../src/proofs/index.js';
import { signTx, spendable, transferPayload } from '../src/state/index.js';
import { silentLogger } from '../src/util/logger.js';
import { msSince } from './report.js';

export const BENCH_GENESIS_TIME = 1_700_000_000_000;

export function benchGenesis(): Genesis {
  return parseGenesis(readGenesisJson('test'), BENCH_GENESIS_TIME);
}

export async function openBenchChain(dataDir: string): Promise<{ chain: ChainStore; db: Database; genesis: Genesis }> {
  const genesis = benchGenesis();
  writeFileSync(join(dataDir, 'genesis.json'), JSON.stringify(genesisToJson(genesis), null, 2) + '\n');
  const db = await Database.open(join(dataDir, 'chain'));
  const chain = await ChainStore.open({ db, genesis, log: silentLogger });
  return { chain, db, genesis };
}

export interface BenchChain {
  blocks: Block[];
  txs: number;
  windowPostTxs: number;
  headSlot: number;
  buildMs: number;
}

export interface BenchMiner {
  chain: ChainStore;
  db: Database;
  genesis: Genesis;
  mempool: Mempool;
  miner: MinerService;
  /** The miner's clock: set `t` to a slot's start before `miner.onSlot(slot)`. */
  clock: { t: number; now(): number };
}

/** A bench chain in `dataDir` with the genesis miner's real loop on a settable clock, and its pool. */
export async function startBenchMiner(dataDir: string, maxPerSender?: number): Promise<BenchMiner> {
  const { chain, db, genesis } = await openBenchChain(dataDir);
  const clock = { t: BENCH_GENESIS_TIME, now() { return this.t; } };
  const mempool = new Mempool({ params: chain.params, async accountState(address) { const a = await chain.getAccount(address); return { nonce: a.nonce, spendable: spendable(a, chain.head.header.slot) }; } }, maxPerSender === undefined ? {} : { maxPerSender });
  chain.onHeadChange((change) => void mempool.onHeadChange(change));
  const store = new SectorStore(join(dataDir, 'miner'), PROOF_PROFILES[genesis.params.miners.proofProfile]);
  const miner = new MinerService({ chain, mempool, store, pieces: await PieceIndex.open(join(dataDir, 'miner')), minerId: 1, workerKey: fromHex(DEV_WORKER_KEY), vrfSecret: devVrfSecret(genesis.miners[0]!.seed), clock, log: silentLogger });
  await miner.ensureGenesisSectors(genesis.miners[0]!);
  return { chain, db, genesis, mempool, miner, clock };
}

/** Mines `target` blocks into `dataDir` (closed afterwards) and returns them. */
export async function buildBenchChain(dataDir: string, target: number): Promise<BenchChain> {
  const { chain, db, mempool, miner, clock } = await startBenchMiner(dataDir);
  const dev = fromHex(DEV_PRIVATE_KEY);
  let nonce = 0;
  const start = process.hrtime.bigint();
  for (let slot = 1; chain.head.header.height < target; slot++) {
    clock.t = slotStart(chain.params, slot);
    for (let i = 0; i < 3 && mempool.size < 20; i++) {
      await mempool.add(signTx(dev, { chainId: chain.params.chainId, nonce: nonce++, gasLimit: 21_000, gasPrice: 1n, kind: 0, payload: encode(transferPayload, { to: sha256(uintToBytesBE(nonce, 8)).subarray(0, 20), value: 1n }) }));
    }
    await miner.onSlot(slot);
  }
  const buildMs = msSince(start);
  const blocks: Block[] = [];
  let txs = 0;
  let windowPostTxs = 0;
  for (let h = 1; h <= target; h++) {
    const block = (await chain.getBlockByHeight(h))!;
    blocks.push(block);
    txs += block.txs.length;
    for (const raw of block.txs) if (raw.length > 1000) windowPostTxs++;
  }
  const headSlot = chain.head.header.slot;
  await miner.stop();
  await db.close();
  return { blocks, txs, windowPostTxs, headSlot, buildMs };
}
