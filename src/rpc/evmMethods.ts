// Contract methods of the Ethereum RPC: eth_call and eth_estimateGas run the EVM on a block's state
// (kept from the finalized block to the head), eth_getCode and eth_getStorageAt read it, and
// eth_getLogs answers from the log index with a bounded block range and result count.
import { blockId, type Block, type ChainStore, type HeadChange } from '../chain/index.js';
import { fromHex, isBcrError, parseAddress, toHex } from '../primitives/index.js';
import { anyTxId, revertReason, isSystemAddress, SYSTEM_CODE, estimateGas, getCode, getStorage, simulateCall, TxError, type AccessListEntry, type EvmOutcome, type EvmLog, type SimulatedCall, type StateDb } from '../state/index.js';
import { logJson, q } from './ethFormat.js';
import { RpcError, RpcErrorCode, type MethodDescriptor, type ParamSpec } from './jsonRpc.js';
import { addressParam, anyParam } from './params.js';
import { blockTagParam, parseLogFilter, stateBlockOf, tagStateBlock } from './ethParams.js';
import { LogQueryError, locateLogs, logMatches } from '../chain/logIndex.js';

/** Blocks one eth_getLogs may span, and logs it may return (what public providers allow). */
export const MAX_LOG_RANGE = 10_000;
export const MAX_LOGS = 10_000;
/** JSON-RPC error code for a reverted call (geth, and what ethers and viem decode). */
const EXECUTION_REVERTED = 3;

const HEX_DATA = /^0x([0-9a-fA-F]{2})*$/;
const QUANTITY = /^0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})$/;

