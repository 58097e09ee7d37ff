// The mining issuance curve (docs/protocol.md §6): a cumulative function M(slot) in exact bigint.
// A block at slot s whose parent is at slot p mints M(s) - M(p): empty slots lose nothing and the
// total after 12 quarters is exactly the mining supply.

export const QUARTERS = 12;
export const MINING_SUPPLY = 45_000_000n * 10n ** 18n;

export interface IssuanceParams {
  slotsPerQuarter: number;
  miningSupply?: bigint;
}

/** Cumulative issuance at the end of quarter k (0..12): floor(S * (4096 - 2^(12-k)) / 4095). */
export function cumulativeAtQuarterEnd(k: number, supply: bigint = MINING_SUPPLY): bigint {
  if (!Number.isInteger(k) || k < 0 || k > QUARTERS) throw new RangeError(`quarter index out of range: ${k}`);
  return (supply * (4096n - (1n << BigInt(QUARTERS - k)))) / 4095n;
}

/** M(slot): total minted by the end of `slot`'s start, exact to the atto. */
export function mintedAtSlot(slot: number, params: IssuanceParams): bigint {
  if (!Number.isSafeInteger(slot) || slot < 0) throw new RangeError(`slot must be a non-negative integer: ${slot}`);
  const supply = params.miningSupply ?? MINING_SUPPLY;
  const q = BigInt(params.slotsPerQuarter);
  const s = BigInt(slot);
  const quarter = s / q;
  if (quarter >= BigInt(QUARTERS)) return supply;
  const offset = s % q;
  const start = cumulativeAtQuarterEnd(Number(quarter), supply);
  const end = cumulativeAtQuarterEnd(Number(quarter) + 1, supply);
  return start + ((end - start) * offset) / q;
}

/** The block reward for a block at `slot` on a parent at `parentSlot`. */
export function blockIssuance(parentSlot: number, slot: number, params: IssuanceParams): bigint {
  if (slot <= parentSlot) throw new RangeError('slot must be after the parent slot');
  return mintedAtSlot(slot, params) - mintedAtSlot(parentSlot, params);
}

export interface QuarterIssuance {
  quarter: number;
  firstSlot: number;
  issued: bigint;
  cumulative: bigint;
}

export function issuanceSchedule(params: IssuanceParams): QuarterIssuance[] {
  const supply = params.miningSupply ?? MINING_SUPPLY;
  const rows: QuarterIssuance[] = [];
  for (let q = 0; q < QUARTERS; q++) {
    const cumulative = cumulativeAtQuarterEnd(q + 1, supply);
    rows.push({ quarter: q, firstSlot: q * params.slotsPerQuarter, issued: cumulative - cumulativeAtQuarterEnd(q, supply), cumulative });
  }
  return rows;
}
