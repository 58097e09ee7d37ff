// Miner, sector and network records in the state, and their keys.
import { amount, bool, bytes, concatBytes, decode, encode, list, str, struct, uint, uintToBytesBE, type Infer } from '../../primitives/index.js';
import type { MinerParams } from '../../consensus/index.js';
import type { StateDb } from '../stateDb.js';

export const MinerKeyPrefix = { miner: 0x03, sector: 0x04, deadline: 0x05, network: 0x06 } as const;

const powerEntry = struct({ height: uint(), power: amount() });
export type PowerEntry = Infer<typeof powerEntry>;

export const minerCodec = struct({
  owner: bytes(20),
  worker: bytes(20),
  vrfKey: bytes(32),
  peerId: str(128),
  multiaddrs: list(str(256), 16),
  sectorSize: uint(),
  /** Free collateral: withdrawable, and what fees are taken from first. */
  collateral: amount(),
  /** Initial pledges locked by active sectors. */
  pledge: amount(),
  /** Pre-commit deposits awaiting prove-commit. */
  deposits: amount(),
  /** Proven power in bytes (active, non-faulty sectors). */
  power: amount(),
  /** Power changes over the lookback window, oldest first, for the election. */
  powerLog: list(powerEntry, 256),
  periodStart: uint(),
  nextSector: uint(),
  ineligibleUntil: uint(),
});
export type Miner = Infer<typeof minerCodec>;

export const SectorState = { precommitted: 0, active: 1, faulty: 2, terminated: 3 } as const;

export const sectorCodec = struct({
  state: uint(3),
  commD: bytes(32),
  commR: bytes(32),
  sealRandHeight: uint(),
  precommitHeight: uint(),
  activation: uint(),
  expiration: uint(),
  deadline: uint(),
  /** Proving period index + 1 of the last valid WindowPoSt (0 = none yet). */
  provenPeriod: uint(),
  faultyPeriods: uint(),
  declaredFaulty: bool(),
  recovering: bool(),
  deposit: amount(),
  pledge: amount(),
  dealIds: list(uint(), 256),
});
export type Sector = Infer<typeof sectorCodec>;

const beaconCodec = struct({ slot: uint(), vrfOutput: bytes(32), mix: bytes(32) });
export type BeaconEntry = Infer<typeof beaconCodec>;
const idListCodec = list(uint(), 1 << 20);
const countCodec = struct({ n: uint() });

export const minerKey = (id: number) => concatBytes(new Uint8Array([MinerKeyPrefix.miner]), uintToBytesBE(id, 8));
export const sectorKey = (id: number, sector: number) => concatBytes(new Uint8Array([MinerKeyPrefix.sector]), uintToBytesBE(id, 8), uintToBytesBE(sector, 8));
export const deadlineKey = (id: number, deadline: number) => concatBytes(new Uint8Array([MinerKeyPrefix.deadline]), uintToBytesBE(id, 8), uintToBytesBE(deadline, 2));
const networkPrefixes = new Map<string, Uint8Array>();
/** The cron builds hundreds of these a block: each name's prefix bytes are made once. */
const networkKey = (name: string, n?: number) => {
  let prefix = networkPrefixes.get(name);
  if (!prefix) networkPrefixes.set(name, (prefix = concatBytes(new Uint8Array([MinerKeyPrefix.network]), new TextEncoder().encode(name))));
  return n === undefined ? prefix.slice() : concatBytes(prefix, uintToBytesBE(n, 8));
};

export async function getMiner(state: StateDb, id: number): Promise<Miner | null> {
  const bytes = await state.get(minerKey(id));
  return bytes ? decode(minerCodec, bytes, 'miner') : null;
}

export async function putMiner(state: StateDb, id: number, miner: Miner): Promise<void> {
  await state.set(minerKey(id), encode(minerCodec, miner));
}

export async function getSector(state: StateDb, id: number, sector: number): Promise<Sector | null> {
  const bytes = await state.get(sectorKey(id, sector));
  return bytes ? decode(sectorCodec, bytes, 'sector') : null;
}

export async function putSector(state: StateDb, id: number, number: number, sector: Sector): Promise<void> {
  await state.set(sectorKey(id, number), encode(sectorCodec, sector));
}

async function getIds(state: StateDb, key: Uint8Array): Promise<number[]> {
  const bytes = await state.get(key);
  return bytes ? decode(idListCodec, bytes, 'id list') : [];
}

async function putIds(state: StateDb, key: Uint8Array, ids: number[]): Promise<void> {
  await state.set(key, ids.length ? encode(idListCodec, ids) : null);
}

export const deadlineSectors = (state: StateDb, id: number, deadline: number) => getIds(state, deadlineKey(id, deadline));

/** Slots a miner's windows repeat over: `deadlines` windows of `floor(provingPeriod / deadlines)` slots. */
export function windowCycle(params: Pick<MinerParams, 'provingPeriod' | 'deadlines'>): { width: number; cycle: number } {
  const width = Math.floor(params.provingPeriod / params.deadlines);
  return { width, cycle: width * params.deadlines };
}

/** Where in the window cycle deadline `deadline` of a miner whose periods start at `periodStart` closes. */
export function closeResidue(params: Pick<MinerParams, 'provingPeriod' | 'deadlines'>, periodStart: number, deadline: number): number {
  const { width, cycle } = windowCycle(params);
  return (periodStart + (deadline + 1) * width) % cycle;
}

