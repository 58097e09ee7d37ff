// Miner tx kinds: create miner, collateral, sector pre-commit / prove-commit (PoRep verified on
// chain), WindowPoSt, fault and recovery declarations, termination, equivocation evidence.
import { amount, bytes, bytesEqual, list, str, struct, uint, varBytes } from '../../primitives/index.js';
import { vrfPublicKeyValid, type MinerParams } from '../../consensus/index.js';
import { MAX_POST_SECTORS, PROOF_PROFILES, replicaIdOf, verifyPorep, verifyPost } from '../../proofs/index.js';
import { credit, debit } from '../accounts.js';
import { TxFailure } from '../errors.js';
import { defineTxKind, type TxContext } from '../txKinds/registry.js';
import { BURN_ADDRESS, changePower, currentDeadline, penalize, periodIndex } from './accounting.js';
import { beaconBefore, derivedRandomness } from './beacon.js';
import { verifyEquivocation } from './equivocation.js';
import { activateDeals, assignDeals, payDeals, slashDeals } from '../market/deals.js';
import { deadlineSectors, getBeacon, getMiner, getSector, getWorkerChange, minerCount, precommitExpiries, putDeadlineSectors, putMiner, putMinerCount, putPrecommitExpiries, putSector, putWorkerChange, putWorkerChangesAt, SectorState, workerChangesAt, type Miner } from './records.js';

function fail(code: string, message: string): never {
  throw new TxFailure(code, message);
}

async function loadMiner(ctx: TxContext, id: number, who: 'owner' | 'worker' | 'anyone'): Promise<Miner> {
  const miner = await getMiner(ctx.state, id);
  if (!miner) fail('NO_SUCH_MINER', `miner ${id} does not exist`);
  const isOwner = bytesEqual(ctx.sender, miner.owner);
  const isWorker = bytesEqual(ctx.sender, miner.worker);
  if (who === 'owner' && !isOwner) fail('NOT_OWNER', 'only the owner may do this');
  if (who === 'worker' && !isOwner && !isWorker) fail('NOT_WORKER', 'only the worker or owner may do this');
  return miner;
}

const proofParamsOf = (ctx: TxContext) => ({ ...PROOF_PROFILES[ctx.params.miners.proofProfile] });
const minerRef = { miner: uint() };
export const createMinerPayload = struct({ worker: bytes(20), vrfKey: bytes(32), peerId: str(128), multiaddrs: list(str(256), 16) });
export const collateralPayload = struct({ ...minerRef, value: amount() });
export const preCommitPayload = struct({ ...minerRef, sector: uint(), commD: bytes(32), commR: bytes(32), sealRandHeight: uint(), expiration: uint(), dealIds: list(uint(), 256) });
export const proveCommitPayload = struct({ ...minerRef, sector: uint(), proof: varBytes(4 * 1024 * 1024) });
export const equivocationPayload = struct({ first: varBytes(128 * 1024), second: varBytes(128 * 1024) });

export const createMinerKind = defineTxKind({
  id: 1,
  name: 'createMiner',
  payload: createMinerPayload,
  maxPayloadBytes: 8192,
  gas: () => 200_000,
  async apply(ctx, p) {
    // A key off the curve could never prove a win: refuse it now rather than let the miner wait forever.
    if (!vrfPublicKeyValid(p.vrfKey)) fail('BAD_VRF_KEY', 'the VRF key is not a valid Ed25519 public key');
    const id = (await minerCount(ctx.state)) + 1;
    await putMinerCount(ctx.state, id);
    await putMiner(ctx.state, id, {
      owner: ctx.sender,
      worker: p.worker,
      vrfKey: p.vrfKey,
      peerId: p.peerId,
      multiaddrs: p.multiaddrs,
      sectorSize: PROOF_PROFILES[ctx.params.miners.proofProfile].sectorSize,
      collateral: 0n,
      pledge: 0n,
      deposits: 0n,
      power: 0n,
      powerLog: [],
      periodStart: ctx.slot + 1,
      nextSector: 0,
      ineligibleUntil: 0,
    });
  },
});

