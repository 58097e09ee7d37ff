// Checking and claiming the right to make a block, against the parent's state: the miner's power
// and the network's at `powerLookback` blocks back, the beacon `randomnessLookback` blocks back,
// the ECVRF ticket, and the WinningPoSt over the sectors the slot's randomness picks.
import { bytesEqual } from '../primitives/index.js';
import { electionInput, isWinner, slotRandomness, vrfProve, winThreshold, type BlockHeader, type ChainParams } from '../consensus/index.js';
import { PROOF_PROFILES, verifyPost, winningSectorPicks, type PostSector } from '../proofs/index.js';
import { SectorState, deadlineSectors, getBeacon, getMiner, getSector, getTotalPowerLog, minerIds, powerAt, type Miner, type StateDb } from '../state/index.js';
import { BlockError } from './errors.js';
import { cachedVrfVerify } from './vrfCache.js';

export interface SlotContext {
  randomness: Uint8Array;
  postRandomness: Uint8Array;
  power: bigint;
  totalPower: bigint;
  threshold: bigint;
  /**
   * Liveness fallback: no proven power at the lookback (every sector faulty), so weights are
   * committed power (bytes of sectors not terminated) and WinningPoSt may open faulty sectors.
   */
  committedFallback: boolean;
}

/** Height of the block whose VRF output seeds the election of a block on a parent at `parentHeight`. */
export function randomnessAnchorHeight(params: ChainParams, parentHeight: number): number {
  return Math.max(0, parentHeight - params.miners.randomnessLookback);
}

/**
 * Bytes in sectors that are active or faulty (sealed and not terminated) in `state`, for one miner
 * and for all miners: the election weights when no proven power is left at the lookback.
 */
export async function committedPower(state: StateDb, params: ChainParams, minerId: number): Promise<{ power: bigint; totalPower: bigint }> {
  let power = 0n;
  let totalPower = 0n;
  for (const id of await minerIds(state)) {
    const miner = (await getMiner(state, id))!;
    const bytes = BigInt((await liveSectors(state, params, id, true)).length) * BigInt(miner.sectorSize);
    totalPower += bytes;
    if (id === minerId) power = bytes;
  }
  return { power, totalPower };
}

/** What the election of `slot` on a parent at `parentHeight` depends on, for one miner. */
export async function slotContext(state: StateDb, params: ChainParams, minerId: number, miner: Miner, parentHeight: number, slot: number): Promise<SlotContext> {
  const m = params.miners;
  const lookback = Math.max(0, parentHeight - m.powerLookback);
  let power = powerAt(miner.powerLog, lookback);
  let totalPower = powerAt(await getTotalPowerLog(state), lookback);
  const committedFallback = totalPower === 0n;
  // With no proven power anywhere nobody could ever win again, and no recovery could land: the chain
  // would halt for good. Committed storage then carries the election until proofs restore power.
  if (committedFallback) ({ power, totalPower } = await committedPower(state, params, minerId));
  const beacon = await getBeacon(state, randomnessAnchorHeight(params, parentHeight));
  // WinningPoSt challenges come from the parent's mix: unknown until the last block another
  // producer made arrives, not `randomnessLookback` blocks ahead like the election.
  const parent = await getBeacon(state, parentHeight);
  if (!beacon || !parent) throw new BlockError('NOT_ELIGIBLE', 'randomness beacon unavailable');
  return {
    randomness: slotRandomness(beacon.vrfOutput, slot),
    postRandomness: slotRandomness(parent.mix, slot, 'winning-post'),
    power,
    totalPower,
    threshold: winThreshold(power, totalPower, m.activeSlotCoeff),
    committedFallback,
  };
}

/** A miner's active (and, with `includeFaulty`, faulty) sectors in sector-number order: what WinningPoSt picks from. */
export async function liveSectors(state: StateDb, params: ChainParams, minerId: number, includeFaulty = false): Promise<PostSector[]> {
  const numbers: number[] = [];
  for (let d = 0; d < params.miners.deadlines; d++) numbers.push(...(await deadlineSectors(state, minerId, d)));
  numbers.sort((a, b) => a - b);
  const out: PostSector[] = [];
  for (const number of numbers) {
    const sector = (await getSector(state, minerId, number))!;
    if (sector.state === SectorState.active || (includeFaulty && sector.state === SectorState.faulty)) out.push({ sectorNumber: number, commR: sector.commR });
  }
  return out;
}

