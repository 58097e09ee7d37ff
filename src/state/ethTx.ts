// Ethereum-signed txs (legacy EIP-155, EIP-2930, EIP-1559), so ordinary Ethereum wallets and tools
// can send BCR, create contracts and call them. They are kept in blocks as their raw bytes,
// identified by their keccak hash, and executed as the EVM tx kind.
import { decode as rlpDecode, encode as rlpEncode, type NestedUint8Array } from '@ethereumjs/rlp';
import { bytesToBigint, concatBytes, encode, keccak256, recoverAddress } from '../primitives/index.js';
import type { ChainParams } from '../consensus/index.js';
import { TxError } from './errors.js';
import { cachedSender } from './senderCache.js';
import type { VerifiedTx } from './tx.js';
import { checkEvmCall, evmCallKind, evmCallMinGas, evmCallPayload, type EvmCallPayload } from './evm/callKind.js';
import type { AccessListEntry } from './evm/intrinsicGas.js';

export type EthTxType = 0 | 1 | 2;

export interface EthTxFields {
  type: EthTxType;
  chainId: number;
  nonce: number;
  /** Legacy/2930 gas price, or for 1559 the price actually charged (see effectiveGasPrice). */
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  gasLimit: number;
  /** null creates a contract. */
  to: Uint8Array | null;
  value: bigint;
  data: Uint8Array;
  accessList: AccessListEntry[];
}

/** Ethereum txs start with a type byte (0x01, 0x02) or an RLP list (>= 0xc0); ours with 0x97. */
export function isEthTx(bytes: Uint8Array): boolean {
  return bytes.length > 0 && (bytes[0] === 0x01 || bytes[0] === 0x02 || bytes[0]! >= 0xc0);
}

function fail(code: 'MALFORMED' | 'WRONG_CHAIN' | 'BAD_SIGNATURE' | 'MALFORMED_PAYLOAD', message: string): never {
  throw new TxError(code, message);
}

function item(list: NestedUint8Array, i: number, name: string): Uint8Array {
  const value = list[i];
  if (!(value instanceof Uint8Array)) fail('MALFORMED', `ethereum tx: ${name} must be a byte string`);
  return value;
}

function quantity(list: NestedUint8Array, i: number, name: string, maxBytes = 32): bigint {
  const bytes = item(list, i, name);
  if (bytes.length > maxBytes || (bytes.length > 0 && bytes[0] === 0)) fail('MALFORMED', `ethereum tx: ${name} is not a canonical quantity`);
  return bytesToBigint(bytes);
}

function smallQuantity(list: NestedUint8Array, i: number, name: string): number {
  const value = quantity(list, i, name, 8);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail('MALFORMED', `ethereum tx: ${name} too large`);
  return Number(value);
}

/** The price per gas BCR charges: no base fee is burned; the minimum gas price plays its part. */
export function effectiveGasPrice(tx: EthTxFields, minGasPrice: bigint): bigint {
  if (tx.type !== 2) return tx.maxFeePerGas;
  const wanted = minGasPrice + tx.maxPriorityFeePerGas;
  return wanted < tx.maxFeePerGas ? wanted : tx.maxFeePerGas;
}

export function decodeEthTx(raw: Uint8Array): { fields: EthTxFields; signingHash: Uint8Array; signature: Uint8Array } {
  const type: EthTxType = raw[0] === 0x01 ? 1 : raw[0] === 0x02 ? 2 : 0;
  let list: NestedUint8Array;
  try {
    const decoded = rlpDecode(type === 0 ? raw : raw.subarray(1));
    if (!Array.isArray(decoded)) fail('MALFORMED', 'ethereum tx is not an RLP list');
    list = decoded;
  } catch (error) {
    if (error instanceof TxError) throw error;
    fail('MALFORMED', `ethereum tx is not valid RLP (${error instanceof Error ? error.message : String(error)})`);
  }
  const expected = type === 0 ? 9 : type === 1 ? 11 : 12;
  if (list.length !== expected) fail('MALFORMED', `ethereum type-${type} tx needs ${expected} fields, got ${list.length}`);
  let fields: EthTxFields;
  let unsigned: NestedUint8Array;
  let recid: number;
  let rIndex: number;
  if (type === 0) {
    const v = quantity(list, 6, 'v', 8);
    if (v < 35n) fail('WRONG_CHAIN', 'legacy tx without EIP-155 chain id (replayable): refused');
    const chainId = Number((v - 35n) / 2n);
    recid = Number((v - 35n) % 2n);
    const price = quantity(list, 1, 'gasPrice');
    fields = { type, chainId, nonce: smallQuantity(list, 0, 'nonce'), maxFeePerGas: price, maxPriorityFeePerGas: price, gasLimit: smallQuantity(list, 2, 'gasLimit'), to: target(list, 3), value: quantity(list, 4, 'value'), data: item(list, 5, 'data'), accessList: [] };
    unsigned = [...list.slice(0, 6), rlpEncodeQuantity(BigInt(chainId)), new Uint8Array(0), new Uint8Array(0)];
    rIndex = 7;
  } else {
    const chainId = smallQuantity(list, 0, 'chainId');
    const nonce = smallQuantity(list, 1, 'nonce');
    const at = type === 1 ? 2 : 3;
    const maxFee = quantity(list, at, type === 1 ? 'gasPrice' : 'maxFeePerGas');
    const priority = type === 1 ? maxFee : quantity(list, 2, 'maxPriorityFeePerGas');
    fields = { type, chainId, nonce, maxFeePerGas: maxFee, maxPriorityFeePerGas: priority, gasLimit: smallQuantity(list, at + 1, 'gasLimit'), to: target(list, at + 2), value: quantity(list, at + 3, 'value'), data: item(list, at + 4, 'data'), accessList: accessListOf(list[at + 5]) };
    const yParity = quantity(list, at + 6, 'yParity', 1);
    if (yParity > 1n) fail('BAD_SIGNATURE', 'ethereum tx: yParity must be 0 or 1');
    recid = Number(yParity);
    unsigned = list.slice(0, at + 6);
    rIndex = at + 7;
  }
  const r = quantity(list, rIndex, 'r');
  const s = quantity(list, rIndex + 1, 's');
  const signature = concatBytes(pad32(r), pad32(s), new Uint8Array([recid]));
  const body = rlpEncode(unsigned);
  const signingHash = keccak256(type === 0 ? body : concatBytes(new Uint8Array([type]), body));
  return { fields, signingHash, signature };
}

