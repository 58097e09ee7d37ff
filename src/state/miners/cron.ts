// End-of-block cron: every miner deadline window that closed since the parent block is settled.
// Sectors not proven in their window become faulty (power removed, fault fee); sectors faulty for
// more than `faultMaxPeriods` proving periods are terminated (termination fee); expired sectors end.
// Pre-commits never proven within their window end too, their deposit burned.
import type { ChainParams, MinerParams } from '../../consensus/index.js';
import type { StateDb } from '../stateDb.js';
import { credit } from '../accounts.js';
import { BURN_ADDRESS, changePower, penalize } from './accounting.js';
import { deadlineSectors, deleteSector, getMiner, getSector, minersClosingAt, precommitExpiries, putMiner, putPrecommitExpiries, putSector, SectorState, windowCycle, type Miner } from './records.js';
import { terminateSector } from './txs.js';

/** Longest gap between blocks the cron settles window by window (beyond, faults are certain). */
const MAX_WINDOWS_PER_BLOCK = 4096;

export interface CronEnv {
  params: ChainParams;
  height: number;
  slot: number;
  parentSlot: number;
}

/** Pre-commits not proven within `maxProveCommitDelay` blocks end: the sector record goes, its deposit is burned. */
export async function expirePrecommits(state: StateDb, env: CronEnv): Promise<void> {
  const refs = await precommitExpiries(state, env.height);
  if (refs.length === 0) return;
  for (const { miner: id, sector: number } of refs) {
    const sector = await getSector(state, id, number);
    if (!sector || sector.state !== SectorState.precommitted) continue; // proven in time
    const miner = (await getMiner(state, id))!;
    miner.deposits -= sector.deposit;
    await credit(state, BURN_ADDRESS, sector.deposit);
    await putMiner(state, id, miner);
    await deleteSector(state, id, number);
  }
  await putPrecommitExpiries(state, env.height, []);
}

/**
 * Settles the windows that closed in the slots this block covers, for the miners the close index
 * lists at those slots (a miner with no sector in a deadline has nothing to settle there): the work
 * grows with the miners due, not with every miner that exists.
 */
export async function runDeadlineCron(state: StateDb, env: CronEnv): Promise<void> {
  const params = env.params.miners;
  const { width } = windowCycle(params);
  for (const id of await minersDue(state, params, env.parentSlot, env.slot)) {
    const miner = (await getMiner(state, id))!;
    if (env.slot < miner.periodStart + width) continue;
    const first = Math.max(0, Math.floor((env.parentSlot - miner.periodStart) / width));
    for (let j = first, n = 0; n < MAX_WINDOWS_PER_BLOCK; j++, n++) {
      const open = miner.periodStart + j * width;
      const close = open + width;
      if (close > env.slot) break;
      if (close <= env.parentSlot) continue;
      await settleWindow(state, env, id, miner, Math.floor(j / params.deadlines), j % params.deadlines, open);
    }
  }
}

/** Ids (ascending) of the miners with sectors in a deadline whose window closes in slots (parentSlot, slot]. */
export async function minersDue(state: StateDb, params: Pick<MinerParams, 'provingPeriod' | 'deadlines'>, parentSlot: number, slot: number): Promise<number[]> {
  const { cycle } = windowCycle(params);
  const covered = Math.min(slot - parentSlot, cycle);
  const due = new Set<number>();
  for (let i = 1; i <= covered; i++) for (const id of await minersClosingAt(state, (parentSlot + i) % cycle)) due.add(id);
  return [...due].sort((a, b) => a - b);
}

async function settleWindow(state: StateDb, env: CronEnv, id: number, miner: Miner, period: number, deadline: number, open: number): Promise<void> {
  const params = env.params.miners;
  let lost = 0n;
  for (const number of await deadlineSectors(state, id, deadline)) {
    const sector = (await getSector(state, id, number))!;
    if (env.slot >= sector.expiration) {
      await terminateSector({ state, params: env.params, height: env.height }, id, miner, number);
      continue;
    }
    if (sector.state === SectorState.active) {
      if (sector.provenPeriod >= period + 1 || sector.activation >= open) continue;
      sector.state = SectorState.faulty;
      sector.faultyPeriods = 1;
      lost += BigInt(miner.sectorSize);
    } else if (sector.state === SectorState.faulty) {
      sector.faultyPeriods += 1;
    } else continue;
    await penalize(state, miner, params.faultFee);
    await putSector(state, id, number, sector);
    if (sector.faultyPeriods > params.faultMaxPeriods) await terminateSector({ state, params: env.params, height: env.height }, id, miner, number);
  }
  if (lost > 0n) await changePower(state, id, miner, -lost, env.height, params);
  else await putMiner(state, id, miner);
}
