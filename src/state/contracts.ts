// Contract code and storage in the state. Both are plain state keys under the sparse Merkle root, so
// state roots, proofs at a block, undo data (reorgs) and pruning cover contracts like every other
// record. The account itself (balance, nonce) is the ordinary BCR account.
import { concatBytes, keccak256 } from '../primitives/index.js';
import type { StateDb } from './stateDb.js';

export const CONTRACT_PREFIX = 0x0d;
const CODE = 0x00;
const STORAGE = 0x01;

/** keccak256 of empty code: what EXTCODEHASH answers for an account without code. */
export const EMPTY_CODE_HASH = keccak256(new Uint8Array(0));

export const codeKey = (address: Uint8Array): Uint8Array => concatBytes(new Uint8Array([CONTRACT_PREFIX, CODE]), address);

/** One storage slot: prefix, 20-byte address, 32-byte slot. */
export function storageKey(address: Uint8Array, slot: Uint8Array): Uint8Array {
  if (slot.length !== 32) throw new RangeError('a storage slot is 32 bytes');
  return concatBytes(new Uint8Array([CONTRACT_PREFIX, STORAGE]), address, slot);
}

export interface ContractCode {
  code: Uint8Array;
  hash: Uint8Array;
}

/** Decoded once per block per contract: the hash is what the EVM asks for on every account read. */
export function decodeCode(bytes: Uint8Array | undefined): ContractCode {
  return bytes && bytes.length > 0 ? { code: bytes, hash: keccak256(bytes) } : { code: new Uint8Array(0), hash: EMPTY_CODE_HASH };
}

const encodeCode = (value: ContractCode): Uint8Array => value.code;

export async function getCode(state: StateDb, address: Uint8Array): Promise<ContractCode> {
  return state.getTyped(codeKey(address), decodeCode);
}

export async function putCode(state: StateDb, address: Uint8Array, code: Uint8Array): Promise<void> {
  await state.setTyped(codeKey(address), code.length === 0 ? null : { code, hash: keccak256(code) }, encodeCode, decodeCode);
}

/** Drops leading zero bytes: slots hold the minimal big-endian form, and zero deletes the key. */
export function trimLeadingZeros(value: Uint8Array): Uint8Array {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  return value.subarray(i);
}

/** A slot's value, minimal big-endian (empty for zero). */
export async function getStorage(state: StateDb, address: Uint8Array, slot: Uint8Array): Promise<Uint8Array> {
  return (await state.get(storageKey(address, slot))) ?? new Uint8Array(0);
}

export async function putStorage(state: StateDb, address: Uint8Array, slot: Uint8Array, value: Uint8Array): Promise<void> {
  const trimmed = trimLeadingZeros(value);
  await state.set(storageKey(address, slot), trimmed.length === 0 ? null : trimmed.slice());
}