/** A 20-byte recipient, or empty for a contract creation. */
function target(list: NestedUint8Array, i: number): Uint8Array | null {
  const to = item(list, i, 'to');
  if (to.length === 0) return null;
  if (to.length !== 20) fail('MALFORMED', `ethereum tx: to is ${to.length} bytes, not 20`);
  return to;
}

function accessListOf(value: NestedUint8Array[number] | undefined): AccessListEntry[] {
  if (!Array.isArray(value)) fail('MALFORMED', 'ethereum tx: access list must be a list');
  return value.map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2) fail('MALFORMED', `ethereum tx: access list entry ${i} must be [address, slots]`);
    const address = entry[0];
    const slots = entry[1];
    if (!(address instanceof Uint8Array) || address.length !== 20) fail('MALFORMED', `ethereum tx: access list entry ${i} address must be 20 bytes`);
    if (!Array.isArray(slots)) fail('MALFORMED', `ethereum tx: access list entry ${i} slots must be a list`);
    return {
      address,
      slots: slots.map((slot) => {
        if (!(slot instanceof Uint8Array) || slot.length !== 32) fail('MALFORMED', `ethereum tx: access list entry ${i} slots must be 32 bytes each`);
        return slot;
      }),
    };
  });
}

function rlpEncodeQuantity(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function pad32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let x = v;
  for (let i = 31; i >= 0 && x > 0n; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** Stateless checks of an Ethereum-signed tx; the result executes as the EVM tx kind. */
export function verifyEthTx(raw: Uint8Array, params: ChainParams): VerifiedTx {
  const { fields, signingHash, signature } = decodeEthTx(raw);
  const id = keccak256(raw);
  if (fields.chainId !== params.chainId) fail('WRONG_CHAIN', `tx is for chain ${fields.chainId}, this is chain ${params.chainId}`);
  const payload: EvmCallPayload = { to: fields.to, value: fields.value, data: fields.data, accessList: fields.accessList };
  checkEvmCall(payload);
  const gas = evmCallMinGas(payload);
  if (fields.gasLimit < gas) throw new TxError('GAS_TOO_LOW', `gas limit ${fields.gasLimit} below the ${gas} intrinsic gas this tx needs`);
  if (fields.gasLimit > params.blockGasLimit) throw new TxError('GAS_LIMIT_ABOVE_BLOCK', `gas limit ${fields.gasLimit} above the block gas limit`);
  // As Ethereum refuses them: a tip above the fee cap, and a fee cap whose total cannot be counted in 256 bits.
  if (fields.maxPriorityFeePerGas > fields.maxFeePerGas) throw new TxError('TIP_ABOVE_FEE_CAP', `max priority fee ${fields.maxPriorityFeePerGas} above max fee ${fields.maxFeePerGas}`);
  if (BigInt(fields.gasLimit) * fields.maxFeePerGas >= 1n << 256n) throw new TxError('FEE_CAP_TOO_HIGH', 'gas limit times max fee per gas overflows 256 bits');
  if (fields.maxFeePerGas < params.minGasPrice) throw new TxError('GAS_PRICE_TOO_LOW', `gas price ${fields.maxFeePerGas} below the minimum ${params.minGasPrice}`);
  let sender: Uint8Array;
  try {
    sender = cachedSender(id, () => recoverAddress(signingHash, signature));
  } catch (error) {
    throw new TxError('BAD_SIGNATURE', error instanceof Error ? error.message : 'bad signature');
  }
  return {
    id,
    bytes: raw,
    body: { chainId: fields.chainId, nonce: fields.nonce, gasLimit: fields.gasLimit, gasPrice: effectiveGasPrice(fields, params.minGasPrice), kind: evmCallKind.id, payload: encode(evmCallPayload, payload) },
    sender,
    kind: evmCallKind,
    payload,
    gas,
  };
}
