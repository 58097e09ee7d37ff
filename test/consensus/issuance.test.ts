import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { MINING_SUPPLY, QUARTERS, blockIssuance, cumulativeAtQuarterEnd, issuanceSchedule, mintedAtSlot } from '../../src/consensus/index.js';

const MAINNET = { slotsPerQuarter: 7_889_400 };

describe('issuance curve', () => {
  it('sums to exactly 45,000,000 BCR over 12 quarters', () => {
    const schedule = issuanceSchedule(MAINNET);
    expect(schedule).toHaveLength(QUARTERS);
    expect(schedule.reduce((s, q) => s + q.issued, 0n)).toBe(45_000_000n * 10n ** 18n);
    expect(mintedAtSlot(12 * MAINNET.slotsPerQuarter, MAINNET)).toBe(MINING_SUPPLY);
    expect(mintedAtSlot(12 * MAINNET.slotsPerQuarter + 1_000_000, MAINNET)).toBe(MINING_SUPPLY);
    expect(cumulativeAtQuarterEnd(0)).toBe(0n);
  });

  it('issues about 22.5M BCR in quarter 0', () => {
    const q0 = issuanceSchedule(MAINNET)[0]!.issued;
    expect(q0 / 10n ** 18n).toBe(22_505_494n);
  });

  it('halves every quarter to within 1 atto of rounding', () => {
    const schedule = issuanceSchedule(MAINNET);
    for (let q = 1; q < QUARTERS; q++) {
      const diff = schedule[q - 1]!.issued - 2n * schedule[q]!.issued;
      expect(diff >= -2n && diff <= 2n).toBe(true); // two floors, each < 1 atto, doubled
      expect(schedule[q]!.issued * 2n - schedule[q - 1]!.issued <= 2n).toBe(true);
    }
  });

  test.prop([fc.nat({ max: 13 * 7_889_400 }), fc.nat({ max: 13 * 7_889_400 })])('is monotone', (a, b) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    expect(mintedAtSlot(lo, MAINNET) <= mintedAtSlot(hi, MAINNET)).toBe(true);
  });

  test.prop([fc.array(fc.integer({ min: 1, max: 2_000_000 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 10, max: 100_000 })])(
    'block rewards telescope: the sum over any chain equals M(head slot)',
    (gaps, q) => {
      const params = { slotsPerQuarter: q };
      let slot = 0;
      let total = 0n;
      for (const gap of gaps) {
        total += blockIssuance(slot, slot + gap, params);
        slot += gap;
      }
      expect(total).toBe(mintedAtSlot(slot, params));
    },
  );

  it('rejects nonsense slots', () => {
    expect(() => mintedAtSlot(-1, MAINNET)).toThrow(RangeError);
    expect(() => blockIssuance(5, 5, MAINNET)).toThrow(RangeError);
  });
});
