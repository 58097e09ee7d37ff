// The sealing pipeline with its sectors on cluster workers (a RemoteSectors made of two local
// stores here): a sector is sealed on w1, passes the PoRep check, is pre-committed and lands; at
// prove-commit w1 answers with a PoRep that does not verify. The node reports w1, seals the sector
// again on w2 (same inputs, so the pre-committed CommR), proves it there and the sector activates:
// the deposit is not lost to a worker that turned bad.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Mempool } from '../../src/mempool/index.js';
import { PieceIndex } from '../../src/miner/pieceIndex.js';
import type { RemoteSectors } from '../../src/miner/remoteSectors.js';
import { SealingPipeline } from '../../src/miner/sealing.js';
import { SectorStore } from '../../src/miner/sectorStore.js';
import { toHex } from '../../src/primitives/index.js';
import { getSector, proveCommitKind, SectorState } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { TEST_PROOFS, WORKER_KEY, addBlock, openChain, tempDir } from '../helpers/chain.js';
import { waitFor } from '../helpers/process.js';

const dir = tempDir('bcr-remote-sealing-');
afterAll(() => dir.cleanup());

/** Two workers as local stores; w1 answers the prove-commit's PoRep with bytes that are no proof. */
function twoWorkers(miner: number) {
  const stores = { w1: new SectorStore(join(dir.path, 'w1'), TEST_PROOFS), w2: new SectorStore(join(dir.path, 'w2'), TEST_PROOFS) };
  const holders = new Map<number, 'w1' | 'w2'>();
  const bad: string[] = [];
  const seals: string[] = [];
  const remote: RemoteSectors = {
    status: async () => ({ workers: [], tasks: [], running: [], sectors: [...holders].map(([sector, worker]) => ({ sector, worker, path: stores[worker].dir })) }),
    holderOf: async (sector) => holders.get(sector) ?? null,
    sealCommittedCapacity: async ({ sector, sealRandomness, commD }) => {
      const worker = bad.includes('w1') ? 'w2' : 'w1';
      seals.push(worker);
      const sealed = await stores[worker].sealCommittedCapacity(miner, sector, sealRandomness, commD);
      holders.set(sector, worker);
      return { commR: Buffer.from(sealed.meta.commR, 'hex'), holder: worker };
    },
    provePorep: async ({ key, holder, sector, seed }) => {
      if (holder === 'w1' && !key.startsWith('porep-check')) return new Uint8Array(300).fill(7);
      return stores[holder as 'w1' | 'w2'].provePorep(sector, seed);
    },
    provePost: async () => ({ proofs: new Map(), skipped: [] }),
    release: async () => undefined,
    reportBad: async (worker) => void bad.push(worker),
    close: async () => undefined,
  };
  return { remote, bad, seals, holders };
}

describe('sealing on a cluster', () => {
  it('seals a sector again elsewhere when its holder gives a PoRep that does not verify, keeping the pre-commit', async () => {
    const { chain, db } = await openChain(join(dir.path, 'chain'));
    await addBlock(chain);
    const mempool = new Mempool({ params: chain.params, accountState: (address) => chain.accountState(address) }, { now: () => 0 });
    const workers = twoWorkers(1);
    const pipeline = new SealingPipeline(chain, mempool, new SectorStore(join(dir.path, 'node'), TEST_PROOFS), await PieceIndex.open(join(dir.path, 'node')), 1, WORKER_KEY, silentLogger, workers.remote);
    const [sector] = await pipeline.request(1);
    await waitFor('the pre-commit sent', async () => pipeline.jobs.get(sector!)?.status === 'precommitted', 30_000, 20);
    expect(pipeline.jobs.get(sector!)?.holder).toBe('w1');
    const commR = toHex(pipeline.jobs.get(sector!)!.sealed!.commR);
    const included = async (txs: Uint8Array[]) => {
      await addBlock(chain, txs);
      await mempool.onHeadChange({ reverted: [], applied: [{ txs }] });
    };
    await included(mempool.localTxs().map((tx) => tx.bytes));
    expect((await getSector(chain.headState(), 1, sector!))?.state).toBe(SectorState.precommitted);

    // Past the seed: the pipeline asks w1 for the PoRep, refuses its answer, and seals on w2.
    for (let i = 0; i < chain.params.miners.seedDelay + 1; i++) await addBlock(chain);
    await pipeline.tick();
    await waitFor('a prove-commit', async () => mempool.localTxs().some((tx) => tx.kind === proveCommitKind), 60_000, 20);
    expect(workers.bad).toEqual(['w1']);
    expect(workers.seals).toEqual(['w1', 'w2']);
    expect(pipeline.jobs.get(sector!)?.holder).toBe('w2');
    expect(toHex(pipeline.jobs.get(sector!)!.sealed!.commR)).toBe(commR);

    await included(mempool.localTxs().map((tx) => tx.bytes));
    await pipeline.tick();
    expect((await getSector(chain.headState(), 1, sector!))?.state).toBe(SectorState.active);
    expect(pipeline.jobs.get(sector!)?.status).toBe('active');
    await pipeline.flushed();
    await db.close();
  });
});
