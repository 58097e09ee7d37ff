// The supply as the state holds it, defined once (RPC, explorer and the simulation's projection
// all use this): the total issued so far, and what of it is not circulating: the governed reserve,
// vesting still locked, miner collateral (with pre-commit deposits) and pledge, and what was burned.
import { getAccount, lockedAmount } from './accounts.js';
import { FOUNDATION_ADDRESS } from './governance.js';
import { BURN_ADDRESS } from './miners/accounting.js';
import { getMiner, minerIds } from './miners/records.js';
import type { StateDb } from './stateDb.js';

export interface SupplyBreakdown {
  /** Genesis allocations plus what issuance minted so far. */
  total: bigint;
  foundation: bigint;
  vestingLocked: bigint;
  minerCollateral: bigint;
  minerPledge: bigint;
  burned: bigint;
}

/** What circulates: the total less what is governed, locked, pledged or burned. */
export function circulatingSupply(s: SupplyBreakdown): bigint {
  return s.total - s.foundation - s.vestingLocked - s.minerCollateral - s.minerPledge - s.burned;
}

/** The breakdown at a state and slot; `total` comes from issuance, `vested` lists the vesting accounts. */
export async function supplyOf(state: StateDb, slot: number, total: bigint, vested: Uint8Array[]): Promise<SupplyBreakdown> {
  let vestingLocked = 0n;
  for (const address of vested) vestingLocked += lockedAmount((await getAccount(state, address)).vesting, slot);
  let minerCollateral = 0n;
  let minerPledge = 0n;
  for (const id of await minerIds(state)) {
    const m = (await getMiner(state, id))!;
    minerCollateral += m.collateral + m.deposits;
    minerPledge += m.pledge;
  }
  return {
    total,
    foundation: (await getAccount(state, FOUNDATION_ADDRESS)).balance,
    vestingLocked,
    minerCollateral,
    minerPledge,
    burned: (await getAccount(state, BURN_ADDRESS)).balance,
  };
}
