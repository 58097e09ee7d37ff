import { describe, expect, it } from 'vitest';
import { TOTAL_SUPPLY, allocationVesting, isGoverned, parseGenesis, readGenesisJson } from '../../src/chain/index.js';
import { MINING_SUPPLY, mintedAtSlot } from '../../src/consensus/index.js';
import { bcr } from '../../src/primitives/index.js';
import { projectSupply, type SupplyAllocation } from '../../src/sim/index.js';

const { params, allocations } = parseGenesis(readGenesisJson('mainnet'), 0);
const supplyAllocations: SupplyAllocation[] = allocations.map((a) => ({ label: a.label, balance: a.balance, governed: isGoverned(a), vesting: allocationVesting(a) }));
const DAY = 86_400;

describe('supply projection (mainnet genesis)', () => {
  const { points } = projectSupply(supplyAllocations, params, 30 * DAY, 4 * 365 * DAY);

  it('starts at the liquid genesis allocations and ends at the whole supply outside the foundation', () => {
    expect(points[0]).toMatchObject({ slot: 0, minted: 0n, vestingLocked: bcr(12_000_000), circulating: bcr(8_000_000), total: TOTAL_SUPPLY - MINING_SUPPLY });
    const last = points[points.length - 1]!;
    expect(last.slot).toBe(4 * 365 * DAY);
    expect(last.minted).toBe(MINING_SUPPLY);
    expect(last.total).toBe(TOTAL_SUPPLY);
    expect(last.vestingLocked).toBe(0n);
    expect(last.circulating).toBe(bcr(65_000_000));
  });

  it('only grows, never past the cap, and mints exactly what the schedule says', () => {
    for (let i = 1; i < points.length; i++) {
      const [before, now] = [points[i - 1]!, points[i]!];
      expect(now.minted).toBeGreaterThanOrEqual(before.minted);
      expect(now.circulating).toBeGreaterThanOrEqual(before.circulating);
      expect(now.total).toBeLessThanOrEqual(TOTAL_SUPPLY);
      expect(now.minted).toBe(mintedAtSlot(now.slot, params));
      expect(now.circulating).toBe(now.total - now.governed - now.vestingLocked);
    }
  });

  it('keeps the team grant locked until its cliff, then releases it linearly', () => {
    const cliff = allocations.find((a) => a.label === 'team')!.vesting!.cliffSlots;
    const at = (slot: number) => projectSupply(supplyAllocations, params, slot, slot).points.at(-1)!;
    expect(at(cliff - 1).vestingLocked).toBe(bcr(12_000_000));
    expect(at(cliff + 1).vestingLocked).toBeLessThan(bcr(12_000_000));
    expect(() => projectSupply(supplyAllocations, params, 0, 10)).toThrow(RangeError);
    expect(() => projectSupply(supplyAllocations, params, 1, cliff)).toThrow(/larger step/);
  });
});
