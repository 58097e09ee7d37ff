// A system contract is a precompile that speaks the Solidity ABI: it decodes the call, charges a
// fixed gas per function, runs the function on the block's state, and answers ABI-encoded or
// reverts with Error(string). Writes go through the StateDb the EVM journals, so a revert anywhere
// up the call stack undoes them.
import { EVMError, type ExecResult, type Log, type PrecompileInput } from '@ethereumjs/evm';
import { decodeFunctionData, encodeAbiParameters, encodeErrorResult, encodeEventTopics, encodeFunctionResult, type Abi } from 'viem';
import { bytesEqual, fromHex, toHex } from '../../../primitives/index.js';
import { TxFailure } from '../../errors.js';
import type { StateDb } from '../../stateDb.js';
import type { BcrEvm } from '../machine.js';

export interface SystemCall {
  state: StateDb;
  slot: number;
  height: number;
  /** The contract's own address (where a payable call's value arrived). */
  self: Uint8Array;
  caller: Uint8Array;
  value: bigint;
  /** Logs the call emits (kept only if it succeeds). */
  logs: Log[];
}

export interface SystemFunction {
  /** Gas the call costs, whatever it does. */
  gas: number | ((args: readonly unknown[]) => number);
  /** Changes state: refused in a static call and from DELEGATECALL/CALLCODE. */
  writes?: boolean;
  payable?: boolean;
  run(call: SystemCall, args: readonly unknown[]): Promise<unknown>;
}

export interface SystemContract {
  address: Uint8Array;
  abi: Abi;
  functions: Record<string, SystemFunction>;
}

/** Gas of a system contract's read (a cold account access). */
export const READ_GAS = 2_600;
export const ZERO_ADDRESS = '0x' + '00'.repeat(20);
export const ZERO_HASH = '0x' + '00'.repeat(32);

/** A uint64 id argument as a number; null past 2^53, where no record is. */
export function smallId(arg: unknown): number | null {
  const value = arg as bigint;
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(value);
}

/** A uint64 id argument as a number, or a revert with `notFound`. */
export function requireId(arg: unknown, notFound: string): number {
  const id = smallId(arg);
  if (id === null) throw new TxFailure('NOT_FOUND', notFound);
  return id;
}

const ERROR_ABI = [{ type: 'error', name: 'Error', inputs: [{ type: 'string', name: 'message' }] }] as const;

function revert(gas: bigint, message: string): ExecResult {
  return { executionGasUsed: gas, returnValue: fromHex(encodeErrorResult({ abi: ERROR_ABI, errorName: 'Error', args: [message] })), exceptionError: new EVMError(EVMError.errorMessages.REVERT) };
}

function outOfGas(gasLimit: bigint): ExecResult {
  return { executionGasUsed: gasLimit, returnValue: new Uint8Array(0), exceptionError: new EVMError(EVMError.errorMessages.OUT_OF_GAS) };
}

/** The precompile function for `contract` on a block's state at `slot`/`height`. */
export function systemPrecompile(contract: SystemContract, state: StateDb, slot: number, height: number): (input: PrecompileInput) => Promise<ExecResult> {
  return async (input) => {
    const message = (input._EVM as BcrEvm).currentMessage;
    if (!message) throw new Error('system contract called outside a message');
    let decoded: { functionName: string; args?: readonly unknown[] };
    try {
      decoded = decodeFunctionData({ abi: contract.abi, data: toHex(input.data) as `0x${string}` });
    } catch {
      return revert(0n, 'unknown function or malformed arguments');
    }
    const fn = contract.functions[decoded.functionName];
    if (!fn) return revert(0n, `${decoded.functionName} is not implemented`);
    const args = decoded.args ?? [];
    const gas = BigInt(typeof fn.gas === 'function' ? fn.gas(args) : fn.gas);
    if (input.gasLimit < gas) return outOfGas(input.gasLimit);
    if (message.value > 0n && !fn.payable) return revert(gas, `${decoded.functionName} takes no value`);
    if (fn.writes || fn.payable) {
      if (message.isStatic) return revert(gas, `${decoded.functionName} changes state: not in a static call`);
      // Under DELEGATECALL or CALLCODE no value reached this address and msg.sender is not the caller.
      if (message.delegatecall || !message.to || !bytesEqual(message.to.bytes, contract.address)) return revert(gas, `${decoded.functionName} must be called directly (CALL), not by DELEGATECALL or CALLCODE`);
    }
    try {
      const logs: Log[] = [];
      const result = await fn.run({ state, slot, height, self: contract.address, caller: message.caller.bytes, value: message.value, logs }, args);
      const returnValue = encodeFunctionResult({ abi: contract.abi, functionName: decoded.functionName, result } as Parameters<typeof encodeFunctionResult>[0]);
      return { executionGasUsed: gas, returnValue: fromHex(returnValue), ...(logs.length > 0 ? { logs } : {}) };
    } catch (error) {
      if (error instanceof TxFailure) return revert(gas, error.message);
      throw error;
    }
  };
}

/** An ABI-encoded log of `eventName` from `contract`. */
export function eventLog(contract: Pick<SystemContract, 'address' | 'abi'>, eventName: string, args: Record<string, unknown>): Log {
  const topics = encodeEventTopics({ abi: contract.abi, eventName, args } as Parameters<typeof encodeEventTopics>[0]);
  const event = contract.abi.find((item) => item.type === 'event' && item.name === eventName);
  if (!event || event.type !== 'event') throw new Error(`no event ${eventName}`);
  const unindexed = event.inputs.filter((input) => !input.indexed);
  const data = encodeAbiParameters(unindexed, unindexed.map((input) => args[input.name!]));
  return [contract.address, topics.map((t) => fromHex(t as string)), fromHex(data)];
}
