// A provider killed after sending a pre-commit that never reached a block (the mempool died with the
// process) sends it again on restart; one whose pre-commit landed is not sent twice. (Once, a tx that
// never landed read as landed after a restart and the sector waited for it forever.)
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChainStore } from '../../src/chain/index.js';
import { Mempool } from '../../src/mempool/index.js';
import { PieceIndex } from '../../src/miner/pieceIndex.js';
import { SealingPipeline } from '../../src/miner/sealing.js';
import { SectorStore } from '../../src/miner/sectorStore.js';
import { getSector, preCommitKind } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { TEST_PROOFS, WORKER_KEY, addBlock, openChain, tempDir } from '../helpers/chain.js';
import { waitFor } from '../helpers/process.js';

const dir = tempDir('bcr-sealing-resume-');
afterAll(() => dir.cleanup());

async function pipelineOn(chain: ChainStore): Promise<{ pipeline: SealingPipeline; mempool: Mempool }> {
  const mempool = new Mempool({ params: chain.params, accountState: (address) => chain.accountState(address) }, { now: () => 0 });
  const store = new SectorStore(join(dir.path, 'miner'), TEST_PROOFS);
  const pipeline = new SealingPipeline(chain, mempool, store, await PieceIndex.open(join(dir.path, 'miner')), 1, WORKER_KEY, silentLogger);
  return { pipeline, mempool };
}

const preCommits = (mempool: Mempool) => mempool.localTxs().filter((tx) => tx.kind === preCommitKind);

describe('sealing after a restart', () => {
  it('sends again a pre-commit the crash lost, and not one that landed', async () => {
    const { chain, db } = await openChain(join(dir.path, 'chain'));
    await addBlock(chain);
    const first = await pipelineOn(chain);
    const [sector] = await first.pipeline.request(1);
    await waitFor('the pre-commit sent', async () => first.pipeline.jobs.get(sector!)?.status === 'precommitted', 30_000, 20);
    await first.pipeline.flushed();
    expect(preCommits(first.mempool)).toHaveLength(1);

    // Killed before any block held it: the new process has an empty mempool.
    const second = await pipelineOn(chain);
    expect(await second.pipeline.resume()).toEqual({ jobs: 1, pieces: 0 });
    await waitFor('the pre-commit sent again', async () => preCommits(second.mempool).length === 1 && second.pipeline.jobs.get(sector!)?.status === 'precommitted', 30_000, 20);
    expect(second.pipeline.jobs.get(sector!)?.precommitTries).toBe(2);
    await second.pipeline.flushed();

    await addBlock(chain, second.mempool.localTxs().map((tx) => tx.bytes));
    expect(await getSector(chain.headState(), 1, sector!)).toBeTruthy();

    // Killed after it landed: the third process leaves it alone and waits for the seed.
    const third = await pipelineOn(chain);
    await third.pipeline.resume();
    await third.pipeline.tick();
    expect(preCommits(third.mempool)).toHaveLength(0);
    expect(third.pipeline.jobs.get(sector!)?.status).toBe('precommitted');
    await third.pipeline.flushed();
    await db.close();
  });
});
