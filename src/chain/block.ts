// Block header and block codecs (PROTOCOL section 4), ids, roots and the producer's signature.
import {
  Domain,
  bytes,
  bytesEqual,
  decode,
  encode,
  list,
  listRoot,
  recoverSigner,
  sha256,
  sign,
  struct,
  uint,
  varBytes,
  type Infer,
} from '../primitives/index.js';
import { encodeReceipt, type Receipt } from '../state/index.js';

export const MAX_BLOCK_TXS = 10_000;
const MAX_TX_BYTES_WIRE = 128 * 1024;

const unsignedHeaderShape = {
  parentId: bytes(32),
  height: uint(),
  slot: uint(),
  /** Unix ms when the producer made the block; inside the block's slot. */
  timestamp: uint(),
  /** Address that signed the block and receives its fees and issuance. */
  producer: bytes(20),
  /** Election proof (VRF proof / authority proof), checked by the consensus rule. */
  vrfProof: varBytes(512),
  vrfOutput: bytes(32),
  /** WinningPoSt over the producer's sectors; empty until miners prove storage. */
  winningPost: varBytes(64 * 1024),
  txRoot: bytes(32),
  receiptsRoot: bytes(32),
  stateRoot: bytes(32),
};
export const unsignedHeaderCodec = struct(unsignedHeaderShape);
export const headerCodec = struct({ ...unsignedHeaderShape, signature: bytes(65) });
export const blockCodec = struct({ header: headerCodec, txs: list(varBytes(MAX_TX_BYTES_WIRE), MAX_BLOCK_TXS) });

export type UnsignedHeader = Infer<typeof unsignedHeaderCodec>;
export type BlockHeader = Infer<typeof headerCodec>;
export type Block = Infer<typeof blockCodec>;

export const ZERO_ID = new Uint8Array(32);

export function encodeHeader(header: BlockHeader): Uint8Array {
  return encode(headerCodec, header);
}

export function blockId(header: BlockHeader): Uint8Array {
  return sha256(encodeHeader(header));
}

export function encodeBlock(block: Block): Uint8Array {
  return encode(blockCodec, block);
}

export function decodeBlock(data: Uint8Array, maxBytes?: number): Block {
  return decode(blockCodec, data, 'block', maxBytes);
}

export function decodeHeader(data: Uint8Array): BlockHeader {
  return decode(headerCodec, data, 'header');
}

export function signHeader(privateKey: Uint8Array, chainId: number, header: UnsignedHeader): BlockHeader {
  const signature = sign(privateKey, Domain.blockHeader, chainId, encode(unsignedHeaderCodec, header));
  return { ...header, signature };
}

export function headerSigner(chainId: number, header: BlockHeader): Uint8Array {
  const { signature, ...unsigned } = header;
  return recoverSigner(Domain.blockHeader, chainId, encode(unsignedHeaderCodec, unsigned), signature);
}

export function txRootOf(txIds: Uint8Array[]): Uint8Array {
  return listRoot(txIds);
}

export function receiptsRootOf(receipts: Receipt[]): Uint8Array {
  return listRoot(receipts.map((r) => sha256(encodeReceipt(r))));
}

export function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}