export async function winningSectors(state: StateDb, params: ChainParams, minerId: number, ctx: Pick<SlotContext, 'postRandomness' | 'committedFallback'>): Promise<PostSector[]> {
  const sectors = await liveSectors(state, params, minerId, ctx.committedFallback);
  return winningSectorPicks(PROOF_PROFILES[params.miners.proofProfile], ctx.postRandomness, sectors.length).map((i) => sectors[i]!);
}

/** Where block validation spends its time (milliseconds, summed over imports). */
export class ImportStats {
  blocks = 0;
  /** Checks that need no state: size, signature, body roots, timestamps (validateBlock). */
  statelessMs = 0;
  vrfMs = 0;
  winningPostMs = 0;
  txsMs = 0;
  stateRootMs = 0;
  writeMs = 0;
}

export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Verifies the header's election against its parent's state; returns the miner (for its owner). */
export async function verifyElection(state: StateDb, params: ChainParams, header: BlockHeader, signer: Uint8Array, stats?: ImportStats): Promise<Miner> {
  const miner = await getMiner(state, header.miner);
  if (!miner) throw new BlockError('NOT_ELIGIBLE', `miner ${header.miner} does not exist`);
  if (!bytesEqual(signer, miner.worker)) throw new BlockError('BAD_SIGNATURE', "header is not signed by the miner's worker key");
  if (header.slot < miner.ineligibleUntil) throw new BlockError('NOT_ELIGIBLE', `miner ${header.miner} is ineligible until slot ${miner.ineligibleUntil}`);
  const ctx = await slotContext(state, params, header.miner, miner, header.height - 1, header.slot);
  let t = process.hrtime.bigint();
  const beta = cachedVrfVerify(miner.vrfKey, electionInput(ctx.randomness, header.slot), header.vrfProof);
  if (stats) stats.vrfMs += elapsedMs(t);
  if (!beta || !bytesEqual(beta.subarray(0, 32), header.vrfOutput)) throw new BlockError('BAD_ELECTION_PROOF', 'VRF proof or output does not verify');
  if (!isWinner(header.vrfOutput, ctx.threshold)) throw new BlockError('NOT_ELIGIBLE', `miner ${header.miner} did not win slot ${header.slot}`);
  t = process.hrtime.bigint();
  const sectors = await winningSectors(state, params, header.miner, ctx);
  const failure = verifyPost(PROOF_PROFILES[params.miners.proofProfile], 'winning', ctx.postRandomness, sectors, header.winningPost);
  if (stats) stats.winningPostMs += elapsedMs(t);
  if (failure) throw new BlockError('BAD_WINNING_POST', `WinningPoSt rejected: ${failure}`);
  return miner;
}

export interface Ticket {
  vrfProof: Uint8Array;
  vrfOutput: Uint8Array;
  postRandomness: Uint8Array;
  sectors: PostSector[];
}

/** The producer's side: does `minerId` win `slot` on this parent state? Returns its ticket if so. */
export async function claimSlot(state: StateDb, params: ChainParams, minerId: number, vrfSecret: Uint8Array, parentHeight: number, slot: number): Promise<Ticket | null> {
  const miner = await getMiner(state, minerId);
  if (!miner || slot < miner.ineligibleUntil) return null;
  const ctx = await slotContext(state, params, minerId, miner, parentHeight, slot);
  if (ctx.threshold === 0n) return null;
  const { proof, output } = vrfProve(vrfSecret, electionInput(ctx.randomness, slot));
  const vrfOutput = output.slice(0, 32);
  if (!isWinner(vrfOutput, ctx.threshold)) return null;
  return { vrfProof: proof, vrfOutput, postRandomness: ctx.postRandomness, sectors: await winningSectors(state, params, minerId, ctx) };
}
