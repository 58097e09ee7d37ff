// Storage-weighted private lottery (Praos-style): miner i wins slot s when
//   VRF_i(electionInput(s)) < 2^256 * phi(p_i / P),  phi(a) = 1 - (1 - f)^a.
// phi is computed in 128-bit binary fixed point with exact bigint series (no floating point), so
// every node gets the same threshold. Because (1 - phi(a))(1 - phi(b)) = 1 - phi(a + b), splitting
// power across identities neither raises nor lowers the chance that one of them wins.
import { bytesToBigint, concatBytes, sha256, uintToBytesBE, utf8 } from '../primitives/index.js';

const FRAC_BITS = 128n;
const ONE = 1n << FRAC_BITS;

export interface ActiveSlotCoefficient {
  numerator: bigint;
  denominator: bigint;
}

/** "a/b" as an active slot coefficient, or null if the text is not a fraction of integers. */
export function parseActiveSlotCoeff(text: string): ActiveSlotCoefficient | null {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  return match ? { numerator: BigInt(match[1]!), denominator: BigInt(match[2]!) } : null;
}

/** The series below converge for 0 < f <= 1/2 only. */
export function isValidActiveSlotCoeff(f: ActiveSlotCoefficient): boolean {
  return f.numerator > 0n && f.numerator * 2n <= f.denominator;
}

/** ln(1 - f) in fixed point (negative), from -sum f^k / k; needs 0 < f <= 1/2. */
export function lnOneMinus(f: ActiveSlotCoefficient): bigint {
  if (!isValidActiveSlotCoeff(f)) throw new RangeError('active slot coefficient must be in (0, 1/2]');
  let sum = 0n;
  let power = ONE; // f^k in fixed point
  for (let k = 1n; ; k++) {
    power = (power * f.numerator) / f.denominator;
    const term = power / k;
    if (term === 0n) break;
    sum -= term;
  }
  return sum;
}

/** e^x in fixed point for -1 <= x <= 0, by its Taylor series. */
export function expFixed(x: bigint): bigint {
  if (x > 0n || x < -ONE) throw new RangeError('expFixed takes x in [-1, 0]');
  let sum = ONE;
  let term = ONE;
  for (let n = 1n; ; n++) {
    term = (term * x) / (ONE * n);
    if (term === 0n) break;
    sum += term;
  }
  return sum;
}

const lnCache = new Map<string, bigint>();

/** The win threshold, out of 2^256, for power p of total P. */
export function winThreshold(power: bigint, total: bigint, f: ActiveSlotCoefficient): bigint {
  if (power <= 0n || total <= 0n) return 0n;
  if (power > total) throw new RangeError('power above total power');
  const key = `${f.numerator}/${f.denominator}`;
  let ln = lnCache.get(key);
  if (ln === undefined) lnCache.set(key, (ln = lnOneMinus(f)));
  const share = (power * ONE) / total;
  const phi = ONE - expFixed((share * ln) / ONE);
  return phi << (256n - FRAC_BITS);
}

/** The VRF output's first 32 bytes, read as an integer, below the threshold. */
export function isWinner(vrfOutput: Uint8Array, threshold: bigint): boolean {
  return bytesToBigint(vrfOutput.subarray(0, 32)) < threshold;
}

/** VRF input for a slot: the beacon randomness and the slot. */
export function electionInput(randomness: Uint8Array, slot: number): Uint8Array {
  return sha256(concatBytes(utf8('bcr/election/v1'), randomness, uintToBytesBE(slot, 8)));
}

/**
 * Chain randomness for a slot, from the VRF output of the block `lookback` blocks behind the
 * parent (genesis at first): fixed before the producer sees its own output, so it cannot be ground.
 */
export function slotRandomness(anchorVrfOutput: Uint8Array, slot: number, domain = 'election'): Uint8Array {
  return sha256(concatBytes(utf8(`bcr/randomness/${domain}/v1`), anchorVrfOutput, uintToBytesBE(slot, 8)));
}
