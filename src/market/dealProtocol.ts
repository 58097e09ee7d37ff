// The storage deal protocols between a client and a provider (docs/protocol.md §13.7), over direct
// libp2p streams namespaced like the chain's other protocols:
//   deal-ask: the provider's current signed ask (the same envelope it gossips), straight from it
//   deal-propose: the client's signed proposal -> accept (with the bytes already received) or a refusal code
//   deal-transfer: the piece's bytes from an offset the provider names, then the provider's verdict
//   deal-status: what became of a proposal (accepted, receiving, published, sealing, active, failed and why)
// Every message is one length-prefixed frame; piece bytes go in frames of at most TRANSFER_CHUNK_BYTES,
// at most TRANSFER_WINDOW_BYTES ahead of what the provider acknowledged having written.
import { protocolPrefix } from '../p2p/protocols.js';
import { bytes, encode, sha256, str, struct, uint, varBytes, type Infer } from '../primitives/index.js';
import { dealProposalCodec, type DealProposal } from '../state/index.js';
import { MAX_ORDER_BYTES, type StorageAsk } from './orders.js';

export function dealProtocols(network: string, genesisId: Uint8Array) {
  const prefix = protocolPrefix(network, genesisId);
  return { ask: `${prefix}/deal-ask/1`, propose: `${prefix}/deal-propose/1`, transfer: `${prefix}/deal-transfer/1`, status: `${prefix}/deal-status/1` };
}
export type DealProtocols = ReturnType<typeof dealProtocols>;

/** Piece bytes per transfer frame. */
export const TRANSFER_CHUNK_BYTES = 256 * 1024;
const GIB = 1n << 30n;
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

/** The answer to an ask query: OK with the signed ask envelope, or NO_ASK. */
export const askReplyCodec = struct({ code: str(32), ask: varBytes(MAX_ORDER_BYTES) });

export const proposeRequestCodec = struct({
  /** The chain the client signed for (the signature's domain covers it too). */
  chainId: uint(),
  proposal: dealProposalCodec,
  clientSignature: bytes(65),
  /** The client's data length: the piece is these bytes and zeros up to pieceBytes. */
  dataBytes: uint(),
});
export type ProposeRequest = Infer<typeof proposeRequestCodec>;

/** `code` is ACCEPTED or a refusal code; `received` is what the provider already holds of the piece. */
export const proposeResponseCodec = struct({ code: str(32), message: str(512), received: uint() });
export type ProposeResponse = Infer<typeof proposeResponseCodec>;

export const transferRequestCodec = struct({ proposalId: bytes(32) });
/** The provider's answer to a transfer request: send from `offset` (code OK), or why not. */
export const transferStartCodec = struct({ code: str(32), message: str(512), offset: uint() });
/**
 * The provider's replies during a transfer: RECEIVED (how many bytes are on its disk, after each
 * frame: the client keeps at most TRANSFER_WINDOW_BYTES unacknowledged, so a slow disk slows the
 * sender instead of filling the stream's buffers), then after the last byte OK (the piece matches its
 * commitment and is on its way on chain) or why not.
 */
export const transferReplyCodec = struct({ code: str(32), message: str(512), received: uint() });
export const TRANSFER_RECEIVED = 'RECEIVED';

export const dealStatusRequestCodec = struct({ proposalId: bytes(32) });
/**
 * The provider's account of a proposal: `code` OK (then `stage`: accepted, receiving, published,
 * failed, or the sealing stage of its sector) or UNKNOWN_PROPOSAL / RATE_LIMITED; `error` says why a
 * failed deal failed, in the provider's words (a code first).
 */
export const dealStatusReplyCodec = struct({ code: str(32), stage: str(32), error: str(512) });
export type DealStatusReply = Infer<typeof dealStatusReplyCodec>;
/** Bytes a client may send beyond the provider's last RECEIVED. */
export const TRANSFER_WINDOW_BYTES = 1024 * 1024;

