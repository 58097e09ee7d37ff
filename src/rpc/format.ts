// JSON shapes of chain objects for RPC: numbers stay numbers where they fit, amounts are decimal
// strings of atto, bytes are 0x-hex, addresses are EIP-55.
import type { Block, BlockHeader } from '../chain/index.js';
import { fromHex, toChecksumAddress, toHex } from '../primitives/index.js';
import { revertReason, type Receipt, type StateProof, type VerifiedTx } from '../state/index.js';

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

/** A decoded payload as JSON: amounts as decimal strings, 20-byte values as EIP-55 addresses, other bytes as hex. */
export function payloadJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return value.length === 20 ? toChecksumAddress(value) : toHex(value);
  if (Array.isArray(value)) return value.map(payloadJson);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, payloadJson(v)]));
  return value;
}

export function formatTx(tx: VerifiedTx) {
  return {
    id: toHex(tx.id),
    from: toChecksumAddress(tx.sender),
    nonce: tx.body.nonce,
    gasLimit: tx.body.gasLimit,
    gasPrice: tx.body.gasPrice.toString(),
    kind: tx.kind.name,
    /** The payload decoded by its kind's codec (what the raw `payload` says). */
    args: payloadJson(tx.payload),
    payload: toHex(tx.body.payload),
    raw: toHex(tx.bytes),
  };
}

export function formatBlock(id: Uint8Array, block: Block, txs: VerifiedTx[] | null) {
  // What proves the block: its election (VRF) and its WinningPoSt; with txs, the proofs they carry.
  const proofs: Record<string, number> = { vrfProofBytes: block.header.vrfProof.length, winningPostBytes: block.header.winningPost.length };
  for (const tx of txs ?? []) if (/post|commit/i.test(tx.kind.name)) proofs[tx.kind.name] = (proofs[tx.kind.name] ?? 0) + 1;
  return { ...formatHeader(id, block.header), txCount: block.txs.length, proofs, txs: txs ? txs.map(formatTx) : undefined };
}

export function formatReceipt(receipt: Receipt) {
  const evm = receipt.evm;
  return {
    status: receipt.status === 0 ? 'ok' : 'failed',
    gasUsed: receipt.gasUsed,
    fee: receipt.fee.toString(),
    error: receipt.error || null,
    ...(evm
      ? {
          logs: evm.logs.map((log) => ({ address: toChecksumAddress(log.address), topics: log.topics.map(toHex), data: toHex(log.data) })),
          contractAddress: evm.contractAddress ? toChecksumAddress(evm.contractAddress) : null,
          revertData: evm.revertData.length > 0 ? toHex(evm.revertData) : null,
          revertReason: revertReason(evm.revertData),
        }
      : {}),
  };
}

/** A state proof as JSON: the key, its value (null: absent), the sibling path and the terminal leaf. */
export function stateProofJson(p: StateProof) {
  return {
    stateKey: toHex(p.stateKey),
    value: p.value ? toHex(p.value) : null,
    siblings: p.proof.siblings.map(toHex),
    terminal: p.proof.terminal ? { key: toHex(p.proof.terminal.key), valueHash: toHex(p.proof.terminal.valueHash) } : null,
  };
}

export type StateProofJson = ReturnType<typeof stateProofJson>;

/** The inverse of stateProofJson, for clients that check proofs themselves. */
export function stateProofFromJson(json: StateProofJson): StateProof {
  return {
    stateKey: fromHex(json.stateKey),
    value: json.value === null ? null : fromHex(json.value),
    proof: { siblings: json.siblings.map(fromHex), terminal: json.terminal ? { key: fromHex(json.terminal.key), valueHash: fromHex(json.terminal.valueHash) } : null },
  };
}