export const addCollateralKind = defineTxKind({
  id: 2,
  name: 'addCollateral',
  payload: collateralPayload,
  maxPayloadBytes: 64,
  gas: () => 30_000,
  touches: () => [],
  spends: (p) => p.value,
  async apply(ctx, p) {
    const miner = await loadMiner(ctx, p.miner, 'anyone');
    await debit(ctx.state, ctx.sender, p.value, ctx.slot);
    miner.collateral += p.value;
    await putMiner(ctx.state, p.miner, miner);
  },
});

export const withdrawCollateralKind = defineTxKind({
  id: 3,
  name: 'withdrawCollateral',
  payload: collateralPayload,
  maxPayloadBytes: 64,
  gas: () => 30_000,
  async apply(ctx, p) {
    const miner = await loadMiner(ctx, p.miner, 'owner');
    // Locked pledge and pre-commit deposits are separate balances: only free collateral leaves.
    if (p.value > miner.collateral) fail('COLLATERAL_LOCKED', `only ${miner.collateral} atto of collateral is free`);
    miner.collateral -= p.value;
    await putMiner(ctx.state, p.miner, miner);
    await credit(ctx.state, miner.owner, p.value);
  },
});

export const preCommitKind = defineTxKind({
  id: 4,
  name: 'preCommitSector',
  payload: preCommitPayload,
  maxPayloadBytes: 4096,
  gas: () => 100_000,
  async apply(ctx, p) {
    const params = ctx.params.miners;
    const miner = await loadMiner(ctx, p.miner, 'worker');
    if (await getSector(ctx.state, p.miner, p.sector)) fail('SECTOR_EXISTS', `sector ${p.sector} already exists`);
    if (p.sealRandHeight >= ctx.height || ctx.height - p.sealRandHeight > params.maxSealRandAge) fail('BAD_SEAL_RANDOMNESS', 'seal randomness height out of range');
    if (p.expiration <= ctx.slot + params.provingPeriod) fail('BAD_EXPIRATION', 'sector must live at least one proving period');
    if (miner.collateral < params.preCommitDeposit) fail('INSUFFICIENT_COLLATERAL', `pre-commit needs a deposit of ${params.preCommitDeposit} atto`);
    miner.collateral -= params.preCommitDeposit;
    miner.deposits += params.preCommitDeposit;
    miner.nextSector = Math.max(miner.nextSector, p.sector + 1);
    await putMiner(ctx.state, p.miner, miner);
    await assignDeals(ctx.state, p.miner, p.sector, p.dealIds, p.commD, miner.sectorSize, p.expiration);
    await putSector(ctx.state, p.miner, p.sector, {
      state: SectorState.precommitted,
      commD: p.commD,
      commR: p.commR,
      sealRandHeight: p.sealRandHeight,
      precommitHeight: ctx.height,
      activation: 0,
      expiration: p.expiration,
      deadline: p.sector % params.deadlines,
      provenPeriod: 0,
      faultyPeriods: 0,
      declaredFaulty: false,
      recovering: false,
      deposit: params.preCommitDeposit,
      pledge: 0n,
      dealIds: p.dealIds,
    });
    // The first height at which a prove-commit is too late: unproven by then, the deposit is burned.
    const expiryHeight = ctx.height + params.maxProveCommitDelay + 1;
    await putPrecommitExpiries(ctx.state, expiryHeight, [...(await precommitExpiries(ctx.state, expiryHeight)), { miner: p.miner, sector: p.sector }]);
  },
});

/** Seal randomness and the interactive seed of a pre-committed sector, from the state's beacon. */
export async function sealInputs(ctx: Pick<TxContext, 'state'>, sealRandHeight: number, seedHeight: number): Promise<{ sealRandomness: Uint8Array; seed: Uint8Array } | null> {
  const sealBeacon = await getBeacon(ctx.state, sealRandHeight);
  const seedBeacon = await getBeacon(ctx.state, seedHeight);
  if (!sealBeacon || !seedBeacon) return null;
  return { sealRandomness: derivedRandomness('seal', sealBeacon.mix, sealRandHeight), seed: derivedRandomness('porep-seed', seedBeacon.mix, seedHeight) };
}

