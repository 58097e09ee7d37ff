// Genesis files (genesis/*.json): network, chain id, profile parameters, allocations and pre-sealed
// genesis miners. Builds the genesis state and block. Supply is checked: allocations must be exactly
// 55M BCR (foundation 35M, team 12M, tech 8M); the 45M mining supply is unminted.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BcrError, bcr, bytesEqual, concatBytes, fromHex, parseAddress, sha256, systemAddress, toChecksumAddress, toHex, uintToBytesBE, utf8 } from '../primitives/index.js';
import { MINING_SUPPLY, isValidActiveSlotCoeff, parseActiveSlotCoeff, vrfPublicKey, type ChainParams, type MinerParams } from '../consensus/index.js';
import { PROOF_PROFILES } from '../proofs/index.js';
import {
  FOUNDATION_ADDRESS,
  MAX_SIGNERS,
  Overlay,
  SectorState,
  councilProblem,
  putCouncil,
  type Council,
  StateDb,
  accountKey,
  encodeAccount,
  genesisBeaconEntry,
  putBeacon,
  putDeadlineSectors,
  putMiner,
  putMinerCount,
  putSector,
  putTotalPowerLog,
  type KvReader,
  type Vesting,
} from '../state/index.js';
import { ZERO_ID, blockId, receiptsRootOf, txRootOf, type Block, type BlockHeader } from './block.js';

export const TOTAL_SUPPLY = bcr(100_000_000);
export const ALLOCATION_TARGETS: Record<AllocationLabel, bigint> = {
  foundation: bcr(35_000_000),
  team: bcr(12_000_000),
  tech: bcr(8_000_000),
};
export type AllocationLabel = 'foundation' | 'team' | 'tech';

export interface Allocation {
  label: AllocationLabel;
  address: Uint8Array;
  balance: bigint;
  vesting: { cliffSlots: number; durationSlots: number } | null;
}

export interface GenesisMiner {
  owner: Uint8Array;
  worker: Uint8Array;
  vrfKey: Uint8Array;
  /** The sectors are regenerated from this seed by the miner's node (zero data, committed capacity). */
  seed: string;
  sectors: { commR: Uint8Array }[];
  /** Free collateral the miner starts with (atto), taken with its sectors' pledge from the owner's allocation. */
  collateral: bigint;
}

export interface Genesis {
  params: ChainParams;
  allocations: Allocation[];
  miners: GenesisMiner[];
  /** The foundation council at genesis (signers, threshold, notice delay); null: the reserve is frozen. */
  council: Council | null;
  /** True when genesis/*.json says "auto": the node fixes the time when it first creates its data dir. */
  autoTime: boolean;
}

type MinerParamsJson = Omit<MinerParams, 'activeSlotCoeff' | 'preCommitDeposit' | 'initialPledge' | 'faultFee' | 'terminationFee' | 'equivocationSlash'> & {
  activeSlotCoeff: string;
  preCommitDeposit: string;
  initialPledge: string;
  faultFee: string;
  terminationFee: string;
  equivocationSlash: string;
};

interface GenesisJson {
  network: string;
  chainId: number;
  genesisTime: number | 'auto';
  params: Omit<ChainParams, 'network' | 'chainId' | 'genesisTime' | 'minGasPrice' | 'miners'> & { minGasPrice: string; miners: MinerParamsJson };
  allocations: { label: AllocationLabel; address: string; balance: string; vesting?: { cliffSlots: number; durationSlots: number } }[];
  miners: { owner: string; worker: string; vrfKey: string; seed: string; sectors: { commR: string }[]; collateral?: string }[];
  governance?: { signers: string[]; threshold: number; noticeSlots: number };
}

export { FOUNDATION_ADDRESS };

/** The allocation's vesting grant as the state holds it: its whole balance, from slot 0. */
export function allocationVesting(a: Allocation): Vesting | null {
  return a.vesting ? { total: a.balance, startSlot: 0, ...a.vesting } : null;
}

/** Governed funds (the foundation's) move only by foundation resolution. */
export function isGoverned(a: Allocation): boolean {
  return bytesEqual(a.address, FOUNDATION_ADDRESS);
}

