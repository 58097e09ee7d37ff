// BCR's system contracts: precompiles at fixed addresses that read and write the storage market,
// miners, governance and attestations on the same state the EVM runs on.
import type { CustomPrecompile } from '@ethereumjs/evm';
import type { StateDb } from '../../stateDb.js';

export function systemPrecompiles(_state: StateDb, _slot: number): CustomPrecompile[] {
  return [];
}
