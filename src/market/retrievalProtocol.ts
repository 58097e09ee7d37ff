// The retrieval protocols (docs/protocol.md §13.8), direct libp2p streams namespaced like the others:
//   retrieval-ask: the provider's price per byte and the address its payment channels must pay
//   retrieval: a byte range of a piece, served in verified chunks, paid by cumulative vouchers
// Frames are length-prefixed; each starts with a one-byte kind.
import { protocolPrefix } from '../p2p/protocols.js';
import { amount, bytes, list, str, struct, uint, varBytes, type Infer } from '../primitives/index.js';
import { voucherCodec } from '../state/index.js';

export function retrievalProtocols(network: string, genesisId: Uint8Array) {
  const prefix = protocolPrefix(network, genesisId);
  return { ask: `${prefix}/retrieval-ask/1`, retrieve: `${prefix}/retrieval/1` };
}
export type RetrievalProtocols = ReturnType<typeof retrievalProtocols>;

/** Bytes per verified chunk (a piece smaller than this is one chunk). */
export const RETRIEVAL_CHUNK_BYTES = 256 * 1024;
/** Bytes a provider serves beyond what vouchers have paid for before it waits for one. */
export const RETRIEVAL_CREDIT_BYTES = 1024 * 1024;

export const retrievalAskCodec = struct({ pricePerByte: amount(), payee: bytes(20) });
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
 * The provider's first answer: the piece's size and chunk size, and for a paid retrieval what its
 * vouchers on the channel already pay (`paidBefore`) and their last nonce, so the client's next
 * cumulative voucher starts from there.
 */
export const retrievalStartCodec = struct({ pieceBytes: uint(), chunkBytes: uint(), firstChunk: uint(), chunks: uint(), paidBefore: amount(), lastNonce: uint() });
export const retrievalChunkCodec = struct({ index: uint(), data: varBytes(RETRIEVAL_CHUNK_BYTES), proof: list(bytes(32), 48) });
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
  fundsLow: 'CHANNEL_FUNDS_LOW',
  badVoucher: 'BAD_VOUCHER',
  paymentShort: 'PAYMENT_SHORT',
  busy: 'BUSY',
  rateLimited: 'RATE_LIMITED',
} as const;