function fail(message: string): never {
  throw new BcrError('BAD_GENESIS', message);
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) fail(`${name} must be a positive integer`);
  return value;
}

function amountOf(value: unknown, name: string): bigint {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) fail(`${name} must be a decimal string of atto`);
  return BigInt(value);
}

function resolveAddress(text: string): Uint8Array {
  if (text.startsWith('system:')) return systemAddress(text.slice('system:'.length));
  return parseAddress(text);
}

function parseMinerParams(m: MinerParamsJson | undefined): MinerParams {
  if (!m) fail('params.miners missing');
  if (!(m.proofProfile in PROOF_PROFILES)) fail(`unknown proof profile ${m.proofProfile}`);
  const activeSlotCoeff = parseActiveSlotCoeff(m.activeSlotCoeff ?? '');
  if (!activeSlotCoeff) fail('params.miners.activeSlotCoeff must be "numerator/denominator"');
  const params: MinerParams = {
    proofProfile: m.proofProfile,
    activeSlotCoeff,
    powerLookback: positiveInt(m.powerLookback, 'powerLookback'),
    randomnessLookback: positiveInt(m.randomnessLookback, 'randomnessLookback'),
    beaconWindow: positiveInt(m.beaconWindow, 'beaconWindow'),
    preCommitDeposit: amountOf(m.preCommitDeposit, 'preCommitDeposit'),
    initialPledge: amountOf(m.initialPledge, 'initialPledge'),
    faultFee: amountOf(m.faultFee, 'faultFee'),
    terminationFee: amountOf(m.terminationFee, 'terminationFee'),
    seedDelay: positiveInt(m.seedDelay, 'seedDelay'),
    maxProveCommitDelay: positiveInt(m.maxProveCommitDelay, 'maxProveCommitDelay'),
    maxSealRandAge: positiveInt(m.maxSealRandAge, 'maxSealRandAge'),
    provingPeriod: positiveInt(m.provingPeriod, 'provingPeriod'),
    deadlines: positiveInt(m.deadlines, 'deadlines'),
    faultMaxPeriods: positiveInt(m.faultMaxPeriods, 'faultMaxPeriods'),
    equivocationSlash: amountOf(m.equivocationSlash, 'equivocationSlash'),
    equivocationIneligibleSlots: positiveInt(m.equivocationIneligibleSlots, 'equivocationIneligibleSlots'),
  };
  if (!isValidActiveSlotCoeff(params.activeSlotCoeff)) fail('activeSlotCoeff must be in (0, 1/2]');
  if (params.provingPeriod % params.deadlines !== 0) fail('provingPeriod must be a multiple of deadlines');
  if (params.beaconWindow <= Math.max(params.maxProveCommitDelay, params.maxSealRandAge, params.randomnessLookback)) fail('beaconWindow must cover every randomness lookup');
  return params;
}

function minerParamsToJson(m: MinerParams): MinerParamsJson {
  return {
    ...m,
    activeSlotCoeff: `${m.activeSlotCoeff.numerator}/${m.activeSlotCoeff.denominator}`,
    preCommitDeposit: m.preCommitDeposit.toString(),
    initialPledge: m.initialPledge.toString(),
    faultFee: m.faultFee.toString(),
    terminationFee: m.terminationFee.toString(),
    equivocationSlash: m.equivocationSlash.toString(),
  };
}

