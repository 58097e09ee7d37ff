// Turns an election simulation into the figures a researcher reads: empty and contested slots
// against theory, chain growth, orphan rate, and each miner's share of blocks against its power.
import type { ActiveSlotCoefficient } from '../consensus/index.js';
import type { ElectionSimResult } from './electionSim.js';
import { chiSquare, chiSquareCritical, winChance } from './stats.js';

export interface MinerShare {
  miner: number;
  powerShare: number;
  /** Its expected share of blocks made: phi(power share), normalised over all miners. */
  expectedShare: number;
  wonShare: number;
  canonicalShare: number;
}

export interface ElectionReport {
  emptyRate: number;
  expectedEmptyRate: number;
  multiWinnerRate: number;
  blocksPerSlot: number;
  chainGrowthPerSlot: number;
  orphanRate: number;
  /** Chi-square of blocks made per miner against the election odds, and its p = 0.001 critical value. */
  chiSquare: number;
  chiSquareCritical: number;
  shares: MinerShare[];
}

export function reportElection(result: ElectionSimResult, f: ActiveSlotCoefficient): ElectionReport {
  const fraction = Number(f.numerator) / Number(f.denominator);
  const totalPower = result.miners.reduce((sum, m) => sum + Number(m.power), 0);
  const odds = result.miners.map((m) => winChance(Number(m.power) / totalPower, fraction));
  const oddsTotal = odds.reduce((a, b) => a + b, 0);
  const shares = result.miners.map((m, miner) => ({
    miner,
    powerShare: Number(m.power) / totalPower,
    expectedShare: odds[miner]! / oddsTotal,
    wonShare: result.blocks ? m.won / result.blocks : 0,
    canonicalShare: result.chainLength ? m.canonical / result.chainLength : 0,
  }));
  return {
    emptyRate: result.emptySlots / result.slots,
    expectedEmptyRate: 1 - fraction,
    multiWinnerRate: result.multiWinnerSlots / result.slots,
    blocksPerSlot: result.blocks / result.slots,
    chainGrowthPerSlot: result.chainLength / result.slots,
    orphanRate: result.blocks ? result.orphaned / result.blocks : 0,
    chiSquare: chiSquare(result.miners.map((m) => m.won), odds),
    chiSquareCritical: result.miners.length > 1 ? chiSquareCritical(result.miners.length - 1) : 0,
    shares,
  };
}
