// The miner loop proves a deadline of two partitions (real chain on LevelDB, real replicas on disk,
// real proofs), slot by slot on a manual clock: one WindowPoSt per partition, each covering only its
// own sectors, and every sector of the deadline proven for the period before the window closes.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { slotStart } from '../../src/consensus/index.js';
import { DEVNET_WORKER_KEYS, devnetGenesis } from '../../src/devnet.js';
import { Mempool } from '../../src/mempool/index.js';
import type { MinerEvent } from '../../src/miner/events.js';
import { MinerService } from '../../src/miner/miner.js';
import { PieceIndex } from '../../src/miner/pieceIndex.js';
import { SectorStore } from '../../src/miner/sectorStore.js';
import { devVrfSecret } from '../../src/node.js';
import { fromHex } from '../../src/primitives/index.js';
import { provePost } from '../../src/proofs/index.js';
import { byPartition, getMiner, getSector, provableSectors, upcomingWindows } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { GENESIS_TIME, TEST_PROOFS, openChain, tempDir } from '../helpers/chain.js';

const dir = tempDir('bcr-partitions-');
afterAll(() => dir.cleanup());

describe('a deadline of two partitions', () => {
  it('is proven by the miner loop in two WindowPoSts, each over its own partition', async () => {
    // Miner 3 of a devnet holds sectors 0-4; with 2 deadlines, deadline 0 holds 0, 2 and 4, which
    // test-profile partitions of 2 split into [0, 2] and [4].
    const genesis = devnetGenesis({ miners: 3, nowMs: GENESIS_TIME, tag: 'partitions', proofProfile: 'test', minerParams: { deadlines: 2, provingPeriod: 40 } });
    const { chain, db } = await openChain(join(dir.path, 'chain'), genesis);
    const params = chain.params;
    const minerId = 3;
    const deadlineZero = await provableSectors(chain.headState(), minerId, 0);
    expect([...byPartition(params.miners, deadlineZero)].map(([p, s]) => [p, s.map((x) => x.number)])).toEqual([[0, [0, 2]], [1, [4]]]);

    let now = slotStart(params, 1);
    const mempool = new Mempool({ params, accountState: (address) => chain.accountState(address) }, { now: () => now });
    const store = new SectorStore(join(dir.path, 'miner'), TEST_PROOFS);
    const pieces = await PieceIndex.open(join(dir.path, 'miner'));
    const proofSectors: number[][] = [];
    const miner = new MinerService({
      chain, mempool, store, pieces, minerId, workerKey: fromHex(DEVNET_WORKER_KEYS[2]!), vrfSecret: devVrfSecret(genesis.miners[2]!.seed),
      clock: { now: () => now }, log: silentLogger,
      prover: async (proofParams, kind, randomness, sectors) => {
        proofSectors.push(sectors.map((s) => s.sectorNumber));
        return provePost(proofParams, kind, randomness, sectors);
      },
    });
    const events: MinerEvent[] = [];
    miner.onEvent((event) => events.push(event));
    await miner.ensureGenesisSectors(genesis.miners[2]!);

    // Genesis sectors owe nothing in period 0: the first proofs are period 1's deadline 0.
    const record = (await getMiner(chain.headState(), minerId))!;
    const window = upcomingWindows(params.miners, record, record.periodStart + params.miners.provingPeriod, 1)[0]!;
    expect(window).toMatchObject({ period: 1, deadline: 0 });
    for (let slot = 1; slot < window.close; slot++) {
      now = slotStart(params, slot);
      await miner.onSlot(slot);
    }
    await miner.stop();

    const posts = events.filter((e) => e.kind === 'windowPost' && e.period === 1 && e.deadline === 0);
    expect(posts.map((e) => [e.partition, e.sectors])).toEqual([[0, 2], [1, 1]]);
    expect(proofSectors.slice(0, 2)).toEqual([[0, 2], [4]]);
    for (const sector of [0, 2, 4]) expect((await getSector(chain.headState(), minerId, sector))!.provenPeriod, `sector ${sector}`).toBe(2);
    expect(events.some((e) => e.kind === 'deadlineMissed' && e.deadline === 0 && e.period === 1)).toBe(false);
    await db.close();
  }, 60_000);
});
