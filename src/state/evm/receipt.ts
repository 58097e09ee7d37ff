// What an EVM tx adds to its receipt: its logs, the contract it created, and on failure the data it
// reverted with. Committed by the block's receipts root, like every receipt field.
import { bytes, bytesToBigint, hexKey, list, optional, struct, varBytes, type Infer } from '../../primitives/index.js';

/** LOG data costs 8 gas a byte: a 30M-gas block cannot hold more than 3.75 MB of it. */
const MAX_LOG_DATA = 4 * 1024 * 1024;
/** A LOG costs at least 375 gas. */
const MAX_LOGS = 100_000;
/** Enough for any revert reason a person reads; longer revert data is cut. */
export const MAX_REVERT_DATA = 1024;

export const evmLogCodec = struct({ address: bytes(20), topics: list(bytes(32), 4), data: varBytes(MAX_LOG_DATA) });
export type EvmLog = Infer<typeof evmLogCodec>;

export const evmReceiptCodec = struct({
  logs: list(evmLogCodec, MAX_LOGS),
  contractAddress: optional(bytes(20)),
  /** A failed call's return data (its revert reason), cut to MAX_REVERT_DATA; empty on success. */
  revertData: varBytes(MAX_REVERT_DATA),
});
export type EvmReceipt = Infer<typeof evmReceiptCodec>;

/** The text of a Solidity `Error(string)` revert, if that is what the data holds. */
export function revertReason(data: Uint8Array): string | null {
  if (data.length < 68 || hexKey(data.subarray(0, 4)) !== '08c379a0') return null;
  const length = Number(bytesToBigint(data.subarray(36, 68)));
  if (length > data.length - 68) return null;
  return new TextDecoder().decode(data.subarray(68, 68 + length));
}