export const proveCommitKind = defineTxKind({
  id: 5,
  name: 'proveCommitSector',
  payload: proveCommitPayload,
  maxPayloadBytes: 4 * 1024 * 1024 + 64,
  gas: (p) => 500_000 + p.proof.length * 4,
  async apply(ctx, p) {
    const params = ctx.params.miners;
    const miner = await loadMiner(ctx, p.miner, 'worker');
    const sector = await getSector(ctx.state, p.miner, p.sector);
    if (!sector || sector.state !== SectorState.precommitted) fail('NOT_PRECOMMITTED', `sector ${p.sector} is not pre-committed`);
    const seedHeight = sector.precommitHeight + params.seedDelay;
    if (ctx.height <= seedHeight) fail('TOO_EARLY', `prove-commit allowed after height ${seedHeight}`);
    if (ctx.height > sector.precommitHeight + params.maxProveCommitDelay) fail('TOO_LATE', 'the prove-commit window has passed');
    const inputs = await sealInputs(ctx, sector.sealRandHeight, seedHeight);
    if (!inputs) fail('NO_RANDOMNESS', 'seal randomness is no longer in the beacon window');
    const replicaId = replicaIdOf(p.miner, p.sector, inputs.sealRandomness, sector.commD);
    const failure = verifyPorep({ params: proofParamsOf(ctx), replicaId, commD: sector.commD, commR: sector.commR, seed: inputs.seed }, p.proof);
    if (failure) fail(`INVALID_POREP_${failure}`, `proof of replication rejected: ${failure}`);
    if (miner.collateral + sector.deposit < params.initialPledge) fail('INSUFFICIENT_COLLATERAL', `activation locks an initial pledge of ${params.initialPledge} atto`);
    // The deposit returns to free collateral; the pledge is locked from it.
    miner.deposits -= sector.deposit;
    miner.collateral += sector.deposit - params.initialPledge;
    miner.pledge += params.initialPledge;
    await activateDeals(ctx.state, sector.dealIds);
    sector.state = SectorState.active;
    sector.activation = ctx.slot;
    sector.deposit = 0n;
    sector.pledge = params.initialPledge;
    sector.provenPeriod = Math.max(0, periodIndex(params, miner, ctx.slot)) + 1;
    await putSector(ctx.state, p.miner, p.sector, sector);
    const list = await deadlineSectors(ctx.state, p.miner, sector.deadline);
    await putDeadlineSectors(ctx.state, params, p.miner, miner.periodStart, sector.deadline, list, [...list, p.sector].sort((a, b) => a - b));
    await changePower(ctx.state, p.miner, miner, BigInt(miner.sectorSize), ctx.height, params);
  },
});

/** Randomness of a miner's deadline: the beacon just before the window opened. */
export async function windowPostRandomness(state: TxContext['state'], height: number, minerId: number, period: number, deadline: number, open: number): Promise<Uint8Array | null> {
  const beacon = await beaconBefore(state, height, open);
  return beacon ? derivedRandomness('window-post', beacon.mix, minerId, period, deadline) : null;
}

/** A sector a WindowPoSt must cover. */
export interface ProvableSectorRef {
  number: number;
  commR: Uint8Array;
  faulty: boolean;
}

/**
 * Sectors a WindowPoSt of this deadline must cover, in order: active ones and declared recoveries;
 * with `partition`, only that partition's (the others' records are not read).
 */
export async function provableSectors(state: TxContext['state'], minerId: number, deadline: number, partition?: { params: MinerParams; index: number }): Promise<ProvableSectorRef[]> {
  const out = [];
  for (const number of await deadlineSectors(state, minerId, deadline)) {
    if (partition && partitionOf(partition.params, number) !== partition.index) continue;
    const sector = (await getSector(state, minerId, number))!;
    if (sector.state === SectorState.active || (sector.state === SectorState.faulty && sector.recovering)) out.push({ number, commR: sector.commR, faulty: sector.state === SectorState.faulty });
  }
  return out;
}

/**
 * The partition of a sector within its deadline: sector numbers of one deadline are d, d + D,
 * d + 2D, ... (D deadlines), cut into runs of the profile's partition size. It never changes, so a
 * partition's proof covers the same sectors however many others come and go.
 */
export function partitionOf(params: MinerParams, sector: number): number {
  return Math.floor(Math.floor(sector / params.deadlines) / PROOF_PROFILES[params.proofProfile].windowPostPartitionSectors);
}

