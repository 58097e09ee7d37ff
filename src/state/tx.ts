// The transaction envelope: [chainId, nonce, gasLimit, gasPrice, kind, payload, signature].
// The signature covers the first six fields under the tx domain tag; the sender is recovered.
import {
  Domain,
  amount,
  bytes,
  decode,
  encode,
  isBcrError,
  keccak256,
  recoverSigner,
  sha256,
  sign,
  struct,
  uint,
  varBytes,
  type Infer,
} from '../primitives/index.js';
import type { ChainParams } from '../consensus/index.js';
import { TxError } from './errors.js';
import { isEthTx, verifyEthTx } from './ethTx.js';
import { cachedSender } from './senderCache.js';
export { clearSenderCache, primeSender } from './senderCache.js';
import { txKindById, type TxKind } from './txKinds/index.js';

/** Proof-carrying txs (prove-commit, WindowPoSt) need room; transfers stay tiny. */
export const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

const bodyShape = {
  chainId: uint(),
  nonce: uint(),
  gasLimit: uint(),
  gasPrice: amount(),
  kind: uint(255),
  payload: varBytes(MAX_PAYLOAD_BYTES),
};
export const txBodyCodec = struct(bodyShape);
export const signedTxCodec = struct({ ...bodyShape, signature: bytes(65) });

export type TxBody = Infer<typeof txBodyCodec>;
export type SignedTxFields = Infer<typeof signedTxCodec>;

/** A tx that passed every check that needs no state: decoded, signed, of a known kind, gas-sane. */
export interface VerifiedTx {
  id: Uint8Array;
  bytes: Uint8Array;
  body: TxBody;
  sender: Uint8Array;
  kind: TxKind;
  payload: unknown;
  gas: number;
}

export function signTx(privateKey: Uint8Array, body: TxBody): Uint8Array {
  const signature = sign(privateKey, Domain.tx, body.chainId, encode(txBodyCodec, body));
  return encode(signedTxCodec, { ...body, signature });
}

export function txId(txBytes: Uint8Array): Uint8Array {
  return sha256(txBytes);
}

/** A tx's id without verifying it: keccak256 for Ethereum-signed txs (their hash), sha256 for native ones. */
export function anyTxId(txBytes: Uint8Array): Uint8Array {
  return isEthTx(txBytes) ? keccak256(txBytes) : txId(txBytes);
}


/**
 * The canonical body encoding is the signed encoding minus its last field: a 6-item array header
 * instead of 7, and without the trailing bin8 signature (0xc4 0x41 + 65 bytes).
 */
function unsignedBodyBytes(txBytes: Uint8Array): Uint8Array {
  const body = txBytes.slice(0, txBytes.length - 67);
  body[0] = 0x96;
  return body;
}

function recoverSender(id: Uint8Array, txBytes: Uint8Array, chainId: number, signature: Uint8Array): Uint8Array {
  return cachedSender(id, () => recoverSigner(Domain.tx, chainId, unsignedBodyBytes(txBytes), signature));
}

/** Stateless validation, cheapest checks first. Throws TxError with a precise code. */
export function verifyTx(txBytes: Uint8Array, params: ChainParams): VerifiedTx {
  if (txBytes.length > params.maxTxBytes) {
    throw new TxError('TOO_LARGE', `tx is ${txBytes.length} bytes, above ${params.maxTxBytes}`);
  }
  if (isEthTx(txBytes)) return verifyEthTx(txBytes, params);
  let fields: SignedTxFields;
  try {
    fields = decode(signedTxCodec, txBytes, 'tx');
  } catch (error) {
    throw new TxError('MALFORMED', isBcrError(error) ? error.message : 'undecodable tx');
  }
  const { signature, ...body } = fields;
  if (body.chainId !== params.chainId) {
    throw new TxError('WRONG_CHAIN', `tx is for chain ${body.chainId}, this is chain ${params.chainId}`);
  }
  const kind = txKindById(body.kind);
  if (!kind) throw new TxError('UNKNOWN_KIND', `unknown tx kind ${body.kind}`);
  let payload: unknown;
  try {
    payload = kind.decodePayload(body.payload);
  } catch (error) {
    throw new TxError('MALFORMED_PAYLOAD', isBcrError(error) ? error.message : `bad ${kind.name} payload`);
  }
  const gas = kind.gas(payload);
  if (body.gasLimit < gas) throw new TxError('GAS_TOO_LOW', `gas limit ${body.gasLimit} below the ${gas} a ${kind.name} uses`);
  if (body.gasLimit > params.blockGasLimit) {
    throw new TxError('GAS_LIMIT_ABOVE_BLOCK', `gas limit ${body.gasLimit} above the block gas limit ${params.blockGasLimit}`);
  }
  if (body.gasPrice < params.minGasPrice) {
    throw new TxError('GAS_PRICE_TOO_LOW', `gas price ${body.gasPrice} below the minimum ${params.minGasPrice}`);
  }
  const id = txId(txBytes);
  let sender: Uint8Array;
  try {
    sender = recoverSender(id, txBytes, body.chainId, signature);
  } catch (error) {
    throw new TxError('BAD_SIGNATURE', isBcrError(error) ? error.message : 'bad signature');
  }
  return { id, bytes: txBytes, body, sender, kind, payload, gas };
}

export function maxFee(body: TxBody): bigint {
  return BigInt(body.gasLimit) * body.gasPrice;
}
