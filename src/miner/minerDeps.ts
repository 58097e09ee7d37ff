// What the miner loop uses from the state machine, in one place.
export { genesisSealRandomness as genesisSealRandomnessOf } from '../chain/index.js';
export { currentDeadline, getMiner, provableSectors, signTx, submitWindowPostKind, windowPostRandomness } from '../state/index.js';
export { submitWindowPostPayload } from '../state/miners/txs.js';