/** Sectors grouped by partition, partitions in order (each keeps the sectors' order). */
export function byPartition<S extends { number: number }>(params: MinerParams, sectors: S[]): Map<number, S[]> {
  const partitions = new Map<number, S[]>();
  for (const sector of sectors) {
    const partition = partitionOf(params, sector.number);
    const members = partitions.get(partition);
    if (members) members.push(sector);
    else partitions.set(partition, [sector]);
  }
  return new Map([...partitions].sort((a, b) => a[0] - b[0]));
}

/**
 * A partition's WindowPoSt: `skipped` lists (ascending) the partition's sectors the miner cannot
 * prove (unreadable or corrupt replicas); `proof` covers the others, in order. Skipped sectors turn
 * faulty at once (power removed; the window's cron takes the fault fee) and a skipped recovery is
 * withdrawn, so one bad disk costs its own sectors and not the whole partition.
 */
export const submitWindowPostPayload = struct({ ...minerRef, deadline: uint(), partition: uint(), skipped: list(uint(), MAX_POST_SECTORS), proof: varBytes(8 * 1024 * 1024) });

/** The provable sectors split into those the proof covers and those skipped; a reason when `skipped` is not a subset in order. */
export function splitSkipped<S extends { number: number }>(sectors: S[], skipped: readonly number[]): { proven: S[]; skipped: S[] } | string {
  for (let i = 1; i < skipped.length; i++) if (skipped[i]! <= skipped[i - 1]!) return `skipped sectors must be strictly ascending (${skipped[i - 1]} then ${skipped[i]})`;
  const wanted = new Set(skipped);
  const out = { proven: [] as S[], skipped: [] as S[] };
  for (const sector of sectors) (wanted.delete(sector.number) ? out.skipped : out.proven).push(sector);
  if (wanted.size > 0) return `sector ${[...wanted][0]} is not due in this partition`;
  return out;
}

export const submitWindowPostKind = defineTxKind({
  id: 6,
  name: 'submitWindowPost',
  payload: submitWindowPostPayload,
  maxPayloadBytes: 8 * 1024 * 1024 + 4 * MAX_POST_SECTORS + 64,
  gas: (p) => 200_000 + p.proof.length * 2 + p.skipped.length * 5_000,
  async apply(ctx, p) {
    const params = ctx.params.miners;
    const miner = await loadMiner(ctx, p.miner, 'worker');
    const now = currentDeadline(params, miner, ctx.slot);
    if (!now || now.deadline !== p.deadline) fail('DEADLINE_NOT_OPEN', `deadline ${p.deadline} is not open at slot ${ctx.slot}`);
    const sectors = await provableSectors(ctx.state, p.miner, p.deadline, { params, index: p.partition });
    if (sectors.length === 0) fail('NOTHING_TO_PROVE', `no sectors to prove in partition ${p.partition} of deadline ${p.deadline}`);
    const split = splitSkipped(sectors, p.skipped);
    if (typeof split === 'string') fail('BAD_SKIPPED', split);
    const randomness = await windowPostRandomness(ctx.state, ctx.height, p.miner, now.period, now.deadline, now.open);
    if (!randomness) fail('NO_RANDOMNESS', 'deadline randomness unavailable');
    const failure = verifyPost(proofParamsOf(ctx), 'window', randomness, split.proven.map((s) => ({ sectorNumber: s.number, commR: s.commR })), p.proof);
    if (failure) fail(`INVALID_POST_${failure}`, `WindowPoSt rejected: ${failure}`);
    let powerDelta = 0n;
    for (const s of split.proven) {
      const sector = (await getSector(ctx.state, p.miner, s.number))!;
      const wasFaulty = sector.state === SectorState.faulty;
      sector.provenPeriod = now.period + 1;
      if (wasFaulty) {
        sector.state = SectorState.active;
        sector.faultyPeriods = 0;
        sector.recovering = false;
        sector.declaredFaulty = false;
        powerDelta += BigInt(miner.sectorSize);
      }
      await putSector(ctx.state, p.miner, s.number, sector);
      // Storage is paid for as its proofs land (not for the time it was faulty).
      await payDeals(ctx.state, sector.dealIds, ctx.slot, wasFaulty);
    }
    for (const s of split.skipped) {
      const sector = (await getSector(ctx.state, p.miner, s.number))!;
      if (sector.state === SectorState.active) {
        sector.state = SectorState.faulty;
        sector.declaredFaulty = true;
        powerDelta -= BigInt(miner.sectorSize);
      }
      sector.recovering = false;
      await putSector(ctx.state, p.miner, s.number, sector);
    }
    await changePower(ctx.state, p.miner, miner, powerDelta, ctx.height, params);
  },
});

