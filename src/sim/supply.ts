// Supply projection from genesis: what the issuance schedule has minted and the vesting grants have
// released at each step, and so what circulates (outside the governed foundation and locked
// grants). Exact bigint amounts, so the numbers agree with bcr_supply on a live chain at the same
// slot as long as nothing is burned or pledged (those depend on behaviour, not on the schedule).
import { mintedAtSlot, type IssuanceParams } from '../consensus/index.js';
import { circulatingSupply, lockedAmount, type Vesting } from '../state/index.js';

const MAX_POINTS = 100_000;

export interface SupplyAllocation {
  label: string;
  balance: bigint;
  /** Governed funds (the foundation) do not circulate until governance spends them. */
  governed: boolean;
  vesting: Vesting | null;
}

export interface SupplyPoint {
  slot: number;
  minted: bigint;
  vestingLocked: bigint;
  governed: bigint;
  total: bigint;
  circulating: bigint;
}

export interface SupplyProjection {
  points: SupplyPoint[];
}

/** One point every `stepSlots` from slot 0 through `endSlot` (included). */
export function projectSupply(allocations: SupplyAllocation[], params: IssuanceParams, stepSlots: number, endSlot: number): SupplyProjection {
  if (!Number.isSafeInteger(stepSlots) || stepSlots < 1) throw new RangeError('stepSlots must be a positive integer');
  if (!Number.isSafeInteger(endSlot) || endSlot < 0) throw new RangeError('endSlot must be a non-negative integer');
  if (endSlot / stepSlots > MAX_POINTS) throw new RangeError(`more than ${MAX_POINTS} points: take a larger step`);
  const genesisTotal = allocations.reduce((sum, a) => sum + a.balance, 0n);
  const governed = allocations.filter((a) => a.governed).reduce((sum, a) => sum + a.balance, 0n);
  const points: SupplyPoint[] = [];
  for (let slot = 0; ; slot = Math.min(slot + stepSlots, endSlot)) {
    const minted = mintedAtSlot(slot, params);
    const vestingLocked = allocations.reduce((sum, a) => sum + lockedAmount(a.vesting, slot), 0n);
    const total = genesisTotal + minted;
    // The state's definition; a projection from genesis has no collateral, pledges or burns to subtract.
    const circulating = circulatingSupply({ total, foundation: governed, vestingLocked, minerCollateral: 0n, minerPledge: 0n, burned: 0n });
    points.push({ slot, minted, vestingLocked, governed, total, circulating });
    if (slot === endSlot) break;
  }
  return { points };
}
