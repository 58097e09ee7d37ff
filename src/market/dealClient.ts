// The client's side of the deal protocols: send a signed proposal, then stream the piece from the
// offset the provider names, resuming after a dropped stream, and read the provider's verdict.
import type { Libp2p, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { lpStream } from '@libp2p/utils';
import { decode, encode, errorMessage } from '../primitives/index.js';
import {
  DealRefusal,
  TRANSFER_CHUNK_BYTES,
  TRANSFER_OK,
  proposalId,
  proposeRequestCodec,
  proposeResponseCodec,
  TRANSFER_RECEIVED,
  TRANSFER_WINDOW_BYTES,
  askReplyCodec,
  dealStatusReplyCodec,
  dealStatusRequestCodec,
  transferReplyCodec,
  transferRequestCodec,
  transferStartCodec,
  type DealProtocols,
  type DealStatusReply,
  type ProposeRequest,
  type ProposeResponse,
} from './dealProtocol.js';

const ANSWER_TIMEOUT_MS = 30_000;
/** The provider verifies the whole piece before its verdict: allow it time (a GiB hashes in seconds). */
const VERDICT_TIMEOUT_MS = 300_000;

/** Where a piece's bytes come from (a file, or memory). */
export interface PieceSource {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export type ProviderAddress = PeerId | Multiaddr | Multiaddr[];

export class DealClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'DealClientError';
  }
}

/** The provider's current signed ask envelope, straight from it (null: it has none). Check it with openOrder. */
export async function queryAsk(host: Libp2p, provider: ProviderAddress, protocols: DealProtocols): Promise<Uint8Array | null> {
  const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  const stream = await host.dialProtocol(provider, protocols.ask, { signal });
  const lp = lpStream(stream, { maxDataLength: 4096 });
  try {
    const reply = decode(askReplyCodec, (await lp.read({ signal })).subarray(), 'ask reply');
    if (reply.code === DealRefusal.noAsk) return null;
    if (reply.code !== TRANSFER_OK) throw new DealClientError(reply.code, 'the provider did not answer the ask query');
    return reply.ask;
  } finally {
    await stream.close().catch(() => undefined);
  }
}

export async function proposeDeal(host: Libp2p, provider: ProviderAddress, protocols: DealProtocols, request: ProposeRequest): Promise<ProposeResponse> {
  const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  const stream = await host.dialProtocol(provider, protocols.propose, { signal });
  const lp = lpStream(stream, { maxDataLength: 2048 });
  try {
    await lp.write(encode(proposeRequestCodec, request), { signal });
    return decode(proposeResponseCodec, (await lp.read({ signal })).subarray(), 'proposal answer');
  } finally {
    await stream.close().catch(() => undefined);
  }
}

/** Refusals that mean "not now": the intake is full for a moment. */
const TRY_AGAIN: ReadonlySet<string> = new Set([DealRefusal.busy, DealRefusal.rateLimited]);

/**
 * Proposes, and while the provider says its intake is full, asks again with growing pauses for up to
 * `maxWaitMs` (a provider frees a slot whose data is not flowing within seconds). Resolves with the
 * last answer (ACCEPTED, a refusal, or BUSY once the wait is over).
 */
