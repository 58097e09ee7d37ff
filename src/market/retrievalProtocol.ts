// The retrieval protocols (docs/protocol.md §13.8), direct libp2p streams namespaced like the others:
//   retrieval-ask: the provider's price per byte, the address its payment channels must pay, and its
//                  payment terms (the least settle delay it accepts, its payment interval)
//   retrieval: a byte range of a piece, served in verified chunks, paid by cumulative vouchers that
//              the client signs from its own ledger; the provider serves at most one payment interval
//              beyond what a payer's vouchers cover, counted per payer across requests and restarts
// Frames are length-prefixed; each starts with a one-byte kind. Chunk frames, the bulk of the bytes,
// have a fixed binary layout (no msgpack) so that neither side copies a chunk to frame or unframe it.
import { protocolPrefix } from '../p2p/protocols.js';
import { Uint8ArrayList } from 'uint8arraylist';
import { CodecError, amount, bytes, str, struct, uint, type Infer } from '../primitives/index.js';
import { voucherCodec } from '../state/index.js';

export function retrievalProtocols(network: string, genesisId: Uint8Array) {
  const prefix = protocolPrefix(network, genesisId);
  return { ask: `${prefix}/retrieval-ask/2`, retrieve: `${prefix}/retrieval/3` };
}
export type RetrievalProtocols = ReturnType<typeof retrievalProtocols>;

/** Bytes per verified chunk (a piece smaller than this is one chunk). */
export const RETRIEVAL_CHUNK_BYTES = 256 * 1024;
/** Default payment interval: bytes a provider serves a payer beyond what its vouchers pay for. */
export const RETRIEVAL_CREDIT_BYTES = 1024 * 1024;

export const retrievalAskCodec = struct({
  pricePerByte: amount(),
  payee: bytes(20),
  /** The shortest settle delay (slots) of a channel this provider serves on: it needs the time to redeem. */
  minSettleDelay: uint(),
  /** Bytes served to a payer beyond what its vouchers pay (at least one chunk). */
  paymentIntervalBytes: uint(),
});
export type RetrievalAsk = Infer<typeof retrievalAskCodec>;

export const retrievalRequestCodec = struct({
  pieceCommitment: bytes(32),
  /** Byte range; served as the chunks that cover it. */
  offset: uint(),
  length: uint(),
  /** 0 for free retrieval. */
  channel: uint(),
  pricePerByte: amount(),
});
export type RetrievalRequest = Infer<typeof retrievalRequestCodec>;

/**
 * The provider's first answer: the piece's size and chunk size and the chunks it will send. Nothing
 * about payment: the client pays from its own ledger, for what it received.
 */
export const retrievalStartCodec = struct({ pieceBytes: uint(), chunkBytes: uint(), firstChunk: uint(), chunks: uint() });
/** A Merkle path is at most this long (a piece of 2^53 bytes in 32-byte leaves needs 48). */
export const MAX_PROOF_HASHES = 48;

export interface RetrievalChunk {
  index: number;
  data: Uint8Array;
  proof: Uint8Array[];
}

/**
 * A chunk frame: kind (1 byte) | chunk index (u32, big-endian) | proof length n (1 byte) | n x 32-byte
 * proof hashes | the chunk's bytes (the rest, 1 to RETRIEVAL_CHUNK_BYTES). Returned as parts, so
 * the chunk goes out as it was read.
 */
export function encodeChunkFrame(chunk: RetrievalChunk): Uint8ArrayList {
  if (!Number.isInteger(chunk.index) || chunk.index < 0 || chunk.index > 0xffff_ffff) throw new RangeError(`chunk index ${chunk.index} is out of range`);
  if (chunk.proof.length > MAX_PROOF_HASHES) throw new RangeError(`a proof of ${chunk.proof.length} hashes is too long`);
  if (chunk.data.length === 0 || chunk.data.length > RETRIEVAL_CHUNK_BYTES) throw new RangeError(`a chunk of ${chunk.data.length} bytes`);
  const head = new Uint8Array(6 + 32 * chunk.proof.length);
  head[0] = RetrievalFrame.chunk;
  new DataView(head.buffer).setUint32(1, chunk.index);
  head[5] = chunk.proof.length;
  chunk.proof.forEach((hash, i) => {
    if (hash.length !== 32) throw new RangeError('a proof hash is 32 bytes');
    head.set(hash, 6 + 32 * i);
  });
  return new Uint8ArrayList(head, chunk.data);
}

/** A chunk frame's fields (views into `frame`, not copies); throws with the reason when malformed. */
export function decodeChunkFrame(frame: Uint8Array): RetrievalChunk {
  if (frame.length < 6 || frame[0] !== RetrievalFrame.chunk) throw new CodecError('not a chunk frame', 'retrieval chunk');
  const count = frame[5]!;
  if (count > MAX_PROOF_HASHES) throw new CodecError(`a proof of ${count} hashes is too long`, 'retrieval chunk');
  const dataAt = 6 + 32 * count;
  const dataLength = frame.length - dataAt;
  if (dataLength < 1 || dataLength > RETRIEVAL_CHUNK_BYTES) throw new CodecError(`a chunk of ${dataLength} bytes (1 to ${RETRIEVAL_CHUNK_BYTES})`, 'retrieval chunk');
  const proof: Uint8Array[] = [];
  for (let i = 0; i < count; i++) proof.push(frame.subarray(6 + 32 * i, 38 + 32 * i));
  return { index: new DataView(frame.buffer, frame.byteOffset, frame.length).getUint32(1), data: frame.subarray(dataAt), proof };
}
export const retrievalErrorCodec = struct({ code: str(32), message: str(512) });
export const signedVoucherCodec = struct({ voucher: voucherCodec, signature: bytes(65) });

/** First byte of every retrieval frame. */
export const RetrievalFrame = { start: 1, chunk: 2, done: 3, error: 4, voucher: 5 } as const;

export const RetrievalRefusal = {
  malformed: 'MALFORMED',
  notFound: 'PIECE_NOT_FOUND',
  badRange: 'BAD_RANGE',
  priceBelowAsk: 'PRICE_BELOW_ASK',
  noSuchChannel: 'NO_SUCH_CHANNEL',
  wrongPayee: 'WRONG_PAYEE',
  channelSettled: 'CHANNEL_SETTLED',
  settleDelayShort: 'SETTLE_DELAY_TOO_SHORT',
  paymentOverdue: 'PAYMENT_OVERDUE',
  /** A paid gateway request carried no voucher. */
  paymentRequired: 'PAYMENT_REQUIRED',
  /** A paid gateway request carried a voucher used before. */
  voucherReplayed: 'VOUCHER_REPLAYED',
  fundsLow: 'CHANNEL_FUNDS_LOW',
  badVoucher: 'BAD_VOUCHER',
  paymentShort: 'PAYMENT_SHORT',
  busy: 'BUSY',
  rateLimited: 'RATE_LIMITED',
} as const;
