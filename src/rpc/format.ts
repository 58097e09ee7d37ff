// JSON shapes of chain objects for RPC: numbers stay numbers where they fit, amounts are decimal
// strings of atto, bytes are 0x-hex, addresses are EIP-55.
import type { Block, BlockHeader } from '../chain/index.js';
import { toChecksumAddress, toHex } from '../primitives/index.js';
import type { Receipt, VerifiedTx } from '../state/index.js';

export function formatHeader(id: Uint8Array, header: BlockHeader) {
  return {
    id: toHex(id),
    parentId: toHex(header.parentId),
    height: header.height,
    slot: header.slot,
    timestamp: header.timestamp,
    miner: header.miner,
    vrfOutput: toHex(header.vrfOutput),
    txRoot: toHex(header.txRoot),
    receiptsRoot: toHex(header.receiptsRoot),
    stateRoot: toHex(header.stateRoot),
  };
}

export function formatTx(tx: VerifiedTx) {
  return {
    id: toHex(tx.id),
    from: toChecksumAddress(tx.sender),
    nonce: tx.body.nonce,
    gasLimit: tx.body.gasLimit,
    gasPrice: tx.body.gasPrice.toString(),
    kind: tx.kind.name,
    payload: toHex(tx.body.payload),
    raw: toHex(tx.bytes),
  };
}

export function formatBlock(id: Uint8Array, block: Block, txs: VerifiedTx[] | null) {
  return { ...formatHeader(id, block.header), txCount: block.txs.length, txs: txs ? txs.map(formatTx) : undefined };
}

export function formatReceipt(receipt: Receipt) {
  return { status: receipt.status === 0 ? 'ok' : 'failed', gasUsed: receipt.gasUsed, fee: receipt.fee.toString(), error: receipt.error || null };
}
