// BCR's system contracts: precompiles at fixed addresses (0x…bc01-0x…bc04, 0x…bc10) that read and
// write the storage market, miners, governance, attestations and the app registry on the same state
// the EVM runs on.
import type { CustomPrecompile } from '@ethereumjs/evm';
import { Address } from '@ethereumjs/util';
import type { StateDb } from '../../stateDb.js';
import { appsContract } from './appRegistry.js';
import { attestationsContract } from './attestations.js';
import { governanceContract } from './governance.js';
import { marketContract } from './market.js';
import { minersContract } from './miners.js';
import { systemPrecompile, type SystemContract } from './precompile.js';

export { SYSTEM_ADDRESSES, SYSTEM_CODE, isSystemAddress, MARKET_ABI, MINERS_ABI, GOVERNANCE_ABI, ATTESTATIONS_ABI, APPS_ABI } from './abis.js';

export const SYSTEM_CONTRACTS: SystemContract[] = [marketContract, minersContract, governanceContract, attestationsContract, appsContract];

export function systemPrecompiles(state: StateDb, slot: number, height: number): CustomPrecompile[] {
  return SYSTEM_CONTRACTS.map((contract) => ({ address: new Address(contract.address), function: systemPrecompile(contract, state, slot, height) }));
}
