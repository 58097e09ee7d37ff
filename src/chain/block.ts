// Blocks: the header (src/consensus/header.ts) and the txs, ids and roots.
import { decode, encode, list, listRoot, sha256, struct, varBytes, type Infer } from '../primitives/index.js';
import { headerCodec, headerId, type BlockHeader } from '../consensus/index.js';
import { encodeReceipt, type Receipt } from '../state/index.js';

export { decodeHeader, encodeHeader, headerCodec, headerSigner, signHeader, unsignedHeaderCodec, type BlockHeader, type UnsignedHeader } from '../consensus/index.js';

export const MAX_BLOCK_TXS = 10_000;
const MAX_TX_BYTES_WIRE = 8 * 1024 * 1024 + 1024;

export const blockCodec = struct({ header: headerCodec, txs: list(varBytes(MAX_TX_BYTES_WIRE), MAX_BLOCK_TXS) });
export type Block = Infer<typeof blockCodec>;

export const ZERO_ID = new Uint8Array(32);

export function blockId(header: BlockHeader): Uint8Array {
  return headerId(header);
}

export function encodeBlock(block: Block): Uint8Array {
  return encode(blockCodec, block);
}

export function decodeBlock(data: Uint8Array, maxBytes?: number): Block {
  return decode(blockCodec, data, 'block', maxBytes);
}

export function txRootOf(txIds: Uint8Array[]): Uint8Array {
  return listRoot(txIds);
}

export function receiptsRootOf(receipts: Receipt[]): Uint8Array {
  return listRoot(receipts.map((r) => sha256(encodeReceipt(r))));
}