export async function proposeDealPatiently(host: Libp2p, provider: ProviderAddress, protocols: DealProtocols, request: ProposeRequest, options: { maxWaitMs?: number; onBusy?: (answer: ProposeResponse, waitedMs: number) => void } = {}): Promise<ProposeResponse> {
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const began = Date.now();
  for (let pause = 500; ; pause = Math.min(pause * 2, 4000)) {
    const answer = await proposeDeal(host, provider, protocols, request);
    const waited = Date.now() - began;
    if (!TRY_AGAIN.has(answer.code) || waited + pause > maxWaitMs) return answer;
    options.onBusy?.(answer, waited);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** The provider's account of a proposal (what stage it reached, and why it failed if it did). */
export async function queryDealStatus(host: Libp2p, provider: ProviderAddress, protocols: DealProtocols, proposal: ProposeRequest['proposal']): Promise<DealStatusReply> {
  const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  const stream = await host.dialProtocol(provider, protocols.status, { signal });
  const lp = lpStream(stream, { maxDataLength: 1024 });
  try {
    await lp.write(encode(dealStatusRequestCodec, { proposalId: proposalId(proposal) }), { signal });
    return decode(dealStatusReplyCodec, (await lp.read({ signal })).subarray(), 'deal status');
  } finally {
    await stream.close().catch(() => undefined);
  }
}

export interface TransferProgress {
  sent: number;
  total: number;
  /** Bytes this attempt sent per second so far. */
  bytesPerSecond: number;
  attempt: number;
}

export interface TransferOptions {
  onProgress?: (p: TransferProgress) => void;
  /** Streams to try before giving up (each resumes where the provider's copy ends). */
  attempts?: number;
  /** Called when a stream fails and the transfer resumes. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * Sends the piece of an accepted proposal. Each attempt asks the provider where to start, so a
 * dropped stream costs only what was in flight. Resolves with the provider's verdict message;
 * throws DealClientError with the provider's code if it refuses or the data does not match.
 */
export async function sendPiece(host: Libp2p, provider: ProviderAddress, protocols: DealProtocols, request: Pick<ProposeRequest, 'proposal'>, source: PieceSource, options: TransferOptions = {}): Promise<string> {
  const attempts = options.attempts ?? 5;
  const id = proposalId(request.proposal);
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await sendAttempt(host, provider, protocols, id, source, attempt, options);
    } catch (error) {
      // BUSY: the provider has not yet noticed that our previous stream died.
      if (error instanceof DealClientError && error.code !== DealRefusal.busy) throw error;
      lastError = error;
      options.onRetry?.(error, attempt);
      if (attempt < attempts) await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
  throw new Error(`the transfer failed ${attempts} times: ${errorMessage(lastError)}`);
}

async function sendAttempt(host: Libp2p, provider: ProviderAddress, protocols: DealProtocols, id: Uint8Array, source: PieceSource, attempt: number, options: TransferOptions): Promise<string> {
  const stream = await host.dialProtocol(provider, protocols.transfer, { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) });
  const lp = lpStream(stream, { maxDataLength: 2048 });
  try {
    await lp.write(encode(transferRequestCodec, { proposalId: id }));
    const start = decode(transferStartCodec, (await lp.read({ signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) })).subarray(), 'transfer answer');
    if (start.code !== TRANSFER_OK) throw new DealClientError(start.code, start.message);
    if (start.offset > source.size) throw new DealClientError('BAD_OFFSET', `the provider holds ${start.offset} bytes of a ${source.size}-byte piece`);
    const began = performance.now();
    let sent = start.offset;
    let acked = start.offset;
    /** The next reply; RECEIVED moves the window, anything else ends the transfer. */
    const reply = async (timeoutMs: number) => {
      const r = decode(transferReplyCodec, (await lp.read({ signal: AbortSignal.timeout(timeoutMs) })).subarray(), 'transfer reply');
      if (r.code === TRANSFER_RECEIVED) {
        acked = Math.max(acked, r.received);
        return null;
      }
      if (r.code !== TRANSFER_OK) throw new DealClientError(r.code, r.message);
      return r.message;
    };
    while (sent < source.size) {
      // At most a window ahead of what the provider has on disk: a slow provider slows this loop.
      while (sent - acked >= TRANSFER_WINDOW_BYTES) {
        const verdict = await reply(ANSWER_TIMEOUT_MS);
        if (verdict !== null) throw new DealClientError('EARLY_VERDICT', `the provider answered before the last byte: ${verdict}`);
      }
      const chunk = await source.read(sent, Math.min(TRANSFER_CHUNK_BYTES, source.size - sent));
      await lp.write(chunk);
      sent += chunk.length;
      options.onProgress?.({ sent, total: source.size, bytesPerSecond: ((sent - start.offset) * 1000) / Math.max(1, performance.now() - began), attempt });
    }
    for (;;) {
      const verdict = await reply(VERDICT_TIMEOUT_MS);
      if (verdict !== null) return verdict;
    }
  } finally {
    await stream.close().catch(() => undefined);
  }
}

