// The EVM tx kind: create a contract or call one. Ethereum-signed txs arrive as this kind (see
// ethTx.ts); a BCR-signed tx may carry it too. A plain value send to an address without code skips
// the interpreter: it is a transfer, charged what Ethereum charges for one.
import { amount, bytes, list, optional, struct, varBytes, type Infer } from '../../primitives/index.js';
import { accountKey, credit, debit } from '../accounts.js';
import { codeKey, getCode } from '../contracts.js';
import { TxError } from '../errors.js';
import { defineTxKind, type TxContext, type TxOutcome } from '../txKinds/registry.js';
import type { BlockEnv } from '../execute.js';
import type { StateDb } from '../stateDb.js';
import { calldataFloorGas, intrinsicGas, MAX_INITCODE_BYTES } from './intrinsicGas.js';
import { createBcrEvm, type BcrEvm } from './machine.js';
import { runEvmCall, type EvmBlockContext } from './runTx.js';
import { EvmStateAdapter } from './stateAdapter.js';
import { systemPrecompiles } from './system/index.js';

/** Calldata and init code fit the tx size cap; this bounds the payload codec. */
const MAX_DATA_BYTES = 1024 * 1024;
const MAX_ACCESS_LIST = 10_000;

export const evmCallPayload = struct({
  to: optional(bytes(20)),
  value: amount(),
  data: varBytes(MAX_DATA_BYTES),
  accessList: list(struct({ address: bytes(20), slots: list(bytes(32), MAX_ACCESS_LIST) }), MAX_ACCESS_LIST),
});
export type EvmCallPayload = Infer<typeof evmCallPayload>;

/** The gas charged before execution, and the EIP-7623 floor the tx pays at least. */
export function evmCallGas(payload: Pick<EvmCallPayload, 'to' | 'data' | 'accessList'>): { intrinsic: number; floor: number } {
  return { intrinsic: intrinsicGas(payload.data, payload.to === null, payload.accessList), floor: calldataFloorGas(payload.data) };
}

/** The least gas the tx can use: its intrinsic gas, or the calldata floor if higher. */
export function evmCallMinGas(payload: EvmCallPayload): number {
  const { intrinsic, floor } = evmCallGas(payload);
  return Math.max(intrinsic, floor);
}

/** Stateless rules an EVM payload must meet to enter a block. */
export function checkEvmCall(payload: EvmCallPayload): void {
  if (payload.to === null && payload.data.length > MAX_INITCODE_BYTES) {
    throw new TxError('MALFORMED_PAYLOAD', `init code is ${payload.data.length} bytes, above the ${MAX_INITCODE_BYTES} EIP-3860 allows`);
  }
}

/** Addresses 0x0000…0000 to 0x0000…ffff hold Ethereum's precompiles and BCR's system contracts. */
function isReserved(address: Uint8Array): boolean {
  for (let i = 0; i < 18; i++) if (address[i] !== 0) return false;
  return true;
}

export interface BlockEvm {
  evm: BcrEvm;
  adapter: EvmStateAdapter;
}

const noBlockHash = async (): Promise<undefined> => undefined;

/** An EVM over `state` for a block, its system contracts bound to that state. */
export function newBlockEvm(state: StateDb, env: Pick<BlockEnv, 'params' | 'slot' | 'height' | 'blockHash'>): BlockEvm {
  const adapter = new EvmStateAdapter(state, env.slot);
  const evm = createBcrEvm({ chainId: env.params.chainId, state: adapter, blockHash: env.blockHash ?? noBlockHash, precompiles: systemPrecompiles(state, env.slot, env.height) });
  return { evm, adapter };
}

/** One EVM per block state: built at the block's first EVM tx. */
const evms = new WeakMap<StateDb, BlockEvm>();

function evmFor(state: StateDb, env: BlockEnv): BlockEvm {
  let entry = evms.get(state);
  if (!entry) evms.set(state, (entry = newBlockEvm(state, env)));
  return entry;
}

export function evmBlockContext(ctx: Pick<TxContext, 'params' | 'block'>): EvmBlockContext {
  return {
    height: ctx.block.height,
    timestampMs: ctx.block.timestampMs,
    coinbase: ctx.block.producer,
    gasLimit: ctx.params.blockGasLimit,
    baseFee: ctx.params.minGasPrice,
    prevRandao: ctx.block.vrfOutput,
  };
}

export const evmCallKind = defineTxKind({
  id: 26,
  name: 'evm call',
  payload: evmCallPayload,
  maxPayloadBytes: MAX_DATA_BYTES + 64 + MAX_ACCESS_LIST * 64,
  gas: evmCallMinGas,
  metered: true,
  check: checkEvmCall,
  touches: (payload) => (payload.to ? [accountKey(payload.to), codeKey(payload.to)] : []),
  spends: (payload) => payload.value,
  async apply(ctx, payload): Promise<TxOutcome> {
    if ((await getCode(ctx.state, ctx.sender)).code.length > 0) throw new TxError('SENDER_NOT_EOA', 'the sender has code: only an externally owned account signs txs (EIP-3607)');
    const { intrinsic, floor } = evmCallGas(payload);
    const { to } = payload;
    if (to && payload.data.length === 0 && !isReserved(to) && (await getCode(ctx.state, to)).code.length === 0) {
      await debit(ctx.state, ctx.sender, payload.value, ctx.slot);
      await credit(ctx.state, to, payload.value);
      return { gasUsed: Math.max(intrinsic, floor), failure: null, evm: null };
    }
    const { evm, adapter } = evmFor(ctx.state, ctx.block);
    const outcome = await runEvmCall(evm, adapter, evmBlockContext(ctx), {
      caller: ctx.sender,
      to,
      value: payload.value,
      data: payload.data,
      gasLimit: ctx.gasLimit,
      gasPrice: ctx.gasPrice,
      accessList: payload.accessList,
      intrinsicGas: intrinsic,
      floorGas: floor,
    });
    return {
      gasUsed: outcome.gasUsed,
      failure: outcome.failure,
      evm: { logs: outcome.logs, contractAddress: outcome.contractAddress, revertData: outcome.failure ? outcome.returnData : new Uint8Array(0) },
    };
  },
});
