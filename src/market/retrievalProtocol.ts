// The retrieval protocols (docs/protocol.md §13.8), direct libp2p streams namespaced like the others:
//   retrieval-ask: the provider's price per byte, the address its payment channels must pay, and its
//                  payment terms (the least settle delay it accepts, its payment interval)
//   retrieval: a byte range of a piece, served in verified chunks, paid by cumulative vouchers that
//              the client signs from its own ledger; the provider serves at most one payment interval
//              beyond what a payer's vouchers cover, counted per payer across requests and restarts
// Frames are length-prefixed; each starts with a one-byte kind.
import { protocolPrefix } from '../p2p/protocols.js';
import { amount, bytes, list, str, struct, uint, varBytes, type Infer } from '../primitives/index.js';
import { voucherCodec } from '../state/index.js';

export function retrievalProtocols(network: string, genesisId: Uint8Array) {
  const prefix = protocolPrefix(network, genesisId);
  return { ask: `${prefix}/retrieval-ask/2`, retrieve: `${prefix}/retrieval/2` };
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
