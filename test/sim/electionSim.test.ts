import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/primitives/index.js';
import { reportElection, simulateElection, type ElectionSimOptions } from '../../src/sim/index.js';

const HALF = { numerator: 1n, denominator: 2n };
const TWENTIETH = { numerator: 1n, denominator: 20n };
const base: ElectionSimOptions = { powers: [1n, 2n, 5n], slots: 20_000, f: HALF, delaySlots: 1, seed: utf8('test') };

describe('election simulation', () => {
  it('is a pure function of its options (the seed included)', () => {
    expect(simulateElection(base)).toEqual(simulateElection(base));
    expect(simulateElection({ ...base, seed: utf8('other') }).blocks).not.toBe(simulateElection(base).blocks);
  });

  it('leaves 1 - f of the slots empty and shares blocks made by the election odds', () => {
    for (const f of [HALF, TWENTIETH]) {
      const result = simulateElection({ ...base, f, slots: 40_000 });
      const report = reportElection(result, f);
      const sigma = Math.sqrt((report.expectedEmptyRate * (1 - report.expectedEmptyRate)) / result.slots);
      expect(Math.abs(report.emptyRate - report.expectedEmptyRate)).toBeLessThan(4 * sigma);
      expect(report.chiSquare).toBeLessThan(report.chiSquareCritical);
      expect(result.emptySlots + result.singleWinnerSlots + result.multiWinnerSlots).toBe(result.slots);
      expect(result.miners.reduce((sum, m) => sum + m.won, 0)).toBe(result.blocks);
    }
  });

  it('ties go to the smaller VRF output, which favours small miners in contested slots', () => {
    // A small miner's winning outputs lie below a lower threshold, so it wins more tie-breaks: on
    // the final chain its share exceeds its share of blocks made, and the big miner's falls short.
    const result = simulateElection({ ...base, slots: 40_000 });
    const { shares } = reportElection(result, HALF);
    expect(shares[0]!.canonicalShare).toBeGreaterThan(shares[0]!.wonShare + 0.005);
    expect(shares[2]!.canonicalShare).toBeLessThan(shares[2]!.wonShare - 0.01);
  });

  it('a lone miner never orphans; more delay orphans more and grows the chain less', () => {
    const lone = simulateElection({ ...base, powers: [7n], delaySlots: 3 });
    expect(lone.orphaned).toBe(0);
    expect(lone.chainLength).toBe(lone.blocks);
    expect(lone.miners[0]!.canonical).toBe(lone.blocks);
    const fast = simulateElection({ ...base, delaySlots: 1 });
    const slow = simulateElection({ ...base, delaySlots: 4 });
    expect(slow.blocks).toBe(fast.blocks); // the same lottery: only visibility differs
    expect(slow.orphaned).toBeGreaterThan(fast.orphaned);
    expect(slow.chainLength).toBeLessThan(fast.chainLength);
    expect(fast.miners.reduce((sum, m) => sum + m.canonical, 0)).toBe(fast.chainLength);
  });

  it('selfish mining loses a small miner blocks and wins a large one more than its share', () => {
    // Mainnet's f; the selfish miner is miner 0 among ten equal honest miners.
    const run = (share: bigint, selfishMiner?: number) => {
      const powers = [share * 10n, ...Array.from({ length: 10 }, () => 100n - share)];
      return reportElection(simulateElection({ ...base, f: TWENTIETH, slots: 80_000, powers, selfishMiner }), TWENTIETH);
    };
    const smallHonest = run(10n);
    const smallSelfish = run(10n, 0);
    expect(smallSelfish.shares[0]!.canonicalShare).toBeLessThan(smallHonest.shares[0]!.canonicalShare - 0.02);
    const largeHonest = run(45n);
    const largeSelfish = run(45n, 0);
    expect(largeSelfish.shares[0]!.canonicalShare).toBeGreaterThan(largeHonest.shares[0]!.canonicalShare + 0.08);
    // Withheld blocks orphan honest ones: the chain grows more slowly than the blocks made.
    expect(largeSelfish.orphanRate).toBeGreaterThan(largeHonest.orphanRate + 0.2);
    expect(largeSelfish.chainGrowthPerSlot).toBeLessThan(largeHonest.chainGrowthPerSlot * 0.8);
    // The lottery is the same: only what reaches the chain differs.
    expect(largeSelfish.blocksPerSlot).toBe(largeHonest.blocksPerSlot);
  });

  it('refuses options it cannot simulate', () => {
    expect(() => simulateElection({ ...base, selfishMiner: 3 })).toThrow(RangeError);
    expect(() => simulateElection({ ...base, powers: [] })).toThrow(RangeError);
    expect(() => simulateElection({ ...base, powers: [1n, 0n] })).toThrow(RangeError);
    expect(() => simulateElection({ ...base, delaySlots: 0 })).toThrow(RangeError);
  });
});