export function parseGenesis(json: unknown, nowMs?: number): Genesis {
  const g = json as GenesisJson;
  if (!g || typeof g !== 'object') fail('genesis must be a JSON object');
  if (typeof g.network !== 'string' || !g.network) fail('network name missing');
  const autoTime = g.genesisTime === 'auto';
  let genesisTime: number;
  if (autoTime) {
    if (nowMs === undefined) fail('genesisTime is "auto": a start time must be supplied');
    genesisTime = nowMs;
  } else genesisTime = positiveInt(g.genesisTime, 'genesisTime');
  const p = g.params ?? fail('params missing');
  const params: ChainParams = {
    network: g.network,
    chainId: positiveInt(g.chainId, 'chainId'),
    genesisTime,
    slotMs: positiveInt(p.slotMs, 'params.slotMs'),
    slotsPerQuarter: positiveInt(p.slotsPerQuarter, 'params.slotsPerQuarter'),
    finality: positiveInt(p.finality, 'params.finality'),
    blockGasLimit: positiveInt(p.blockGasLimit, 'params.blockGasLimit'),
    maxBlockBytes: positiveInt(p.maxBlockBytes, 'params.maxBlockBytes'),
    maxTxBytes: positiveInt(p.maxTxBytes, 'params.maxTxBytes'),
    maxTxsPerBlock: positiveInt(p.maxTxsPerBlock, 'params.maxTxsPerBlock'),
    minGasPrice: amountOf(p.minGasPrice, 'params.minGasPrice'),
    maxFutureSlots: positiveInt(p.maxFutureSlots, 'params.maxFutureSlots'),
    miners: parseMinerParams(p.miners),
  };
  const allocations: Allocation[] = (g.allocations ?? []).map((a) => ({
    label: a.label,
    address: resolveAddress(a.address),
    balance: amountOf(a.balance, 'allocation balance'),
    vesting: a.vesting ? { cliffSlots: a.vesting.cliffSlots, durationSlots: positiveInt(a.vesting.durationSlots, 'vesting.durationSlots') } : null,
  }));
  if (allocations.some((a) => !(a.label in ALLOCATION_TARGETS))) fail('unknown allocation label');
  for (const label of Object.keys(ALLOCATION_TARGETS) as AllocationLabel[]) {
    const sum = allocations.filter((a) => a.label === label).reduce((s, a) => s + a.balance, 0n);
    if (sum !== ALLOCATION_TARGETS[label]) fail(`${label} allocations sum to ${sum} atto, expected ${ALLOCATION_TARGETS[label]}`);
  }
  const allocated = allocations.reduce((s, a) => s + a.balance, 0n);
  if (allocated + MINING_SUPPLY !== TOTAL_SUPPLY) fail('allocations plus mining supply must equal 100,000,000 BCR');
  const miners: GenesisMiner[] = (g.miners ?? []).map((m) => ({
    owner: parseAddress(m.owner),
    worker: parseAddress(m.worker),
    vrfKey: fromHex(m.vrfKey),
    seed: String(m.seed),
    sectors: m.sectors.map((s) => ({ commR: fromHex(s.commR) })),
    collateral: m.collateral === undefined ? 0n : BigInt(m.collateral),
  }));
  if (miners.some((m) => m.collateral < 0n)) fail('genesis miner collateral must not be negative');
  if (miners.some((m) => m.vrfKey.length !== 32 || m.sectors.some((s) => s.commR.length !== 32))) fail('bad genesis miner key or CommR');
  let council: Council | null = null;
  if (g.governance) {
    council = { signers: (g.governance.signers ?? []).map(parseAddress), threshold: positiveInt(g.governance.threshold, 'governance.threshold'), noticeSlots: positiveInt(g.governance.noticeSlots, 'governance.noticeSlots') };
    const problem = councilProblem(council);
    if (problem || council.signers.length > MAX_SIGNERS) fail(`governance: ${problem ?? `at most ${MAX_SIGNERS} signers`}`);
  }
  return { params, allocations, miners, council, autoTime };
}

export function genesisDir(): string {
  return fileURLToPath(new URL('../../genesis/', import.meta.url));
}

