// Money is bigint atto everywhere: 1 BCR = 10^18 atto.
import { BcrError } from './errors.js';

export const ATTO_PER_BCR = 10n ** 18n;

export function bcr(whole: bigint | number): bigint {
  return BigInt(whole) * ATTO_PER_BCR;
}

/** "12.5" BCR (decimal text) -> atto, exact; more than 18 decimals is an error, not a rounding. */
export function parseBcr(text: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(text.trim());
  if (!match) throw new BcrError('BAD_AMOUNT', `not a BCR amount: "${text}" (use digits with at most 18 decimals)`);
  const whole = BigInt(match[1] as string);
  const fraction = (match[2] ?? '').padEnd(18, '0');
  return whole * ATTO_PER_BCR + BigInt(fraction);
}

export function formatBcr(atto: bigint): string {
  const negative = atto < 0n;
  const abs = negative ? -atto : atto;
  const whole = abs / ATTO_PER_BCR;
  const fraction = (abs % ATTO_PER_BCR).toString().padStart(18, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? '.' + fraction : ''}`;
}
