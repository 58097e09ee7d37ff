// Consensus benchmark: a 1,000-block test-network chain made by the real miner loop (VRF tickets,
// WinningPoSt, WindowPoSt txs, transfers), then imported into a fresh node: blocks/s and where
// validation spends its time (VRF, WinningPoSt, txs, state root, write).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainStore, parseGenesis, readGenesisJson, type Block } from '../src/chain/index.js';
import { slotStart } from '../src/consensus/index.js';
import { Database } from '../src/db/index.js';
import { Mempool } from '../src/mempool/index.js';
import { MinerService } from '../src/miner/miner.js';
import { SectorStore } from '../src/miner/sectorStore.js';
import { DEV_PRIVATE_KEY, DEV_WORKER_KEY, devVrfSecret } from '../src/node.js';
import { encode, fromHex, sha256, uintToBytesBE } from '../src/primitives/index.js';
import { PROOF_PROFILES } from '../src/proofs/index.js';
import { signTx, spendable, transferPayload } from '../src/state/index.js';
import { silentLogger } from '../src/util/logger.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

async function openChain(dir: string, genesisTime: number) {
  const genesis = parseGenesis(readGenesisJson('test'), genesisTime);
  const db = await Database.open(join(dir, 'chain'));
  const chain = await ChainStore.open({ db, genesis, log: silentLogger });
  return { chain, db, genesis };
}

export const consensusBench: BenchArea = {
  name: 'consensus',
  async run(args) {
    const target = args.includes('--quick') ? 200 : 1000;
    const root = mkdtempSync(join(tmpdir(), 'bcr-bench-consensus-'));
    const genesisTime = 1_700_000_000_000;
    const producer = await openChain(join(root, 'a'), genesisTime);
    const { chain, genesis } = producer;
    const clock = { t: genesisTime, now() { return this.t; } };
    const mempool = new Mempool({ params: chain.params, async accountState(address) { const a = await chain.getAccount(address); return { nonce: a.nonce, spendable: spendable(a, chain.head.header.slot) }; } });
    chain.onHeadChange((change) => void mempool.onHeadChange(change));
    const store = new SectorStore(join(root, 'a', 'miner'), PROOF_PROFILES[genesis.params.miners.proofProfile]);
    const miner = new MinerService({ chain, mempool, store, minerId: 1, workerKey: fromHex(DEV_WORKER_KEY), vrfSecret: devVrfSecret(genesis.miners[0]!.seed), clock, log: silentLogger });
    await miner.ensureGenesisSectors(genesis.miners[0]!);
    const dev = fromHex(DEV_PRIVATE_KEY);
    let nonce = 0;
    const buildStart = process.hrtime.bigint();
    for (let slot = 1; chain.head.header.height < target; slot++) {
      clock.t = slotStart(chain.params, slot);
      for (let i = 0; i < 3 && mempool.size < 20; i++) {
        await mempool.add(signTx(dev, { chainId: chain.params.chainId, nonce: nonce++, gasLimit: 21_000, gasPrice: 1n, kind: 0, payload: encode(transferPayload, { to: sha256(uintToBytesBE(nonce, 8)).subarray(0, 20), value: 1n }) }));
      }
      await miner.onSlot(slot);
    }
    const buildMs = msSince(buildStart);
    const blocks: Block[] = [];
    let txs = 0;
    let postTxs = 0;
    for (let h = 1; h <= target; h++) {
      const block = (await chain.getBlockByHeight(h))!;
      blocks.push(block);
      txs += block.txs.length;
      for (const raw of block.txs) if (raw.length > 1000) postTxs++;
    }
    const headSlot = chain.head.header.slot;
    await miner.stop();
    await producer.db.close();

    const importer = await openChain(join(root, 'b'), genesisTime);
    const now = slotStart(importer.chain.params, headSlot + 10);
    const start = process.hrtime.bigint();
    for (const block of blocks) await importer.chain.importBlock(block, now);
    const importMs = msSince(start);
    const s = importer.chain.stats;
    await importer.db.close();
    rmSync(root, { recursive: true, force: true });
    const per = (ms: number) => ms / s.blocks;
    const rows: BenchRow[] = [
      { name: `chain built by the miner loop (${target} blocks)`, value: (target * 1000) / buildMs, unit: 'block/s', note: `${txs} txs, ${postTxs} WindowPoSt` },
      { name: 'import into a fresh node', value: (target * 1000) / importMs, unit: 'block/s' },
      { name: 'validation per block: VRF verify', value: per(s.vrfMs), unit: 'ms' },
      { name: 'validation per block: WinningPoSt verify', value: per(s.winningPostMs), unit: 'ms' },
      { name: 'validation per block: txs (incl. PoSt/PoRep)', value: per(s.txsMs), unit: 'ms' },
      { name: 'validation per block: state root', value: per(s.stateRootMs), unit: 'ms' },
      { name: 'import per block: LevelDB write (sync)', value: per(s.writeMs), unit: 'ms' },
      { name: 'import per block: total', value: importMs / target, unit: 'ms' },
    ];
    return {
      rows,
      json: {
        blocks: target,
        txs,
        windowpost_txs: postTxs,
        build_blocks_per_s: Number(((target * 1000) / buildMs).toFixed(1)),
        import_blocks_per_s: Number(((target * 1000) / importMs).toFixed(1)),
        vrf_ms_per_block: Number(per(s.vrfMs).toFixed(3)),
        winning_post_ms_per_block: Number(per(s.winningPostMs).toFixed(3)),
        txs_ms_per_block: Number(per(s.txsMs).toFixed(3)),
        state_root_ms_per_block: Number(per(s.stateRootMs).toFixed(3)),
        write_ms_per_block: Number(per(s.writeMs).toFixed(3)),
        import_ms_per_block: Number((importMs / target).toFixed(3)),
      },
    };
  },
};