/** Reads genesis/<network>.json, or any path to a genesis file. */
export function readGenesisJson(networkOrPath: string): unknown {
  const path = networkOrPath.endsWith('.json') ? networkOrPath : `${genesisDir()}${networkOrPath}.json`;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new BcrError('BAD_GENESIS', `cannot read genesis ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function genesisToJson(genesis: Genesis): GenesisJson {
  const { params } = genesis;
  const { network: _n, chainId: _c, genesisTime: _t, minGasPrice, miners, ...rest } = params;
  return {
    network: params.network,
    chainId: params.chainId,
    genesisTime: params.genesisTime,
    params: { ...rest, minGasPrice: minGasPrice.toString(), miners: minerParamsToJson(miners) },
    allocations: genesis.allocations.map((a) => ({
      label: a.label,
      address: toChecksumAddress(a.address),
      balance: a.balance.toString(),
      ...(a.vesting ? { vesting: a.vesting } : {}),
    })),
    miners: genesis.miners.map((m) => ({
      owner: toChecksumAddress(m.owner),
      worker: toChecksumAddress(m.worker),
      vrfKey: toHex(m.vrfKey),
      seed: m.seed,
      sectors: m.sectors.map((s) => ({ commR: toHex(s.commR) })),
      ...(m.collateral > 0n ? { collateral: m.collateral.toString() } : {}),
    })),
    ...(genesis.council ? { governance: { signers: genesis.council.signers.map(toChecksumAddress), threshold: genesis.council.threshold, noticeSlots: genesis.council.noticeSlots } } : {}),
  };
}

/**
 * The well-known development VRF key of a genesis miner, derived from its public seed. DEVNET AND
 * TEST NETWORKS ONLY: anyone can compute it, so anyone could compute that miner's election outputs.
 */
export function devVrfSecret(seed: string): Uint8Array {
  return sha256(concatBytes(utf8('bcr/dev-vrf-key/v1'), utf8(seed)));
}

/** Addresses of the well-known development keys (Hardhat/Anvil accounts 0-2, and 8-10 of the dev council): public, devnet/test only. */
export const WELL_KNOWN_DEV_ADDRESSES = [
  '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720',
  '0xBcd4042DE499D14e55001CcbB24a551F3b954096',
  '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f',
];

/**
 * A mainnet genesis must not use any key the public can compute: a development VRF key (derived from
 * the miner's seed, which the genesis file prints) would let anyone compute that miner's election
 * outputs in advance; a development worker or owner key would let anyone sign for it.
 */
export function assertNoWellKnownKeys(genesis: Genesis): void {
  if (genesis.params.network !== 'mainnet') return;
  const dev = new Set(WELL_KNOWN_DEV_ADDRESSES.map((a) => a.toLowerCase()));
  for (const [index, m] of genesis.miners.entries()) {
    if (bytesEqual(vrfPublicKey(devVrfSecret(m.seed)), m.vrfKey)) throw new BcrError('WELL_KNOWN_KEY', `mainnet genesis miner ${index + 1} uses the development VRF key of its public seed: make a secret one with bcr genesis preseal --keystore`);
    if (dev.has(toChecksumAddress(m.worker).toLowerCase()) || dev.has(toChecksumAddress(m.owner).toLowerCase())) throw new BcrError('WELL_KNOWN_KEY', `mainnet genesis miner ${index + 1} uses a well-known development key`);
  }
  for (const signer of genesis.council?.signers ?? []) {
    if (dev.has(toChecksumAddress(signer).toLowerCase())) throw new BcrError('WELL_KNOWN_KEY', `mainnet council signer ${toChecksumAddress(signer)} is a well-known development key`);
  }
}

/** Seal randomness of genesis sector `n` of the miner with `seed`. */
export function genesisSealRandomness(seed: string, sector: number): Uint8Array {
  return sha256(concatBytes(utf8('bcr/genesis-seal/v1'), utf8(seed), uintToBytesBE(sector, 8)));
}

/** The beacon (VRF output) recorded for genesis: all randomness starts from it. */
export function genesisBeacon(params: ChainParams): Uint8Array {
  return sha256(concatBytes(utf8('bcr/genesis-beacon/v1'), utf8(params.network), uintToBytesBE(params.chainId, 8)));
}

/** What a genesis miner locks at genesis: each sector's initial pledge, and its free collateral. */
export function genesisMinerCost(params: MinerParams, miner: GenesisMiner): bigint {
  return params.initialPledge * BigInt(miner.sectors.length) + miner.collateral;
}

/** Writes the genesis state into an overlay over `base` and returns the genesis block. */
export async function buildGenesis(genesis: Genesis, base: KvReader): Promise<{ block: Block; id: Uint8Array; overlay: Overlay }> {
  const overlay = new Overlay(base);
  const state = new StateDb(overlay);
  const { params } = genesis;
  const accounts = new Map<string, { address: Uint8Array; balance: bigint; vesting: Vesting | null }>();
  for (const a of genesis.allocations) {
    const key = Buffer.from(a.address).toString('hex');
    if (accounts.has(key)) throw new BcrError('BAD_GENESIS', `address ${toChecksumAddress(a.address)} is allocated twice`);
    accounts.set(key, { address: a.address, balance: a.balance, vesting: allocationVesting(a) });
  }
  // Genesis miners pledge for their sectors and hold collateral like any other: the owner's allocation pays.
  for (const [i, m] of genesis.miners.entries()) {
    const owner = accounts.get(Buffer.from(m.owner).toString('hex'));
    const cost = genesisMinerCost(params.miners, m);
    if (!owner || owner.vesting || owner.balance < cost) throw new BcrError('BAD_GENESIS', `genesis miner ${i + 1}: its owner ${toChecksumAddress(m.owner)} needs a liquid allocation of at least ${cost} atto for its pledge and collateral`);
    owner.balance -= cost;
  }
  for (const { address, balance, vesting } of accounts.values()) {
    await state.set(accountKey(address), encodeAccount({ balance, nonce: 0, vesting }));
  }
  if (genesis.council) await putCouncil(state, genesis.council);
  const sectorSize = PROOF_PROFILES[params.miners.proofProfile].sectorSize;
  const commD = zeroCommD(sectorSize);
  let total = 0n;
  const ids: number[] = [];
  for (const [i, m] of genesis.miners.entries()) {
    const id = i + 1;
    ids.push(id);
    const power = BigInt(m.sectors.length * sectorSize);
    total += power;
    const byDeadline = new Map<number, number[]>();
    for (const [number] of m.sectors.entries()) {
      const deadline = number % params.miners.deadlines;
      byDeadline.set(deadline, [...(byDeadline.get(deadline) ?? []), number]);
      await putSector(state, id, number, {
        state: SectorState.active,
        commD,
        commR: m.sectors[number]!.commR,
        sealRandHeight: 0,
        precommitHeight: 0,
        activation: 0,
        expiration: Number.MAX_SAFE_INTEGER,
        deadline,
        provenPeriod: 1, // the first proving period is free: the node regenerates its sectors
        faultyPeriods: 0,
        declaredFaulty: false,
        recovering: false,
        deposit: 0n,
        pledge: params.miners.initialPledge,
        dealIds: [],
      });
    }
    // Genesis miners' periods start at slot 1 (as their record says below).
    for (const [deadline, list] of byDeadline) await putDeadlineSectors(state, params.miners, id, 1, deadline, [], list);
    await putMiner(state, id, {
      owner: m.owner,
      worker: m.worker,
      vrfKey: m.vrfKey,
      peerId: '',
      multiaddrs: [],
      sectorSize,
      collateral: m.collateral,
      pledge: params.miners.initialPledge * BigInt(m.sectors.length),
      deposits: 0n,
      power,
      powerLog: power > 0n ? [{ height: 0, power }] : [],
      periodStart: 1,
      nextSector: m.sectors.length,
      ineligibleUntil: 0,
    });
  }
  await putMinerCount(state, ids.length);
  await putTotalPowerLog(state, [{ height: 0, power: total }]);
  const beacon = genesisBeacon(params);
  await putBeacon(state, 0, genesisBeaconEntry(beacon));
  const { stateRoot } = await state.commit();
  const header: BlockHeader = {
    parentId: ZERO_ID,
    height: 0,
    slot: 0,
    timestamp: params.genesisTime,
    miner: 0,
    vrfProof: new Uint8Array(0),
    vrfOutput: beacon,
    winningPost: new Uint8Array(0),
    txRoot: txRootOf([]),
    receiptsRoot: receiptsRootOf([]),
    stateRoot,
    signature: new Uint8Array(65),
  };
  return { block: { header, txs: [] }, id: blockId(header), overlay };
}

const zeroCommDs = new Map<number, Uint8Array>();

/** CommD of an all-zero sector (committed capacity), by hashing one level at a time. */
export function zeroCommD(sectorSize: number): Uint8Array {
  const cached = zeroCommDs.get(sectorSize);
  if (cached) return cached;
  let node: Uint8Array = new Uint8Array(32);
  for (let size = 32; size < sectorSize; size *= 2) node = sha256(concatBytes(node, node));
  zeroCommDs.set(sectorSize, node);
  return node;
}
