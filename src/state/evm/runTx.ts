// One EVM message from a tx: what Ethereum's tx processing does around the interpreter (warm
// addresses, intrinsic gas, refunds, the calldata floor, EIP-6780 deletion, EIP-161 cleanup, fresh
// transient storage), with fees left to the caller: BCR charges them like every other tx.
import { Address, bytesToUnprefixedHex, createAddressFromString } from '@ethereumjs/util';
import type { EVMRunCallOpts } from '@ethereumjs/evm';
import type { BcrEvm } from './machine.js';
import type { EvmStateAdapter } from './stateAdapter.js';
import type { AccessListEntry } from './intrinsicGas.js';
import { MAX_REVERT_DATA, type EvmLog } from './receipt.js';

type EvmBlock = NonNullable<EVMRunCallOpts['block']>;

export interface EvmBlockContext {
  height: number;
  timestampMs: number;
  /** The producer's owner: COINBASE. */
  coinbase: Uint8Array;
  gasLimit: number;
  /** BASEFEE: BCR's minimum gas price (what every tx pays at least per gas). */
  baseFee: bigint;
  /** PREVRANDAO: the block's VRF output. */
  prevRandao: Uint8Array;
}

export interface EvmCall {
  caller: Uint8Array;
  /** null creates a contract from `data`. */
  to: Uint8Array | null;
  value: bigint;
  data: Uint8Array;
  gasLimit: number;
  gasPrice: bigint;
  accessList: AccessListEntry[];
  /** Gas charged before execution (see intrinsicGas) and the EIP-7623 floor. */
  intrinsicGas: number;
  floorGas: number;
  /** A simulation (eth_call) lets the EVM bump the caller's nonce; a tx had it bumped with its fee. */
  bumpNonce?: boolean;
}

export interface EvmOutcome {
  gasUsed: number;
  /** null on success; otherwise REVERTED, OUT_OF_GAS or the EVM's halt reason. */
  failure: string | null;
  returnData: Uint8Array;
  logs: EvmLog[];
  contractAddress: Uint8Array | null;
}

export function evmBlock(block: EvmBlockContext): EvmBlock {
  return {
    header: {
      number: BigInt(block.height),
      coinbase: new Address(block.coinbase),
      timestamp: BigInt(Math.floor(block.timestampMs / 1000)),
      difficulty: 0n,
      prevRandao: block.prevRandao,
      gasLimit: BigInt(block.gasLimit),
      baseFeePerGas: block.baseFee,
      // No blobs on BCR: BLOBBASEFEE answers the EIP-4844 minimum.
      getBlobGasPrice: () => 1n,
    },
  };
}

function failureCode(error: string): string {
  return error.toUpperCase().replace(/[^A-Z0-9]+/g, '_').slice(0, 64);
}

export async function runEvmCall(evm: BcrEvm, state: EvmStateAdapter, block: EvmBlockContext, call: EvmCall): Promise<EvmOutcome> {
  const journal = evm.journal;
  journal.cleanJournal();
  state.originalStorageCache.clear();
  evm.transientStorage.clear();
  for (const [address] of evm.precompiles) journal.addAlwaysWarmAddress(address);
  journal.addAlwaysWarmAddress(bytesToUnprefixedHex(call.caller));
  if (call.to) journal.addAlwaysWarmAddress(bytesToUnprefixedHex(call.to));
  journal.addAlwaysWarmAddress(bytesToUnprefixedHex(block.coinbase));
  for (const entry of call.accessList) {
    journal.addAlwaysWarmAddress(bytesToUnprefixedHex(entry.address));
    for (const slot of entry.slots) journal.addAlwaysWarmSlot(bytesToUnprefixedHex(entry.address), bytesToUnprefixedHex(slot));
  }

  const caller = new Address(call.caller);
  // Value beyond the spendable balance fails the tx before any code runs (the EVM would throw on a creation).
  if (call.value > ((await state.getAccount(caller))?.balance ?? 0n)) {
    return { gasUsed: Math.max(call.intrinsicGas, call.floorGas), failure: 'INSUFFICIENT_BALANCE', returnData: new Uint8Array(0), logs: [], contractAddress: null };
  }
  const before = state.state.checkpoint();
  let result: Awaited<ReturnType<BcrEvm['runCall']>>;
  try {
    result = await evm.runCall({
      block: evmBlock(block),
      caller,
      origin: caller,
      to: call.to ? new Address(call.to) : undefined,
      value: call.value,
      data: call.data,
      gasLimit: BigInt(call.gasLimit - call.intrinsicGas),
      gasPrice: call.gasPrice,
      // The chain bumped the nonce with the fee; the EVM derives a created address from nonce - 1.
      skipNonceIncrement: call.bumpNonce !== true,
    });
  } catch (error) {
    // @ethereumjs throws its halt reasons as plain objects in a few paths: a failed tx, all gas spent.
    if (!isEvmError(error)) throw error;
    state.state.revertTo(before);
    state.resetCheckpoints();
    return { gasUsed: call.gasLimit, failure: failureCode(error.error), returnData: new Uint8Array(0), logs: [], contractAddress: null };
  }
  const exec = result.execResult;
  const error = exec.exceptionError?.error;

  let gasUsed = BigInt(call.intrinsicGas) + exec.executionGasUsed;
  if (!error) gasUsed -= minBigint(exec.gasRefund ?? 0n, gasUsed / 5n);
  if (gasUsed < BigInt(call.floorGas)) gasUsed = BigInt(call.floorGas);

  // EIP-6780: SELFDESTRUCT deletes an account only in the tx that created it.
  if (!error && exec.selfdestruct) {
    for (const address of [...exec.selfdestruct.keys()].sort()) {
      if (exec.createdAddresses?.has(address)) await journal.deleteAccount(createAddressFromString(address));
    }
  }
  await journal.cleanup();

  return {
    gasUsed: Number(gasUsed),
    failure: error ? (error === 'revert' ? 'REVERTED' : failureCode(error)) : null,
    returnData: error ? exec.returnValue.subarray(0, MAX_REVERT_DATA) : exec.returnValue,
    logs: error ? [] : (exec.logs ?? []).map(([address, topics, data]) => ({ address, topics, data })),
    contractAddress: !error && !call.to && result.createdAddress ? result.createdAddress.bytes : null,
  };
}

function isEvmError(error: unknown): error is { error: string } {
  return typeof error === 'object' && error !== null && (error as { errorType?: unknown }).errorType === 'EVMError' && typeof (error as { error?: unknown }).error === 'string';
}

function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
