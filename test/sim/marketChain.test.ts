// The market and termination money paths on the real state machine: a provider that vanishes has
// its sectors terminated by the cron even after fault fees have eaten into its pledge (this once
// made the cron throw and stop the chain), its deals are slashed and its clients compensated, and
// clients re-deal the lost shards elsewhere, with every coin accounted for.
import { describe, expect, it } from 'vitest';
import { simGenesis } from '../../src/cli/commands/simGenesis.js';
import { runMarketChain, runStorageSim, type SimMiner } from '../../src/sim/index.js';
import { bcr } from '../../src/primitives/index.js';

describe('money paths against failing providers', () => {
  it('terminates a vanished miner whose fault fees ate into its pledge, and conserves supply', async () => {
    const genesis = await simGenesis('mainnet');
    let agents: SimMiner[] = [];
    const result = await runStorageSim({
      genesis,
      miners: [
        { joinDay: 0, sectors: 4, sealPerDay: 100, exitDay: null },
        { joinDay: 0, sectors: 4, sealPerDay: 100, exitDay: null },
      ],
      faults: { faultPpmPerDay: 0, repairDays: 1, permanentPercent: 0 },
      days: genesis.params.miners.faultMaxPeriods + 3,
      stepSlots: 300,
      seed: 'vanish',
      onStart: (started) => (agents = started),
      onDay: (day) => {
        if (day === 1) agents[1]!.gone = true;
      },
    });
    for (const s of result.supply) expect(s.conservationError).toBe(0n);
    const last = result.daily.filter((d) => d.miner === 1).at(-1)!;
    // Power gone, pledge released (less the fees burned), nothing negative.
    expect(last.sectors).toBe(0);
    expect(last.locked).toBeGreaterThanOrEqual(0n);
    expect(result.miners[1]!.penalties).toBeGreaterThan(bcr(4 * 14) - 1n);
    expect(result.daily.filter((d) => d.miner === 0).at(-1)!.sectors).toBe(4);
  }, 120_000);

  it('slashes a failed provider\'s deals, compensates its clients and re-deals their shards', async () => {
    const genesis = await simGenesis('mainnet');
    const r = await runMarketChain({ genesis, providers: 8, files: 6, k: 2, m: 2, failurePercentPerYear: 400, detectDays: 1, days: 30, stepSlots: 300, seed: 'm1', askLow: 10n ** 9n, askHigh: 3n * 10n ** 9n, providerCollateral: bcr(10) });
    for (const s of r.run.supply) expect(s.conservationError).toBe(0n);
    expect(r.run.failedTxs).toEqual({});
    expect(r.run.rejectedTxs).toBe(0);
    expect(r.providersFailed).toBeGreaterThan(0);
    expect(r.repairs).toBeGreaterThan(0);
    expect(r.dealStates.slashed).toBeGreaterThan(0);
    // Each slashed deal paid its client half the provider's collateral.
    expect(r.clientsHoldAtEnd).toBeGreaterThanOrEqual(BigInt(r.dealStates.slashed!) * bcr(5));
    expect(r.filesLost).toBe(0);
  }, 120_000);
});
