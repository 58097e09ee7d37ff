// The attack and market scenarios' invariants at small scale: WindowPoSt catches deleted leaves at
// the rate (1 - f)^k predicts, a fork deeper than finality is marked refused and a minority fork
// overtakes no more often than the gambler's-ruin bound, faster attackers shrink the regeneration
// margin, and erasure coding with repair loses fewer files than a single copy.
import { describe, expect, it } from 'vitest';
import { PROOF_PROFILES } from '../../src/proofs/index.js';
import { deletionDetection, grindingAttack, longRangeFork, regenerationAttack, simulateMarket } from '../../src/sim/index.js';

const f = { numerator: 1n, denominator: 20n };

describe('attack scenarios', () => {
  it('detects replica deletion at the rate 1 - (1 - f)^(k * periods) predicts', () => {
    const rows = deletionDetection({ ...PROOF_PROFILES.mainnet }, [0.02, 0.1], 4, 3000, 'test');
    for (const r of rows) expect(Math.abs(r.detected - r.theory)).toBeLessThan(0.04);
    expect(rows.find((r) => r.deletedFraction === 0.1 && r.period === 4)!.detected).toBeGreaterThan(0.95);
  });

  it('marks forks beyond finality refused and bounds how often a minority fork overtakes', () => {
    const rows = longRangeFork([0.25, 0.45], [1, 5, 11], { finality: 10, miners: { activeSlotCoeff: f } }, 2000, 1500, 'test');
    expect(rows.filter((r) => r.refused).map((r) => r.depth)).toEqual([11, 11]);
    for (const r of rows) expect(r.overtaken).toBeLessThanOrEqual(r.theory + 0.05);
    expect(rows.find((r) => r.powerShare === 0.45 && r.depth === 1)!.overtaken).toBeGreaterThan(0.3);
  });

  it('shrinks the regeneration margin in proportion to the attacker\'s speed', () => {
    const [slow, fast] = regenerationAttack({ ...PROOF_PROFILES.mainnet }, 300, 1000, [4, 1], 1 << 10);
    expect(fast!.margin).toBeCloseTo(slow!.margin / 4, 6);
    expect(slow!.windowSeconds).toBe(600);
  });

  it('never makes grinding lose wins before the withheld block is paid', () => {
    for (const r of grindingAttack([0.1, 0.4], f, 20, 4000, 'test')) expect(r.grindingWins).toBeGreaterThanOrEqual(r.honestWins - 1);
  });
});

describe('market scenario', () => {
  const base = { files: 400, providers: 30, days: 365, failurePercentPerYear: 60, detectDays: 1, repairDays: 2, askLow: 1000n, askHigh: 3000n, seed: 'test' };

  it('loses fewer files with erasure coding and repair than with one copy, reproducibly', () => {
    const single = simulateMarket({ ...base, k: 1, m: 0 });
    const coded = simulateMarket({ ...base, k: 4, m: 2 });
    expect(single.lostShare).toBeGreaterThan(0.2);
    expect(coded.lostShare).toBeLessThan(single.lostShare / 10);
    expect(coded.repairs).toBeGreaterThan(0);
    expect(simulateMarket({ ...base, k: 4, m: 2 })).toEqual(coded);
  });

  it('refuses a scheme wider than the market', () => {
    expect(() => simulateMarket({ ...base, k: 20, m: 20 })).toThrow(RangeError);
  });
});

describe('mempool flood scenario', () => {
  it('leaves honest txs alone when the attacker pays the floor, and shuts them out when it outbids them', async () => {
    const { simGenesis } = await import('../../src/cli/commands/simGenesis.js');
    const { simulateFlood } = await import('../../src/sim/index.js');
    const genesis = await simGenesis('mainnet');
    const base = { genesis, slots: 400, honestUsers: 40, honestEverySlots: 10, honestPriceMultiple: 2, attackerAccounts: 30, seed: 'test' };
    const [none, floor, outbid] = [await simulateFlood({ ...base, attackerPriceMultiple: 0 }), await simulateFlood({ ...base, attackerPriceMultiple: 1 }), await simulateFlood({ ...base, attackerPriceMultiple: 4 })];
    expect(none.honestRefused).toBe(0);
    expect(none.honestIncluded).toBeGreaterThan(0);
    // At the floor the attacker only buys spare block space: the honest outcome is unchanged.
    expect(floor.honestIncluded).toBe(none.honestIncluded);
    expect(floor.honestRefused).toBe(0);
    expect(floor.attackerFees).toBeGreaterThan(0n);
    // Outbidding fills every block: honest txs wait in the pool, and the attacker pays for every block.
    expect(outbid.honestIncluded).toBeLessThan(none.honestIncluded / 2);
    expect(outbid.attackerFees).toBeGreaterThan(floor.attackerFees);
  }, 120_000);
});
