import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ago, bcrExact, bcrRounded, blocksPerMinute, sharesOfBlocks, slotText } from '../../explorer/format.js';

const BCR = 10n ** 18n;

/** The number a rounded text stands for, in atto (exact for what it shows). */
function parseShown(text: string): bigint {
  const atto = /^(-?)([\d,]+) atto$/.exec(text);
  if (atto) return BigInt(`${atto[1]}${atto[2]!.replace(/,/g, '')}`);
  const match = /^(-?)([\d,]+)(?:\.(\d+))? BCR$/.exec(text);
  if (!match) throw new Error(`not an amount: ${text}`);
  const frac = (match[3] ?? '').padEnd(18, '0');
  const value = BigInt(match[2]!.replace(/,/g, '')) * BCR + BigInt(frac);
  return match[1] ? -value : value;
}

describe('explorer amounts', () => {
  it('rounds for reading: 2 decimals from 1,000 BCR, 4 from 1 BCR, 4 significant digits below, atto at the bottom', () => {
    expect(bcrRounded(0n)).toBe('0 BCR');
    expect(bcrRounded(35_000_000n * BCR)).toBe('35,000,000 BCR');
    expect(bcrRounded(837_738n * BCR + 736_263_736_255_368_217n)).toBe('837,738.74 BCR');
    expect(bcrRounded(15n * 10n ** 17n - 25n * 10n ** 16n - 63_000n)).toBe('1.25 BCR');
    expect(bcrRounded(25n * 10n ** 16n)).toBe('0.25 BCR');
    expect(bcrRounded(21_000n * 10n ** 9n)).toBe('0.000021 BCR');
    expect(bcrRounded(123_456_789n)).toBe('0.0000000001235 BCR');
    expect(bcrRounded(63_000n)).toBe('63,000 atto');
    expect(bcrRounded(-(2n * BCR))).toBe('-2 BCR');
    expect(bcrRounded('999999999999999999999')).toBe('1,000 BCR');
    expect(bcrExact(837_738n * BCR + 736_263_736_255_368_217n)).toBe('837,738.736263736255368217 BCR');
  });

  test.prop([fc.bigInt({ min: 0n, max: 10n ** 30n })])('stay within half a unit of the last digit shown, with at most 4 significant decimals below 1 BCR', (atto) => {
    const text = bcrRounded(atto);
    const shown = parseShown(text);
    const decimals = /\.(\d+) BCR$/.exec(text)?.[1]?.length ?? 0;
    if (text.endsWith(' atto') || atto === 0n) expect(shown).toBe(atto);
    else {
      // The error is at most half the unit of the rounding (4 significant digits or 2/4 decimals).
      const unitDecimals = atto >= 1000n * BCR ? 2 : atto >= BCR ? 4 : 18 - atto.toString().length + 4;
      const unit = 10n ** BigInt(18 - unitDecimals);
      const error = shown > atto ? shown - atto : atto - shown;
      expect(error * 2n <= unit).toBe(true);
      expect(decimals).toBeLessThanOrEqual(unitDecimals);
    }
  });
});

describe('explorer times and slots', () => {
  it('says how long ago, in the largest whole unit', () => {
    const now = 1_800_000_000_000;
    expect(ago(now, now)).toBe('just now');
    expect(ago(now - 12_000, now)).toBe('12 s ago');
    expect(ago(now - 59_400, now)).toBe('59 s ago');
    expect(ago(now - 185_000, now)).toBe('3 min ago');
    expect(ago(now - 5 * 3_600_000 - 1, now)).toBe('5 h ago');
    expect(ago(now - 2 * 86_400_000, now)).toBe('2 d ago');
    expect(ago(now + 4_000, now)).toBe('in 4 s');
  });

  it('shows a slot that never comes as "never"', () => {
    expect(slotText(Number.MAX_SAFE_INTEGER)).toBe('never');
    expect(slotText(1234)).toBe('1234');
    expect(slotText(null)).toBe('—');
  });
});

describe('explorer charts data', () => {
  it('counts blocks per whole minute, oldest first, leaving out the minute in progress', () => {
    const minute = 60_000;
    const now = 100 * minute + 30_000;
    const stamps = [97 * minute, 97 * minute + 59_999, 98 * minute + 1, 99 * minute + 5, 100 * minute + 10, 50 * minute];
    expect(blocksPerMinute(stamps, now, 3)).toEqual([
      { minuteStart: 97 * minute, count: 2 },
      { minuteStart: 98 * minute, count: 1 },
      { minuteStart: 99 * minute, count: 1 },
    ]);
  });

  it("sets each miner's share of blocks beside its share of power", () => {
    const shares = sharesOfBlocks([{ miner: 1 }, { miner: 2 }, { miner: 2 }, { miner: 2 }, { miner: 0 }], [{ miner: 1, power: '1024' }, { miner: 2, power: '3072' }, { miner: 3, power: '0' }]);
    expect(shares).toEqual([
      { miner: 1, blocks: 1, blockShare: 25, powerShare: 25 },
      { miner: 2, blocks: 3, blockShare: 75, powerShare: 75 },
    ]);
  });
});