export const sectorListPayload = struct({ ...minerRef, sectors: list(uint(), 2349) });

export const declareFaultsKind = defineTxKind({
  id: 7,
  name: 'declareFaults',
  payload: sectorListPayload,
  maxPayloadBytes: 32 * 1024,
  gas: (p) => 50_000 + p.sectors.length * 5_000,
  async apply(ctx, p) {
    const miner = await loadMiner(ctx, p.miner, 'worker');
    let lost = 0n;
    for (const number of p.sectors) {
      const sector = await getSector(ctx.state, p.miner, number);
      if (!sector || sector.state !== SectorState.active) fail('NOT_ACTIVE', `sector ${number} is not active`);
      sector.state = SectorState.faulty;
      sector.declaredFaulty = true;
      sector.recovering = false;
      lost += BigInt(miner.sectorSize);
      await putSector(ctx.state, p.miner, number, sector);
    }
    await changePower(ctx.state, p.miner, miner, -lost, ctx.height, ctx.params.miners);
  },
});

export const declareRecoveriesKind = defineTxKind({
  id: 8,
  name: 'declareRecoveries',
  payload: sectorListPayload,
  maxPayloadBytes: 32 * 1024,
  gas: (p) => 50_000 + p.sectors.length * 5_000,
  async apply(ctx, p) {
    await loadMiner(ctx, p.miner, 'worker');
    for (const number of p.sectors) {
      const sector = await getSector(ctx.state, p.miner, number);
      if (!sector || sector.state !== SectorState.faulty) fail('NOT_FAULTY', `sector ${number} is not faulty`);
      sector.recovering = true;
      await putSector(ctx.state, p.miner, number, sector);
    }
  },
});

/** Ends a sector: power removed, termination fee taken, the rest of its pledge (what fault fees left of it) freed. */
export async function terminateSector(ctx: Pick<TxContext, 'state' | 'params' | 'height'>, minerId: number, miner: Miner, number: number): Promise<void> {
  const params = ctx.params.miners;
  const sector = (await getSector(ctx.state, minerId, number))!;
  await slashDeals(ctx.state, sector.dealIds);
  if (sector.state === SectorState.active) await changePower(ctx.state, minerId, miner, -BigInt(miner.sectorSize), ctx.height, params);
  // Fault fees beyond the free collateral were taken from the miner's pledge, not from any one
  // sector's: a sector releases at most what the miner still has pledged (never below zero).
  const released = sector.pledge < miner.pledge ? sector.pledge : miner.pledge;
  const fee = params.terminationFee < released ? params.terminationFee : released;
  miner.pledge -= released;
  miner.collateral += released - fee;
  await credit(ctx.state, BURN_ADDRESS, fee);
  sector.state = SectorState.terminated;
  sector.pledge = 0n;
  await putSector(ctx.state, minerId, number, sector);
  const list = await deadlineSectors(ctx.state, minerId, sector.deadline);
  await putDeadlineSectors(ctx.state, params, minerId, miner.periodStart, sector.deadline, list, list.filter((n) => n !== number));
  await putMiner(ctx.state, minerId, miner);
}

export const terminateSectorsKind = defineTxKind({
  id: 9,
  name: 'terminateSectors',
  payload: sectorListPayload,
  maxPayloadBytes: 32 * 1024,
  gas: (p) => 50_000 + p.sectors.length * 10_000,
  async apply(ctx, p) {
    const miner = await loadMiner(ctx, p.miner, 'owner');
    for (const number of p.sectors) {
      const sector = await getSector(ctx.state, p.miner, number);
      if (!sector || (sector.state !== SectorState.active && sector.state !== SectorState.faulty)) fail('NOT_LIVE', `sector ${number} is not active or faulty`);
      await terminateSector(ctx, p.miner, miner, number);
    }
  },
});