/**
 * Why a provider refuses a proposal or a transfer. Nothing is charged or kept for a refused one;
 * a client may retry with a changed proposal.
 */
export const DealRefusal = {
  malformed: 'MALFORMED',
  wrongChain: 'WRONG_CHAIN',
  notAMiner: 'NOT_A_MINER',
  wrongProvider: 'WRONG_PROVIDER',
  badClientSignature: 'BAD_CLIENT_SIGNATURE',
  badPieceSize: 'BAD_PIECE_SIZE',
  noAsk: 'NO_ASK',
  pieceTooSmall: 'PIECE_TOO_SMALL',
  pieceTooLarge: 'PIECE_TOO_LARGE',
  priceBelowAsk: 'PRICE_BELOW_ASK',
  collateralAboveAsk: 'COLLATERAL_ABOVE_ASK',
  startPassed: 'START_PASSED',
  startTooSoon: 'START_TOO_SOON',
  startTooLate: 'START_TOO_LATE',
  badDuration: 'BAD_DURATION',
  nonceUsed: 'NONCE_USED',
  escrowTooLow: 'ESCROW_TOO_LOW',
  providerFundsLow: 'PROVIDER_FUNDS_LOW',
  noSpace: 'NO_SPACE',
  busy: 'BUSY',
  clientBusy: 'CLIENT_BUSY',
  peerBusy: 'PEER_BUSY',
  displaced: 'DISPLACED',
  transferTooSlow: 'TRANSFER_TOO_SLOW',
  emptyChunk: 'EMPTY_CHUNK',
  rateLimited: 'RATE_LIMITED',
  unknownProposal: 'UNKNOWN_PROPOSAL',
  pieceMismatch: 'PIECE_MISMATCH',
  tooMuchData: 'TOO_MUCH_DATA',
  failed: 'FAILED',
} as const;
export type DealRefusalCode = (typeof DealRefusal)[keyof typeof DealRefusal];
export const ACCEPTED = 'ACCEPTED';
export const TRANSFER_OK = 'OK';

/** A proposal's id: the hash of its canonical encoding (the client and nonce are in it). */
export function proposalId(proposal: DealProposal): Uint8Array {
  return sha256(encode(dealProposalCodec, proposal));
}

/** The least price per slot a miner's ask accepts for a piece: its per-GiB price, pro rata, rounded up. */
export function askPricePerSlot(ask: Pick<StorageAsk, 'pricePerGiBSlot'>, pieceBytes: number): bigint {
  return ceilDiv(ask.pricePerGiBSlot * BigInt(pieceBytes), GIB);
}

/** The most provider collateral a miner's ask puts up for a piece: per GiB, pro rata, rounded up. */
export function askCollateral(ask: Pick<StorageAsk, 'collateralPerGiB'>, pieceBytes: number): bigint {
  return ceilDiv(ask.collateralPerGiB * BigInt(pieceBytes), GIB);
}

/** The piece size for `dataBytes` of client data: the next power of two, at least `minimum`. */
export function pieceSizeFor(dataBytes: number, minimum = 128): number {
  let size = Math.max(128, minimum);
  while (size < dataBytes) size *= 2;
  return size;
}

export interface PiecePlan {
  index: number;
  offset: number;
  length: number;
  pieceBytes: number;
}

/** Cuts `size` bytes into pieces of at most `maxPieceBytes` (a power of two), each padded to a power of two of at least `minPieceBytes`. */
export function planPieces(size: number, maxPieceBytes: number, minPieceBytes: number): PiecePlan[] {
  if (size <= 0) throw new RangeError('no data to cut into pieces');
  const plans: PiecePlan[] = [];
  for (let offset = 0; offset < size; offset += maxPieceBytes) {
    const length = Math.min(maxPieceBytes, size - offset);
    plans.push({ index: plans.length, offset, length, pieceBytes: pieceSizeFor(length, minPieceBytes) });
  }
  return plans;
}
