import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { expFixed, isWinner, lnOneMinus, winThreshold } from '../../src/consensus/index.js';
import { sha256, uintToBytesBE } from '../../src/primitives/index.js';

const F = { numerator: 1n, denominator: 20n }; // mainnet f = 0.05
const ONE = 1n << 128n;
const toFloat = (fixed: bigint) => Number((fixed * 10n ** 18n) / ONE) / 1e18; // tests only

/** Stand-in VRF outputs (uniform, deterministic): the real VRF is tested on its own. */
const output = (miner: number, slot: number, salt = 0) => sha256(uintToBytesBE(salt * 2 ** 40 + miner * 2 ** 30 + slot, 8));

describe('election threshold', () => {
  it('ln and exp series agree with their definitions', () => {
    expect(toFloat(lnOneMinus(F))).toBeCloseTo(Math.log(0.95), 15);
    expect(toFloat(expFixed(-ONE / 2n))).toBeCloseTo(Math.exp(-0.5), 15);
    expect(expFixed(0n)).toBe(ONE);
  });

  test.prop([fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.bigInt({ min: 0n, max: 10n ** 30n })])('phi is monotone in power and equals f for the whole network', (p, extra) => {
    const total = p + extra;
    const t = winThreshold(p, total, F);
    expect(t <= winThreshold(total, total, F)).toBe(true);
    expect(t > 0n).toBe(true);
  });

  it('the whole network wins a slot with probability f, exactly', () => {
    const all = winThreshold(100n, 100n, F);
    expect(Number((all * 10n ** 12n) >> 256n) / 1e12).toBeCloseTo(0.05, 10);
    expect(winThreshold(0n, 100n, F)).toBe(0n);
  });

  it('block shares follow power over 10,000 slots (chi-square, 5 miners 1:2:3:4:10)', () => {
    const powers = [1n, 2n, 3n, 4n, 10n];
    const total = powers.reduce((a, b) => a + b, 0n);
    const thresholds = powers.map((p) => winThreshold(p, total, F));
    const slots = 10_000;
    const wins = powers.map(() => 0);
    for (let slot = 0; slot < slots; slot++) powers.forEach((_, i) => isWinner(output(i, slot), thresholds[i]!) && wins[i]!++);
    const expected = thresholds.map((t) => (slots * Number(t >> 200n)) / 2 ** 56);
    const chi2 = wins.reduce((s, w, i) => s + (w - expected[i]!) ** 2 / expected[i]!, 0);
    // 5 independent categories: the 0.1% critical value of chi-square with 5 degrees of freedom.
    expect(chi2).toBeLessThan(20.52);
    const share = wins[4]! / wins.reduce((a, b) => a + b, 0);
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6); // power share 0.5
  });

  it('splitting a miner into 4 does not change how often it wins (Sybil-neutral)', () => {
    const slots = 20_000;
    const total = 400n;
    const whole = winThreshold(100n, total, F);
    const part = winThreshold(25n, total, F);
    let wholeWins = 0;
    let splitWins = 0;
    for (let slot = 0; slot < slots; slot++) {
      if (isWinner(output(9, slot, 1), whole)) wholeWins++;
      if ([0, 1, 2, 3].some((i) => isWinner(output(i, slot, 2), part))) splitWins++;
    }
    const p = Number(whole >> 200n) / 2 ** 56;
    const sd = Math.sqrt(slots * p * (1 - p));
    expect(Math.abs(splitWins - wholeWins)).toBeLessThan(4 * Math.SQRT2 * sd);
    // And analytically: 1 - (1 - phi(a/4))^4 == phi(a) to within the fixed-point rounding.
    const q = (1n << 256n) - part;
    const anyOfFour = (1n << 256n) - (q * q * q * q) / (1n << 768n);
    const gap = anyOfFour > whole ? anyOfFour - whole : whole - anyOfFour;
    expect(gap < 1n << 140n).toBe(true); // relative error below 2^-116
  });
});