/** The reporter of an equivocation gets 1/10 of the slash actually taken from the miner. */
export const EQUIVOCATION_REPORTER_DIVISOR = 10n;

export const reportEquivocationKind = defineTxKind({
  id: 10,
  name: 'reportEquivocation',
  payload: equivocationPayload,
  maxPayloadBytes: 256 * 1024 + 64,
  gas: () => 150_000,
  async apply(ctx, p) {
    const params = ctx.params.miners;
    const evidence = verifyEquivocation(ctx.params.chainId, p.first, p.second);
    if (typeof evidence === 'string') fail('BAD_EVIDENCE', evidence);
    const miner = await getMiner(ctx.state, evidence.miner);
    if (!miner) fail('NO_SUCH_MINER', `miner ${evidence.miner} does not exist`);
    if (!bytesEqual(evidence.signer, miner.worker)) fail('BAD_EVIDENCE', 'headers are not signed by the miner\'s worker');
    if (miner.ineligibleUntil >= evidence.slot + params.equivocationIneligibleSlots) fail('ALREADY_SLASHED', 'this equivocation was already punished');
    const taken = await penalize(ctx.state, miner, params.equivocationSlash);
    // The reporter earns a fixed share of what was taken (the rest stays burned): reporting pays.
    const reward = taken / EQUIVOCATION_REPORTER_DIVISOR;
    if (reward > 0n) {
      await debit(ctx.state, BURN_ADDRESS, reward, ctx.slot);
      await credit(ctx.state, ctx.sender, reward);
    }
    miner.ineligibleUntil = evidence.slot + params.equivocationIneligibleSlots;
    await putMiner(ctx.state, evidence.miner, miner);
  },
});

export const changeWorkerPayload = struct({ ...minerRef, newWorker: bytes(20) });

/**
 * The owner rotates the worker key (as Lotus does): the new key signs from `finality` blocks later on,
 * so the change is final on every branch before it takes effect. A second change replaces a pending one.
 */
export const changeWorkerKind = defineTxKind({
  id: 11,
  name: 'changeWorker',
  payload: changeWorkerPayload,
  maxPayloadBytes: 64,
  gas: () => 40_000,
  async apply(ctx, p) {
    const miner = await loadMiner(ctx, p.miner, 'owner');
    if (bytesEqual(p.newWorker, miner.worker)) fail('SAME_WORKER', 'that is already the worker');
    const pending = await getWorkerChange(ctx.state, p.miner);
    if (pending && pending.effectiveHeight > ctx.height) {
      await putWorkerChangesAt(ctx.state, pending.effectiveHeight, (await workerChangesAt(ctx.state, pending.effectiveHeight)).filter((id) => id !== p.miner));
    }
    const effectiveHeight = ctx.height + ctx.params.finality;
    await putWorkerChange(ctx.state, p.miner, { oldWorker: miner.worker, newWorker: p.newWorker, effectiveHeight });
    await putWorkerChangesAt(ctx.state, effectiveHeight, [...(await workerChangesAt(ctx.state, effectiveHeight)), p.miner]);
  },
});

/** Worker changes due at this block's height take effect (end-of-block cron). */
export async function applyWorkerChanges(state: TxContext['state'], height: number): Promise<void> {
  const due = await workerChangesAt(state, height);
  if (due.length === 0) return;
  for (const id of due) {
    const change = (await getWorkerChange(state, id))!;
    const miner = (await getMiner(state, id))!;
    miner.worker = change.newWorker;
    await putMiner(state, id, miner);
  }
  await putWorkerChangesAt(state, height, []);
}

export const peerAddressesPayload = struct({ ...minerRef, peerId: str(128), multiaddrs: list(str(256), 16) });

/** The worker or owner updates the libp2p peer id and addresses clients dial for deals and retrieval. */
export const changePeerAddressesKind = defineTxKind({
  id: 12,
  name: 'changePeerAddresses',
  payload: peerAddressesPayload,
  maxPayloadBytes: 8192,
  gas: (p) => 30_000 + p.multiaddrs.length * 2_000,
  async apply(ctx, p) {
    const miner = await loadMiner(ctx, p.miner, 'worker');
    miner.peerId = p.peerId;
    miner.multiaddrs = p.multiaddrs;
    await putMiner(ctx.state, p.miner, miner);
  },
});
