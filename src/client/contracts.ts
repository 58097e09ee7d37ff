// Calling contracts from the client library: an eth_call to read, and a BCR-signed EVM tx to write,
// its gas limit from eth_estimateGas with a margin. ABI encoding is viem's.
import { decodeFunctionResult, encodeFunctionData, type Abi } from 'viem';
import { fromHex, toHex } from '../primitives/index.js';
import { evmCallKind, evmCallPayload } from '../state/index.js';
import { ClientError } from './errors.js';
import { callRpc } from './rpc.js';
import { sendKindTx, waitForReceipt, type Receipt, type Sender } from './txs.js';

/** Estimated gas times 5/4: state can change between the estimate and inclusion. */
const GAS_MARGIN_NUM = 5n;
const GAS_MARGIN_DEN = 4n;

export interface ContractCall {
  address: Uint8Array;
  abi: Abi;
  functionName: string;
  args?: readonly unknown[];
}

function calldata(call: ContractCall): `0x${string}` {
  return encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args ?? [] } as Parameters<typeof encodeFunctionData>[0]);
}

/** A view call through eth_call at the head, decoded. */
export async function readContract<T>(rpc: string, call: ContractCall): Promise<T> {
  const result = await callRpc<string>(rpc, 'eth_call', [{ to: toHex(call.address), data: calldata(call) }, 'latest']);
  return decodeFunctionResult({ abi: call.abi, functionName: call.functionName, data: result as `0x${string}` } as Parameters<typeof decodeFunctionResult>[0]) as T;
}

/** Signs and sends a contract call with `value`, waits for its receipt, and throws if it failed. */
export async function writeContract(rpc: string, sender: Sender, call: ContractCall, value = 0n): Promise<{ id: string; receipt: Receipt }> {
  const data = calldata(call);
  const estimate = BigInt(await callRpc<string>(rpc, 'eth_estimateGas', [{ from: sender.address, to: toHex(call.address), data, value: '0x' + value.toString(16) }]));
  const gasLimit = Number((estimate * GAS_MARGIN_NUM) / GAS_MARGIN_DEN);
  const { id } = await sendKindTx(rpc, sender, evmCallKind, evmCallPayload, { to: call.address, value, data: fromHex(data), accessList: [] }, undefined, gasLimit);
  const receipt = await waitForReceipt(rpc, id);
  if (receipt.status !== 'ok') throw new ClientError(`${call.functionName} tx ${id} failed in block ${receipt.height}: ${receipt.revertReason ?? receipt.error}`);
  return { id, receipt };
}
