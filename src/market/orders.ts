// Market orders that travel by gossip (docs/protocol.md §7): storage asks (a miner's price and terms),
// storage orders (a client's piece to store) and retrieval orders (a client's piece to fetch). Each
// is a canonical body signed under its own domain tag; the signer is recovered, never claimed.
import { Domain, amount, bytes, decode, encode, recoverSigner, sha256, sign, struct, uint, varBytes, type DomainTag, type Field, type Infer } from '../primitives/index.js';

/** Largest gossiped order, envelope included. */
export const MAX_ORDER_BYTES = 2048;
/** Smallest piece (a Merkle leaf pair) and the largest any order may name (64 GiB). */
export const MIN_PIECE_BYTES = 128;
export const MAX_PIECE_BYTES = 64 * 1024 ** 3;

export const storageAskCodec = struct({
  miner: uint(),
  /** attoBCR per GiB per slot. */
  pricePerGiBSlot: amount(),
  minPieceBytes: uint(),
  maxPieceBytes: uint(),
  /** Provider collateral per GiB the miner puts up per deal. */
  collateralPerGiB: amount(),
  expirySlot: uint(),
  /** A newer ask from the same miner (higher seq) replaces the older one. */
  seq: uint(),
});
export type StorageAsk = Infer<typeof storageAskCodec>;

export const storageOrderCodec = struct({
  pieceCommitment: bytes(32),
  pieceBytes: uint(),
  durationSlots: uint(),
  maxPricePerGiBSlot: amount(),
  replicas: uint(16),
  expirySlot: uint(),
  nonce: uint(),
});
export type StorageOrder = Infer<typeof storageOrderCodec>;

export const retrievalOrderCodec = struct({
  pieceCommitment: bytes(32),
  /** attoBCR per byte served. */
  maxPricePerByte: amount(),
  expirySlot: uint(),
  nonce: uint(),
});
export type RetrievalOrder = Infer<typeof retrievalOrderCodec>;

export interface OrderKinds {
  storageAsk: StorageAsk;
  storageOrder: StorageOrder;
  retrievalOrder: RetrievalOrder;
}
export type OrderKind = keyof OrderKinds;

export const ORDER_CODECS: { [K in OrderKind]: Field<OrderKinds[K]> } = {
  storageAsk: storageAskCodec,
  storageOrder: storageOrderCodec,
  retrievalOrder: retrievalOrderCodec,
};

const DOMAINS: Record<OrderKind, DomainTag> = { storageAsk: Domain.storageAsk, storageOrder: Domain.storageOrder, retrievalOrder: Domain.retrievalOrder };

const envelopeCodec = struct({ body: varBytes(MAX_ORDER_BYTES), signature: bytes(65) });

export interface SignedOrder<K extends OrderKind = OrderKind> {
  kind: K;
  order: OrderKinds[K];
  signer: Uint8Array;
  /** sha256 of the envelope bytes. */
  id: Uint8Array;
  bytes: Uint8Array;
}

export function signOrder<K extends OrderKind>(kind: K, order: OrderKinds[K], privateKey: Uint8Array, chainId: number): Uint8Array {
  const body = encode(ORDER_CODECS[kind], order);
  return encode(envelopeCodec, { body, signature: sign(privateKey, DOMAINS[kind], chainId, body) });
}

/** Decodes the envelope and body (canonical encodings only) and recovers the signer; throws CodecError or BcrError. */
export function openOrder<K extends OrderKind>(kind: K, data: Uint8Array, chainId: number): SignedOrder<K> {
  const envelope = decode(envelopeCodec, data, `${kind} envelope`, MAX_ORDER_BYTES);
  const order = decode(ORDER_CODECS[kind], envelope.body, kind);
  const signer = recoverSigner(DOMAINS[kind], chainId, envelope.body, envelope.signature);
  return { kind, order, signer, id: sha256(data), bytes: data };
}
