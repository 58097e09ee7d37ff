// Importing this module registers every tx kind.
export * from './registry.js';
export * from './transfer.js';
import '../miners/txs.js';
import '../market/escrow.js';
import '../market/deals.js';
import '../governance.js';
import '../attestations.js';
import '../evm/callKind.js';
