// A provider refuses at proposal time what it could not collateralise: the sealing pipeline counts
// the pre-commit deposit and initial pledge of every sector under way or needed by pending deal
// pieces, and their provider collateral, against the miner's collateral, the owner's free escrow and
// the worker's spare balance. (A miner with 50-100 BCR once accepted deals its sectors then failed
// with INSUFFICIENT_COLLATERAL, and the client only heard "the miner did not prove it in time".)
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Mempool } from '../../src/mempool/index.js';
import { PieceIndex } from '../../src/miner/pieceIndex.js';
import { SealingPipeline } from '../../src/miner/sealing.js';
import { SectorStore } from '../../src/miner/sectorStore.js';
import { addressOf } from '../../src/primitives/index.js';
import { getMiner } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { DEV_ADDRESS, TEST_PROOFS, WORKER_KEY, addBlock, openChain, tempDir, transferTx } from '../helpers/chain.js';

const dir = tempDir('bcr-sealing-funds-');
afterAll(() => dir.cleanup());

describe('what a provider can fund', () => {
  it('takes deals while collateral covers their sectors and refuses the first it could not honour, naming the cause', async () => {
    const { chain, db } = await openChain(join(dir.path, 'chain'));
    const params = chain.params.miners;
    // The worker keeps 20 BCR (spare: 19.9 after the fee reserve).
    const worker = await chain.getAccount(addressOf(WORKER_KEY));
    await addBlock(chain, [transferTx(WORKER_KEY, worker.nonce, DEV_ADDRESS, worker.balance - 20n * 10n ** 18n - 21_000n)]);
    const mempool = new Mempool({ params: chain.params, accountState: (address) => chain.accountState(address) }, { now: () => 0 });
    const store = new SectorStore(join(dir.path, 'miner'), TEST_PROOFS);
    const pipeline = new SealingPipeline(chain, mempool, store, await PieceIndex.open(join(dir.path, 'miner')), 1, WORKER_KEY, silentLogger);

    const collateral = (await getMiner(chain.headState(), 1))!.collateral;
    const spare = (await chain.getAccount(addressOf(WORKER_KEY))).balance - 10n ** 17n;
    const perSector = params.preCommitDeposit + params.initialPledge;
    const fundable = Number((collateral + spare) / perSector);
    expect(fundable).toBeGreaterThan(0);
    const sector = TEST_PROOFS.sectorSize;
    // A piece per sector: `fundable` sectors can be paid for, one more cannot.
    const pieces = (n: number) => Array.from({ length: n }, () => ({ pieceBytes: sector, providerCollateral: 0n }));
    expect(await pipeline.fundsProblem(pieces(fundable))).toBeNull();
    const problem = await pipeline.fundsProblem(pieces(fundable + 1));
    expect(problem).toMatch(/cannot fund this deal: \d+ sector\(s\) under way or needed lock/);
    expect(problem).toContain('bcr miner collateral add');
    // Small pieces share a sector: twice as many half-sector pieces fit the same funds.
    expect(await pipeline.fundsProblem(Array.from({ length: 2 * fundable }, () => ({ pieceBytes: sector / 2, providerCollateral: 0n })))).toBeNull();
    // Provider collateral competes for the same spare balance (the owner's escrow is empty).
    const left = collateral + spare - BigInt(fundable) * perSector;
    expect(await pipeline.fundsProblem([{ pieceBytes: sector, providerCollateral: left }].concat(pieces(fundable - 1)))).toBeNull();
    expect(await pipeline.fundsProblem([{ pieceBytes: sector, providerCollateral: left + perSector + 1n }].concat(pieces(fundable - 1)))).not.toBeNull();
    // Sectors already being sealed count too.
    pipeline.jobs.set(99, { sector: 99, status: 'sealing' });
    expect(await pipeline.fundsProblem(pieces(fundable))).not.toBeNull();
    await db.close();
  });
});