/**
 * Miners with sectors in a deadline whose windows close at the slots congruent to `residue` modulo the
 * window cycle: the end-of-block cron reads only the miners due in the slots a block covers.
 */
export const minersClosingAt = (state: StateDb, residue: number) => getIds(state, networkKey('window-close', residue));

/**
 * Writes a deadline's sector list (`before` is what it held) and keeps the close index true: a miner
 * is listed at a deadline's close residue exactly while that deadline holds sectors.
 */
export async function putDeadlineSectors(state: StateDb, params: Pick<MinerParams, 'provingPeriod' | 'deadlines'>, id: number, periodStart: number, deadline: number, before: number[], sectors: number[]): Promise<void> {
  await putIds(state, deadlineKey(id, deadline), sectors);
  if ((before.length === 0) === (sectors.length === 0)) return;
  const key = networkKey('window-close', closeResidue(params, periodStart, deadline));
  const listed = (await getIds(state, key)).filter((m) => m !== id);
  if (sectors.length) listed.splice(sortedIndex(listed, id), 0, id);
  await putIds(state, key, listed);
}

function sortedIndex(ids: number[], id: number): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Miners are numbered 1..count in creation order: one counter, not a list rewritten per new miner. */
export async function minerCount(state: StateDb): Promise<number> {
  const bytes = await state.get(networkKey('miner-count'));
  return bytes ? decode(countCodec, bytes, 'miner count').n : 0;
}

export const putMinerCount = (state: StateDb, n: number) => state.set(networkKey('miner-count'), encode(countCodec, { n }));

export async function minerIds(state: StateDb): Promise<number[]> {
  return Array.from({ length: await minerCount(state) }, (_, i) => i + 1);
}

const sectorRefsCodec = list(struct({ miner: uint(), sector: uint() }), 1 << 16);
export type SectorRef = { miner: number; sector: number };

/** Pre-commits whose prove-commit window closes at `height` (expired by that block's cron if unproven). */
export async function precommitExpiries(state: StateDb, height: number): Promise<SectorRef[]> {
  const bytes = await state.get(networkKey('precommit-expiry', height));
  return bytes ? decode(sectorRefsCodec, bytes, 'pre-commit expiries') : [];
}

export async function putPrecommitExpiries(state: StateDb, height: number, refs: SectorRef[]): Promise<void> {
  await state.set(networkKey('precommit-expiry', height), refs.length ? encode(sectorRefsCodec, refs) : null);
}

/**
 * A miner's latest worker-key change: the new key takes over at `effectiveHeight` (a finality after
 * it was asked for, so every branch a node could still switch to agrees); the old key is kept to
 * recognise blocks of branches that fork before the switch.
 */
export const workerChangeCodec = struct({ oldWorker: bytes(20), newWorker: bytes(20), effectiveHeight: uint() });
export type WorkerChange = Infer<typeof workerChangeCodec>;

export async function getWorkerChange(state: StateDb, id: number): Promise<WorkerChange | null> {
  const bytes = await state.get(networkKey('worker-change', id));
  return bytes ? decode(workerChangeCodec, bytes, 'worker change') : null;
}

export async function putWorkerChange(state: StateDb, id: number, change: WorkerChange): Promise<void> {
  await state.set(networkKey('worker-change', id), encode(workerChangeCodec, change));
}

const idsAtCodec = list(uint(), 1 << 16);

/** Miners whose worker change takes effect at `height` (applied by that block's cron). */
export async function workerChangesAt(state: StateDb, height: number): Promise<number[]> {
  const bytes = await state.get(networkKey('worker-change-at', height));
  return bytes ? decode(idsAtCodec, bytes, 'worker changes') : [];
}

export async function putWorkerChangesAt(state: StateDb, height: number, ids: number[]): Promise<void> {
  await state.set(networkKey('worker-change-at', height), ids.length ? encode(idsAtCodec, ids) : null);
}

export async function deleteSector(state: StateDb, id: number, sector: number): Promise<void> {
  await state.set(sectorKey(id, sector), null);
}

export async function getTotalPowerLog(state: StateDb): Promise<PowerEntry[]> {
  const bytes = await state.get(networkKey('power'));
  return bytes ? decode(list(powerEntry, 256), bytes, 'power log') : [];
}

export async function putTotalPowerLog(state: StateDb, log: PowerEntry[]): Promise<void> {
  await state.set(networkKey('power'), encode(list(powerEntry, 256), log));
}

export async function getBeacon(state: StateDb, height: number): Promise<BeaconEntry | null> {
  const bytes = await state.get(networkKey('beacon', height));
  return bytes ? decode(beaconCodec, bytes, 'beacon') : null;
}

export async function putBeacon(state: StateDb, height: number, entry: BeaconEntry | null): Promise<void> {
  await state.set(networkKey('beacon', height), entry ? encode(beaconCodec, entry) : null);
}

/** Power at `height` from a log of changes (the last entry at or before it). */
export function powerAt(log: PowerEntry[], height: number): bigint {
  let power = 0n;
  for (const entry of log) {
    if (entry.height > height) break;
    power = entry.power;
  }
  return power;
}

/** Appends a change and drops entries no lookback can reach (keeping the one in force at the cutoff). */
export function logPower(log: PowerEntry[], height: number, power: bigint, keepFrom: number): PowerEntry[] {
  const next = log.filter((e) => e.height < height);
  next.push({ height, power });
  let firstKept = 0;
  for (let i = 0; i < next.length; i++) if (next[i]!.height <= keepFrom) firstKept = i;
  return next.slice(firstKept);
}
