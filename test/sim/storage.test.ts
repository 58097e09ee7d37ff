// The storage scenario at small scale on the test network: supply is conserved at every sample,
// every tx the agents send applies, batching blocks does not change the outcome, the lottery gives
// the slot-by-slot election's shares, and a seed reproduces a run bit for bit.
import { describe, expect, it } from 'vitest';
import { simGenesis } from '../../src/cli/commands/simGenesis.js';
import { SimRng, SlotLottery, runStorageSim, simulateElection, type MinerPlan, type StorageSimOptions } from '../../src/sim/index.js';
import { utf8 } from '../../src/primitives/index.js';

const plans: MinerPlan[] = [
  { joinDay: 0, sectors: 6, sealPerDay: 100, exitDay: null },
  { joinDay: 0, sectors: 3, sealPerDay: 100, exitDay: null },
  { joinDay: 0, sectors: 2, sealPerDay: 100, exitDay: null },
];
const noFaults = { faultPpmPerDay: 0, repairDays: 1, permanentPercent: 0 };

async function run(overrides: Partial<StorageSimOptions>) {
  const genesis = await simGenesis('test');
  return runStorageSim({ genesis, miners: plans, faults: noFaults, days: 1, slots: 1200, stepSlots: 10, seed: 'test', ...overrides });
}

describe('storage simulation', () => {
  it('conserves supply and applies every tx through faults, recoveries, terminations and an exit (mainnet economics)', async () => {
    const genesis = await simGenesis('mainnet');
    const exiting = [...plans.slice(0, 2), { joinDay: 0, sectors: 3, sealPerDay: 100, exitDay: 2 }];
    // Every sector's disk fails about once a day; a third for good.
    const result = await runStorageSim({ genesis, miners: exiting, faults: { faultPpmPerDay: 700_000, repairDays: 1, permanentPercent: 30 }, days: 4, stepSlots: 300, seed: 'faults' });
    expect(result.supply).toHaveLength(4);
    for (const s of result.supply) expect(s.conservationError).toBe(0n);
    expect(result.rejectedTxs).toBe(0);
    expect(result.failedTxs).toEqual({});
    // Fault fees and termination fees were burned, and the exited miner holds nothing.
    expect(result.supply.at(-1)!.burned).toBeGreaterThan(0n);
    expect(result.miners.every((m) => m.penalties > 0n)).toBe(true);
    expect(result.daily.filter((d) => d.miner === 2).at(-1)!.locked).toBe(0n);
    expect(result.miners[2]!.blocks).toBeGreaterThan(0);
  }, 180_000);

  it('gives the same power, supply and shares whether blocks are batched or not', async () => {
    const [exact, batched] = [await run({ stepSlots: 1 }), await run({ stepSlots: 10 })];
    for (const r of [exact, batched]) {
      expect(r.failedTxs).toEqual({});
      expect(r.rejectedTxs).toBe(0);
    }
    const last = (r: typeof exact) => r.daily.slice(-plans.length).map((d) => d.sectors);
    expect(last(exact)).toEqual(plans.map((p) => p.sectors));
    expect(last(batched)).toEqual(last(exact));
    expect(batched.supply.at(-1)!.minted).toBe(exact.supply.at(-1)!.minted);
    expect(batched.supply.at(-1)!.pledge).toBe(exact.supply.at(-1)!.pledge);
    for (const [i, m] of exact.miners.entries()) {
      expect(Math.abs(batched.miners[i]!.powerShare - m.powerShare)).toBeLessThan(0.05);
      expect(Math.abs(batched.miners[i]!.blockShare - m.blockShare)).toBeLessThan(0.08);
    }
  }, 180_000);

  it('reproduces a run bit for bit from its seed, and another seed differs', async () => {
    const [a, b, c] = [await run({}), await run({}), await run({ seed: 'other' })];
    expect(b).toEqual(a);
    expect(c.miners.map((m) => m.blocks)).not.toEqual(a.miners.map((m) => m.blocks));
  }, 180_000);
});

describe('the batched block lottery', () => {
  it('gives each miner the share of blocks the slot-by-slot election gives', () => {
    const powers = [1n, 2n, 5n, 12n];
    const f = { numerator: 1n, denominator: 20n };
    const slots = 400_000;
    const lottery = new SlotLottery<number>(new SimRng('lottery-test'), f);
    lottery.setPowers(powers.map((power, who) => ({ power, who })));
    const won = lottery.draw(0, slots);
    const election = simulateElection({ powers, slots, f, delaySlots: 1, seed: utf8('lottery-test') });
    // Exactly f of the slots have a winner under the real threshold; the lottery draws that rate.
    expect(Math.abs(won.length / slots - 1 / 20)).toBeLessThan(0.002);
    for (const [i] of powers.entries()) {
      const lotteryShare = won.filter((w) => w.who === i).length / won.length;
      const electionShare = election.miners[i]!.canonical / election.chainLength;
      expect(Math.abs(lotteryShare - electionShare)).toBeLessThan(0.01);
    }
  });
});
