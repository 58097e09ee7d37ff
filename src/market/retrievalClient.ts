// The client's side of retrieval: ask a provider's price, fetch a byte range of a piece chunk by
// chunk, checking each chunk's Merkle path to the piece commitment as it arrives (a bad chunk ends
// the retrieval at once, naming the chunk), and pay with a cumulative voucher after every chunk.
import type { Libp2p } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { concatBytes, decode, encode } from '../primitives/index.js';
import { chunkSizeFor, verifyChunk } from '../proofs/index.js';
import { signVoucher } from '../state/index.js';
import type { ProviderAddress } from './dealClient.js';
import type { ChannelFloor, VoucherLedger } from './voucherLedger.js';
import {
  RETRIEVAL_CHUNK_BYTES,
  RetrievalFrame,
  decodeChunkFrame,
  retrievalAskCodec,
  retrievalErrorCodec,
  retrievalRequestCodec,
  retrievalStartCodec,
  signedVoucherCodec,
  type RetrievalAsk,
  type RetrievalProtocols,
} from './retrievalProtocol.js';

const TIMEOUT_MS = 30_000;

export class RetrievalError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The chunk that failed verification, for BAD_CHUNK. */
    readonly chunk?: number,
  ) {
    super(`${code}: ${message}`);
    this.name = 'RetrievalError';
  }
}

export async function queryRetrievalAsk(host: Libp2p, provider: ProviderAddress, protocols: RetrievalProtocols): Promise<RetrievalAsk> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const stream = await host.dialProtocol(provider, protocols.ask, { signal });
  const lp = lpStream(stream, { maxDataLength: 1024 });
  try {
    const raw = (await lp.read({ signal })).subarray();
    if (raw[0] === RetrievalFrame.error) {
      const error = decode(retrievalErrorCodec, raw.subarray(1), 'retrieval ask error');
      throw new RetrievalError(error.code, error.message);
    }
    return decode(retrievalAskCodec, raw.subarray(1), 'retrieval ask');
  } finally {
    await stream.close().catch(() => undefined);
  }
}

export interface RetrieveRequest {
  pieceCommitment: Uint8Array;
  offset: number;
  length: number;
  pricePerByte: bigint;
  /**
   * For a paid retrieval: the channel, the payer's key, the payer's ledger of what it signed (vouchers
   * are signed from it, never from the provider's word) and the channel's redeemed state on chain.
   */
  payment?: { channel: number; payerKey: Uint8Array; chainId: number; ledger: VoucherLedger; floor: ChannelFloor };
}

export interface RetrievedRange {
  /** The covering chunks' bytes (from `firstChunk * chunkBytes`). */
  data: Uint8Array;
  firstChunk: number;
  chunkBytes: number;
  pieceBytes: number;
  /** What this retrieval's vouchers paid (price x bytes received and verified). */
  paid: bigint;
}

/** Why the provider's announced answer does not fit the request (null: it fits). */
export function startProblem(start: { pieceBytes: number; chunkBytes: number; firstChunk: number; chunks: number }, request: Pick<RetrieveRequest, 'offset' | 'length'>): string | null {
  const { pieceBytes, chunkBytes, firstChunk, chunks } = start;
  if (pieceBytes < 1 || (pieceBytes & (pieceBytes - 1)) !== 0) return `piece size ${pieceBytes} is not a power of two`;
  if (chunkBytes !== chunkSizeFor(pieceBytes, RETRIEVAL_CHUNK_BYTES)) return `chunk size ${chunkBytes} is not the protocol's for a ${pieceBytes}-byte piece`;
  if (request.offset >= pieceBytes) return `offset ${request.offset} is past the ${pieceBytes}-byte piece`;
  const end = Math.min(pieceBytes, request.offset + request.length);
  const wantFirst = Math.floor(request.offset / chunkBytes);
  const wantChunks = Math.ceil(end / chunkBytes) - wantFirst;
  if (firstChunk !== wantFirst || chunks !== wantChunks) return `chunks ${firstChunk}+${chunks} do not cover bytes ${request.offset}..${end} (chunks ${wantFirst}+${wantChunks})`;
  return null;
}

export async function retrieveRange(host: Libp2p, provider: ProviderAddress, protocols: RetrievalProtocols, request: RetrieveRequest, onChunk?: (done: number, of: number, bytes: number) => void): Promise<RetrievedRange> {
  const stream = await host.dialProtocol(provider, protocols.retrieve, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const lp = lpStream(stream, { maxDataLength: RETRIEVAL_CHUNK_BYTES + 4096 });
  try {
    await lp.write(concatBytes(new Uint8Array([RetrievalFrame.start]), encode(retrievalRequestCodec, { pieceCommitment: request.pieceCommitment, offset: request.offset, length: request.length, channel: request.payment?.channel ?? 0, pricePerByte: request.pricePerByte })));
    const read = async () => {
      const raw = (await lp.read({ signal: AbortSignal.timeout(TIMEOUT_MS) })).subarray();
      if (raw[0] === RetrievalFrame.error) {
        const error = decode(retrievalErrorCodec, raw.subarray(1), 'retrieval error');
        throw new RetrievalError(error.code, error.message);
      }
      return raw;
    };
    const first = await read();
    if (first[0] !== RetrievalFrame.start) throw new RetrievalError('PROTOCOL', 'expected the start of the answer');
    const start = decode(retrievalStartCodec, first.subarray(1), 'retrieval start');
    // The provider may serve (and be paid for) only the chunks that cover the range asked for.
    const problem = startProblem(start, request);
    if (problem) throw new RetrievalError('PROTOCOL', problem);
    const chunks: Uint8Array[] = [];
    let paid = 0n;
    for (let i = 0; i < start.chunks; i++) {
      const raw = await read();
      if (raw[0] !== RetrievalFrame.chunk) throw new RetrievalError('PROTOCOL', `expected chunk ${i + 1} of ${start.chunks}`);
      const chunk = decodeChunkFrame(raw);
      const index = start.firstChunk + i;
      if (chunk.index !== index || !verifyChunk(request.pieceCommitment, start.pieceBytes, start.chunkBytes, index, chunk.data, chunk.proof)) {
        throw new RetrievalError('BAD_CHUNK', `chunk ${index} does not prove against the piece commitment`, index);
      }
      chunks.push(chunk.data);
      onChunk?.(i + 1, start.chunks, chunk.data.length);
      if (request.payment && request.pricePerByte > 0n) {
        // Pays for this verified chunk only: the ledger adds it to what this payer signed before.
        const price = request.pricePerByte * BigInt(chunk.data.length);
        const voucher = await request.payment.ledger.next(request.payment.channel, price, request.payment.floor);
        paid += price;
        await lp.write(concatBytes(new Uint8Array([RetrievalFrame.voucher]), encode(signedVoucherCodec, { voucher, signature: signVoucher(request.payment.payerKey, request.payment.chainId, voucher) })));
      }
    }
    const end = await read();
    if (end[0] !== RetrievalFrame.done) throw new RetrievalError('PROTOCOL', 'expected the end of the answer');
    return { data: concatBytes(...chunks), firstChunk: start.firstChunk, chunkBytes: start.chunkBytes, pieceBytes: start.pieceBytes, paid };
  } finally {
    await stream.close().catch(() => undefined);
  }
}
