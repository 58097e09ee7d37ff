// The deadline watchdog on a real miner loop (real chain on LevelDB, real sealed replicas on disk,
// real proofs), slot by slot on a manual clock: a WindowPoSt held back past the margin raises the
// warning before its window closes; a corrupted replica fails its self-check before its window.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { slotStart } from '../../src/consensus/index.js';
import { Mempool } from '../../src/mempool/index.js';
import type { MinerEvent } from '../../src/miner/events.js';
import { MinerService } from '../../src/miner/miner.js';
import { PieceIndex } from '../../src/miner/pieceIndex.js';
import { SectorStore } from '../../src/miner/sectorStore.js';
import { defaultWatchdogSettings } from '../../src/miner/watchdog.js';
import { devVrfSecret } from '../../src/node.js';
import { provePost, SectorFiles } from '../../src/proofs/index.js';
import { getMiner, upcomingWindows } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { TEST_PROOFS, WORKER_KEY, openChain, tempDir, testGenesis } from '../helpers/chain.js';

const dir = tempDir('bcr-watchdog-');
afterAll(() => dir.cleanup());

describe('deadline watchdog', () => {
  it('warns before the window closes when the WindowPoSt is late, and flags a corrupted replica ahead of its deadline', async () => {
    const genesis = testGenesis();
    const { chain, db } = await openChain(join(dir.path, 'chain'), genesis);
    const params = chain.params;
    let now = slotStart(params, 1);
    const mempool = new Mempool({ params, accountState: (address) => chain.accountState(address) }, { now: () => now });
    const store = new SectorStore(join(dir.path, 'miner'), TEST_PROOFS);
    const pieces = await PieceIndex.open(join(dir.path, 'miner'));
    // The prover plays a disk too slow for the window: it waits until the test lets it go.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let proofsStarted = 0;
    const metrics = createMetrics();
    const miner = new MinerService({
      chain, mempool, store, pieces, minerId: 1, workerKey: WORKER_KEY, vrfSecret: devVrfSecret(genesis.miners[0]!.seed),
      clock: { now: () => now }, log: silentLogger,
      prover: async (...args) => {
        proofsStarted++;
        await held;
        return provePost(...args);
      },
      watchdog: { slowProofShare: 0 },
      metrics,
    });
    const events: (MinerEvent & { atSlot: number })[] = [];
    let slot = 1;
    miner.onEvent((event) => events.push({ ...event, atSlot: slot }));
    await miner.ensureGenesisSectors(genesis.miners[0]!);

    const record = (await getMiner(chain.headState(), 1))!;
    // Genesis sectors owe no proof in the first period: the first WindowPoSt is period 1's deadline 0.
    const [zero, , two] = upcomingWindows(params.miners, record, 1, 3);
    const first = upcomingWindows(params.miners, record, zero!.open + params.miners.provingPeriod, 1)[0]!;
    const { marginSlots } = defaultWatchdogSettings(params.miners);
    expect(first).toMatchObject({ period: 1, deadline: 0 });
    // Deadline 2's replica is corrupted on disk before the loop looks at it.
    writeFileSync(join(store.sectorDir(2), SectorFiles.replica), new Uint8Array(TEST_PROOFS.sectorSize).fill(7));

    const step = async () => {
      now = slotStart(params, slot);
      await miner.onSlot(slot);
      slot++;
    };
    while (!events.some((e) => e.kind === 'deadlineAtRisk')) {
      expect(slot, 'the warning came before the window closed').toBeLessThan(first.close);
      await step();
    }
    const warning = events.find((e) => e.kind === 'deadlineAtRisk')!;
    expect(proofsStarted).toBe(1);
    expect(warning).toMatchObject({ miner: 1, deadline: 0, period: 1, closes: first.close });
    expect(warning.atSlot).toBe(first.close - marginSlots);
    expect(events.filter((e) => e.kind === 'windowPost')).toHaveLength(0);

    // Let the proof finish: it is submitted, and (threshold 0 here) reported as slow.
    release();
    while (slot <= first.close) await step();
    await miner.stop();
    // Each closed window counted once: the first period's four (proven at genesis) and this one, as
    // proven or missed (whether the late proof made it in time).
    const counted = async (counter: typeof metrics.deadlinesProven) => (await counter.get()).values.reduce((n, v) => n + v.value, 0);
    expect(await counted(metrics.deadlinesProven)).toBeGreaterThanOrEqual(4);
    expect((await counted(metrics.deadlinesProven)) + (await counted(metrics.deadlinesMissed))).toBe(5);
    expect((await metrics.watchdogWarnings.get()).values.map((v) => v.labels.kind).sort()).toEqual(['deadline_at_risk', 'replica_check_failed', 'slow_proof']);
    expect(events.some((e) => e.kind === 'windowPost' && e.deadline === 0)).toBe(true);
    expect(events.some((e) => e.kind === 'slowProof' && e.deadline === 0)).toBe(true);
    // Exactly one warning per window: the at-risk warning is not repeated each slot.
    expect(events.filter((e) => e.kind === 'deadlineAtRisk' && e.deadline === 0)).toHaveLength(1);
    // The healthy replicas passed their self-checks; deadline 2's corrupted one was caught a window
    // ahead of its own (and only once per window).
    const failed = events.filter((e) => e.kind === 'replicaCheckFailed');
    expect(failed.every((e) => e.sector === 2 && e.deadline === 2)).toBe(true);
    expect(failed.filter((e) => e.period === 0)).toHaveLength(1);
    expect(failed[0]).toMatchObject({ sector: 2, deadline: 2, period: 0, opens: two!.open });
    expect(failed[0]!.atSlot).toBeLessThan(two!.open);
    expect(failed[0]!.atSlot).toBeGreaterThanOrEqual(two!.open - defaultWatchdogSettings(params.miners).selfCheckLeadSlots);
    await db.close();
  }, 60_000);
});
