// eth_call and eth_estimateGas: an EVM message run on a block's state that is thrown away after.
// No fee is charged (gas price 0 unless given) and nothing is written.
import { TxError } from '../errors.js';
import type { BlockEnv } from '../execute.js';
import type { StateDb } from '../stateDb.js';
import { checkEvmCall, evmBlockContext, evmCallGas, newBlockEvm } from './callKind.js';
import type { AccessListEntry } from './intrinsicGas.js';
import { runEvmCall, type EvmOutcome } from './runTx.js';

export interface SimulatedCall {
  from: Uint8Array;
  to: Uint8Array | null;
  value: bigint;
  data: Uint8Array;
  /** Defaults to the block gas limit. */
  gasLimit?: number;
  gasPrice?: bigint;
  accessList?: AccessListEntry[];
}

/** Runs `call` on `state` (which keeps the writes in memory only: pass a state you drop). */
export async function simulateCall(state: StateDb, env: BlockEnv, call: SimulatedCall): Promise<EvmOutcome> {
  const accessList = call.accessList ?? [];
  const payload = { to: call.to, value: call.value, data: call.data, accessList };
  checkEvmCall(payload);
  const { intrinsic, floor } = evmCallGas(payload);
  const gasLimit = call.gasLimit ?? env.params.blockGasLimit;
  if (gasLimit > env.params.blockGasLimit) throw new TxError('GAS_LIMIT_ABOVE_BLOCK', `gas ${gasLimit} above the block gas limit ${env.params.blockGasLimit}`);
  if (gasLimit < Math.max(intrinsic, floor)) throw new TxError('GAS_TOO_LOW', `gas ${gasLimit} below the ${Math.max(intrinsic, floor)} intrinsic gas of this call`);
  const { evm, adapter } = newBlockEvm(state, env);
  const checkpoint = state.checkpoint();
  try {
    return await runEvmCall(evm, adapter, evmBlockContext({ params: env.params, block: env }), {
      caller: call.from,
      to: call.to,
      value: call.value,
      data: call.data,
      gasLimit,
      gasPrice: call.gasPrice ?? 0n,
      accessList,
      intrinsicGas: intrinsic,
      floorGas: floor,
      bumpNonce: true,
    });
  } finally {
    state.revertTo(checkpoint);
  }
}

/**
 * The least gas limit with which `call` succeeds: one run at the cap, then a binary search between
 * what it used and the cap (a call may need more gas than it uses: the 63/64 rule, refunds).
 * A call that fails at the cap throws its failure.
 */
export async function estimateGas(state: StateDb, env: BlockEnv, call: SimulatedCall): Promise<{ gas: number; outcome: EvmOutcome }> {
  const cap = call.gasLimit ?? env.params.blockGasLimit;
  const first = await simulateCall(state, env, { ...call, gasLimit: cap });
  if (first.failure) return { gas: cap, outcome: first };
  const atUsed = await simulateCall(state, env, { ...call, gasLimit: first.gasUsed });
  if (!atUsed.failure) return { gas: first.gasUsed, outcome: atUsed };
  let low = first.gasUsed;
  let high = cap;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    const attempt = await simulateCall(state, env, { ...call, gasLimit: mid });
    if (attempt.failure) low = mid;
    else high = mid;
  }
  return { gas: high, outcome: first };
}