function field<T>(call: Record<string, unknown>, name: string, parse: (value: string) => T): T | undefined {
  const value = call[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new RpcError(RpcErrorCode.invalidParams, `invalid param 0 (call): ${name} must be a hex string`);
  try {
    return parse(value);
  } catch (error) {
    throw new RpcError(RpcErrorCode.invalidParams, `invalid param 0 (call): ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const quantity = (value: string): bigint => {
  if (!QUANTITY.test(value)) throw new Error('expected a 0x-hex quantity below 2^256');
  return BigInt(value);
};
const data = (value: string): Uint8Array => {
  if (!HEX_DATA.test(value)) throw new Error('expected 0x-prefixed hex bytes');
  return fromHex(value);
};

function accessListOf(value: unknown): AccessListEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > 1000) throw new RpcError(RpcErrorCode.invalidParams, 'invalid param 0 (call): accessList must be a list of at most 1000 entries');
  return value.map((entry: unknown) => {
    const e = entry as { address?: unknown; storageKeys?: unknown };
    if (typeof e?.address !== 'string' || !Array.isArray(e.storageKeys) || e.storageKeys.length > 1000) throw new RpcError(RpcErrorCode.invalidParams, 'invalid param 0 (call): accessList entries are {address, storageKeys}');
    return {
      address: parseAddress(e.address),
      slots: e.storageKeys.map((k: unknown) => {
        if (typeof k !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(k)) throw new RpcError(RpcErrorCode.invalidParams, 'invalid param 0 (call): storage keys are 32-byte hex');
        return fromHex(k);
      }),
    };
  });
}

/** An Ethereum call object: {from, to, gas, gasPrice | maxFeePerGas, value, data | input, accessList}. */
export function parseCallObject(value: unknown, gasCap: number): SimulatedCall {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RpcError(RpcErrorCode.invalidParams, 'invalid param 0 (call): expected an object');
  const call = value as Record<string, unknown>;
  const input = field(call, 'input', data);
  const legacyData = field(call, 'data', data);
  if (input && legacyData && toHex(input) !== toHex(legacyData)) throw new RpcError(RpcErrorCode.invalidParams, 'invalid param 0 (call): data and input differ');
  const gas = field(call, 'gas', quantity);
  if (gas !== undefined && gas > BigInt(gasCap)) throw new RpcError(RpcErrorCode.invalidParams, `invalid param 0 (call): gas ${gas} above the cap ${gasCap}`);
  return {
    from: field(call, 'from', parseAddress) ?? new Uint8Array(20),
    to: field(call, 'to', parseAddress) ?? null,
    value: field(call, 'value', quantity) ?? 0n,
    data: input ?? legacyData ?? new Uint8Array(0),
    ...(gas !== undefined ? { gasLimit: Number(gas) } : {}),
    gasPrice: field(call, 'gasPrice', quantity) ?? field(call, 'maxFeePerGas', quantity) ?? 0n,
    accessList: accessListOf(call.accessList),
  };
}

/** A failed simulation as the error ethers and viem decode: code 3 with the revert data. */
function failureError(outcome: EvmOutcome): RpcError {
  if (outcome.failure === 'REVERTED') {
    const reason = revertReason(outcome.returnData);
    return new RpcError(EXECUTION_REVERTED, reason === null ? 'execution reverted' : `execution reverted: ${reason}`, toHex(outcome.returnData));
  }
  return new RpcError(RpcErrorCode.rejected, `execution failed: ${outcome.failure?.toLowerCase().replace(/_/g, ' ')}`);
}

function simulationError(error: unknown): never {
  if (error instanceof TxError) throw new RpcError(RpcErrorCode.invalidParams, `invalid param 0 (call): ${error.message}`, { code: error.code });
  if (isBcrError(error) && error.code === 'OUT_OF_RANGE') throw new RpcError(RpcErrorCode.rejected, error.message);
  throw error;
}

export function evmMethods({ chain }: { chain: ChainStore }): MethodDescriptor[] {
  const stateBlock = (tag: unknown) => stateBlockOf(chain, tag);
  /** Rolling the state back is the work: one unit per block between the head and the block read (a hash: up to the finalized one). */
  const depthCost = (tag: unknown) => chain.depthOf(tagStateBlock(tag) ?? 'finalized');
  const read = async <T>(tag: unknown, work: (state: StateDb) => Promise<T>): Promise<T> => {
    try {
      return await chain.readStateAt(await stateBlock(tag), (state) => work(state));
    } catch (error) {
      return simulationError(error);
    }
  };
  const gasCap = () => chain.params.blockGasLimit;

  return [
    {
      name: 'eth_getCode',
      description: 'Contract code at an address (0x for an account without code), at a block from the finalized one to the head.',
      params: [addressParam(), blockTagParam()],
      cost: ([, tag]) => 1 + depthCost(tag),
      handler: async ([address, tag]) => (isSystemAddress(address as Uint8Array) ? toHex(SYSTEM_CODE) : toHex((await read(tag, (state) => getCode(state, address as Uint8Array))).code)),
    },
    {
      name: 'eth_getStorageAt',
      description: 'A contract storage slot (32 bytes), at a block from the finalized one to the head.',
      params: [addressParam(), storageSlotParam(), blockTagParam()],
      cost: ([, , tag]) => 1 + depthCost(tag),
      handler: async ([address, slot, tag]) => {
        const value = await read(tag, (state) => getStorage(state, address as Uint8Array, slot as Uint8Array));
        return '0x' + toHex(value).slice(2).padStart(64, '0');
      },
    },
    {
      name: 'eth_call',
      description: "Runs a call on a block's state without a tx (gas up to the block gas limit); a revert is error 3 with its data.",
      params: [anyParam('call', false, { type: 'object' }), blockTagParam()],
      cost: ([, tag]) => 200 + depthCost(tag),
      handler: async ([call, tag]) => {
        const parsed = parseCallObject(call, gasCap());
        const outcome = await chain.executeAt(await stateBlock(tag), (state, env) => simulateCall(state, env, parsed)).catch(simulationError);
        if (outcome.failure) throw failureError(outcome);
        return toHex(outcome.returnData);
      },
    },
    {
      name: 'eth_estimateGas',
      description: 'The least gas limit with which the call succeeds (a binary search of runs); a failing call is an error with its revert data.',
      params: [anyParam('call', false, { type: 'object' }), blockTagParam()],
      cost: ([, tag]) => 1000 + depthCost(tag),
      handler: async ([call, tag]) => {
        const parsed = parseCallObject(call, gasCap());
        const { gas, outcome } = await chain.executeAt(await stateBlock(tag), (state, env) => estimateGas(state, env, parsed)).catch(simulationError);
        if (outcome.failure) throw failureError(outcome);
        return q(gas);
      },
    },
    {
      name: 'eth_getLogs',
      description: `Logs of canonical blocks by address and topics, from the log index: at most ${MAX_LOG_RANGE} blocks and ${MAX_LOGS} logs per query.`,
      params: [anyParam('filter', false, { type: 'object' })],
      cost: () => 100,
      handler: async ([filter]) => {
        const parsed = await parseLogFilter(chain, filter);
        if (parsed.blockId !== undefined) {
          const block = await chain.requireBlock(parsed.blockId);
          const receipts = await chain.requireReceipts(parsed.blockId);
          return locateLogs(block.header.height, parsed.blockId, receipts, block.txs.map(anyTxId)).filter((l) => logMatches(l.log, parsed)).map((l) => logJson(l));
        }
        // Genesis carries no txs: an archive node answers from height 1, a pruned one from its oldest body.
        parsed.fromHeight = Math.max(parsed.fromHeight, 1);
        if (parsed.fromHeight < chain.oldestBodyHeight) throw new RpcError(RpcErrorCode.rejected, `logs are kept from height ${chain.oldestBodyHeight} on (pruned below); ask an archive node`);
        try {
          return (await chain.getLogs(parsed, { maxRange: MAX_LOG_RANGE, maxLogs: MAX_LOGS })).map((l) => logJson(l));
        } catch (error) {
          if (error instanceof LogQueryError) throw new RpcError(RpcErrorCode.limitExceeded, error.message);
          throw error;
        }
      },
    },
  ];
}

function storageSlotParam(): ParamSpec {
  return {
    name: 'slot',
    schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{1,64}$' },
    parse(value) {
      if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) throw new Error('expected a storage slot: 0x-hex up to 32 bytes');
      return fromHex('0x' + value.slice(2).padStart(64, '0'));
    },
  };
}


/** The logs a head change adds (blocks that joined) and takes back (removed: blocks that left), in order. */
export async function headChangeLogs(chain: ChainStore, change: HeadChange, listener: (logs: { log: EvmLog; json: unknown }[]) => void): Promise<void> {
  const out: { log: EvmLog; json: unknown }[] = [];
  const collect = async (block: Block, removed: boolean) => {
    const id = blockId(block.header);
    const receipts = await chain.getReceipts(id);
    if (!receipts || !receipts.some((r) => (r.evm?.logs.length ?? 0) > 0)) return;
    for (const located of locateLogs(block.header.height, id, receipts, block.txs.map(anyTxId))) out.push({ log: located.log, json: logJson(located, removed) });
  };
  for (const block of change.reverted) await collect(block, true);
  for (const block of change.applied) await collect(block, false);
  if (out.length > 0) listener(out);
}
