// Chain parameters: one profile per network, read from genesis/*.json.
import type { ActiveSlotCoefficient } from './election.js';

/** Miner, sector and proof-of-spacetime rules (amounts in atto; lookbacks in blocks; periods in slots). */
export interface MinerParams {
  proofProfile: 'test' | 'devnet' | 'mainnet';
  activeSlotCoeff: ActiveSlotCoefficient;
  powerLookback: number;
  randomnessLookback: number;
  /** Recent (slot, VRF output) beacon entries kept in the state. */
  beaconWindow: number;
  preCommitDeposit: bigint;
  initialPledge: bigint;
  faultFee: bigint;
  terminationFee: bigint;
  seedDelay: number;
  maxProveCommitDelay: number;
  maxSealRandAge: number;
  provingPeriod: number;
  deadlines: number;
  faultMaxPeriods: number;
  equivocationSlash: bigint;
  equivocationIneligibleSlots: number;
}

export interface ChainParams {
  network: string;
  chainId: number;
  /** Unix ms at which slot 0 starts. */
  genesisTime: number;
  slotMs: number;
  slotsPerQuarter: number;
  /** Reorgs deeper than this many blocks are refused; blocks this deep are final. */
  finality: number;
  blockGasLimit: number;
  maxBlockBytes: number;
  maxTxBytes: number;
  maxTxsPerBlock: number;
  /** Lowest gas price (atto per gas unit) the chain accepts. */
  minGasPrice: bigint;
  /** How many slots ahead of the local clock a block may be. */
  maxFutureSlots: number;
  miners: MinerParams;
}

export function slotAt(params: Pick<ChainParams, 'genesisTime' | 'slotMs'>, unixMs: number): number {
  if (unixMs < params.genesisTime) return 0;
  return Math.floor((unixMs - params.genesisTime) / params.slotMs);
}

export function slotStart(params: Pick<ChainParams, 'genesisTime' | 'slotMs'>, slot: number): number {
  return params.genesisTime + slot * params.slotMs;
}
