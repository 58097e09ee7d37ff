// Genesis files (genesis/*.json): network, chain id, profile parameters, allocations. Builds the
// genesis state and block. Supply is checked: allocations must be exactly 55M BCR (foundation 35M,
// team 12M, tech 8M); the 45M mining supply is unminted and issued by the curve.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BcrError, bcr, parseAddress, systemAddress, toChecksumAddress } from '../primitives/index.js';
import { MINING_SUPPLY, type ChainParams } from '../consensus/index.js';
import { Overlay, StateDb, accountKey, encodeAccount, type KvReader, type Vesting } from '../state/index.js';
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

export interface Genesis {
  params: ChainParams;
  allocations: Allocation[];
  authorities: Uint8Array[];
  /** True when genesis/*.json says "auto": the node fixes the time when it first creates its data dir. */
  autoTime: boolean;
}

interface GenesisJson {
  network: string;
  chainId: number;
  genesisTime: number | 'auto';
  params: Omit<ChainParams, 'network' | 'chainId' | 'genesisTime' | 'minGasPrice'> & { minGasPrice: string };
  allocations: { label: AllocationLabel; address: string; balance: string; vesting?: { cliffSlots: number; durationSlots: number } }[];
  authorities: string[];
}

export const FOUNDATION_ADDRESS = systemAddress('foundation');

function fail(message: string): never {
  throw new BcrError('BAD_GENESIS', message);
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) fail(`${name} must be a positive integer`);
  return value;
}

function resolveAddress(text: string): Uint8Array {
  if (text.startsWith('system:')) return systemAddress(text.slice('system:'.length));
  return parseAddress(text);
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
    minGasPrice: BigInt(p.minGasPrice),
    maxFutureSlots: positiveInt(p.maxFutureSlots, 'params.maxFutureSlots'),
  };
  const allocations: Allocation[] = (g.allocations ?? []).map((a) => ({
    label: a.label,
    address: resolveAddress(a.address),
    balance: BigInt(a.balance),
    vesting: a.vesting ? { cliffSlots: a.vesting.cliffSlots, durationSlots: positiveInt(a.vesting.durationSlots, 'vesting.durationSlots') } : null,
  }));
  for (const label of Object.keys(ALLOCATION_TARGETS) as AllocationLabel[]) {
    const sum = allocations.filter((a) => a.label === label).reduce((s, a) => s + a.balance, 0n);
    if (sum !== ALLOCATION_TARGETS[label]) fail(`${label} allocations sum to ${sum} atto, expected ${ALLOCATION_TARGETS[label]}`);
  }
  if (allocations.some((a) => !(a.label in ALLOCATION_TARGETS))) fail('unknown allocation label');
  const allocated = allocations.reduce((s, a) => s + a.balance, 0n);
  if (allocated + MINING_SUPPLY !== TOTAL_SUPPLY) fail('allocations plus mining supply must equal 100,000,000 BCR');
  const authorities = (g.authorities ?? []).map(parseAddress);
  if (authorities.length === 0) fail('at least one block producer is needed');
  return { params, allocations, authorities, autoTime };
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
  return {
    network: params.network,
    chainId: params.chainId,
    genesisTime: params.genesisTime,
    params: {
      slotMs: params.slotMs,
      slotsPerQuarter: params.slotsPerQuarter,
      finality: params.finality,
      blockGasLimit: params.blockGasLimit,
      maxBlockBytes: params.maxBlockBytes,
      maxTxBytes: params.maxTxBytes,
      maxTxsPerBlock: params.maxTxsPerBlock,
      minGasPrice: params.minGasPrice.toString(),
      maxFutureSlots: params.maxFutureSlots,
    },
    allocations: genesis.allocations.map((a) => ({
      label: a.label,
      address: toChecksumAddress(a.address),
      balance: a.balance.toString(),
      ...(a.vesting ? { vesting: a.vesting } : {}),
    })),
    authorities: genesis.authorities.map(toChecksumAddress),
  };
}

/** Writes the genesis state into `store` and returns the genesis block. */
export async function buildGenesis(genesis: Genesis, base: KvReader): Promise<{ block: Block; id: Uint8Array; overlay: Overlay }> {
  const overlay = new Overlay(base);
  const state = new StateDb(overlay);
  const accounts = new Map<string, { address: Uint8Array; balance: bigint; vesting: Vesting | null }>();
  for (const a of genesis.allocations) {
    const key = Buffer.from(a.address).toString('hex');
    if (accounts.has(key)) throw new BcrError('BAD_GENESIS', `address ${toChecksumAddress(a.address)} is allocated twice`);
    accounts.set(key, { address: a.address, balance: a.balance, vesting: a.vesting ? { total: a.balance, startSlot: 0, ...a.vesting } : null });
  }
  for (const { address, balance, vesting } of accounts.values()) {
    await state.set(accountKey(address), encodeAccount({ balance, nonce: 0, vesting }));
  }
  const { stateRoot } = await state.commit();
  const header: BlockHeader = {
    parentId: ZERO_ID,
    height: 0,
    slot: 0,
    timestamp: genesis.params.genesisTime,
    producer: new Uint8Array(20),
    vrfProof: new Uint8Array(0),
    vrfOutput: new Uint8Array(32),
    winningPost: new Uint8Array(0),
    txRoot: txRootOf([]),
    receiptsRoot: receiptsRootOf([]),
    stateRoot,
    signature: new Uint8Array(65),
  };
  return { block: { header, txs: [] }, id: blockId(header), overlay };
}
