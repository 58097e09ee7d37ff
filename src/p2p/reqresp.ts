// Request/response protocols: status (head, finalized, genesis id), blocks-by-range, blocks-by-id and
// push-txs. Requests are length-prefixed and size-limited; every peer has a token-bucket quota per
// protocol (cost = blocks asked for, or txs pushed); a peer over quota gets a rate-limited answer
// and a reputation penalty.
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { decodeBlock, encodeBlock, type Block, type ChainStore } from '../chain/index.js';
import { BcrError, concatBytes, decode, encode, errorMessage, utf8 } from '../primitives/index.js';
import type { Logger } from '../util/logger.js';
import { MAX_PUSH_BYTES, MAX_PUSH_TXS, MAX_REQUEST_BLOCKS, ResponseCode, idsRequestCodec, pushTxsCodec, pushTxsResultCodec, rangeRequestCodec, statusCodec, type PushTxsResult, type Status, type TopicNames } from './protocols.js';
import { PeerRateLimiter, type Quota } from '../util/rateLimit.js';
import type { OffenceKind } from './reputation.js';

const MAX_REQUEST_BYTES = 4096;
const REQUEST_TIMEOUT_MS = 10_000;
/** What @libp2p/utils' length-prefixed reader throws for a length prefix over our limit. */
const OVERSIZE_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError']);

/**
 * Per-peer quotas (a 64-block batch costs 64 tokens). Honest clients hold themselves to the same
 * quotas (the sync manager's self-limiter), so only floods are refused.
 */
export const QUOTAS: Record<'status' | 'blocks' | 'txs', Quota> = {
  status: { capacity: 10, refillPerSecond: 2 },
  blocks: { capacity: 16 * MAX_REQUEST_BLOCKS, refillPerSecond: 8 * MAX_REQUEST_BLOCKS },
  txs: { capacity: 8 * MAX_PUSH_TXS, refillPerSecond: 2 * MAX_PUSH_TXS },
};

/** What became of one pushed tx (the gossip verdicts, by another name). */
export type TxReception = 'accepted' | 'ignored' | 'rejected';

export class ReqRespError extends BcrError<'REQRESP'> {
  constructor(
    message: string,
    readonly responseCode?: ResponseCode,
  ) {
    super('REQRESP', message);
  }
}

export interface ReqRespDeps {
  libp2p: Libp2p;
  topics: TopicNames;
  chain: ChainStore;
  now: () => number;
  penalise: (peer: string, offence: OffenceKind) => void;
  /** Admits a tx a peer pushed, as gossip would (penalising the peer for an invalid one). */
  receiveTx: (tx: Uint8Array, peer: string) => Promise<TxReception>;
  log: Logger;
}

type Served = 'status' | 'range' | 'ids' | 'push';

function success(payload: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([ResponseCode.success]), payload);
}

function failure(code: ResponseCode, reason: string): Uint8Array {
  return concatBytes(new Uint8Array([code]), utf8(reason));
}

export class ReqResp {
  private readonly statusLimiter = new PeerRateLimiter(QUOTAS.status);
  private readonly blockLimiter = new PeerRateLimiter(QUOTAS.blocks);
  private readonly txLimiter = new PeerRateLimiter(QUOTAS.txs);
  /** Our own pushes, held to the quota every peer enforces on us. */
  private readonly selfTxLimiter = new PeerRateLimiter(QUOTAS.txs);
  private readonly maxChunk: number;
  private readonly pushCodec: ReturnType<typeof pushTxsCodec>;

  constructor(private readonly deps: ReqRespDeps) {
    this.maxChunk = deps.chain.params.maxBlockBytes + 1024;
    this.pushCodec = pushTxsCodec(deps.chain.params.maxTxBytes);
  }

  async register(): Promise<void> {
    const { libp2p, topics } = this.deps;
    await libp2p.handle(topics.status, (stream, connection) => void this.serve(stream, connection.remotePeer, 'status'));
    await libp2p.handle(topics.blocksByRange, (stream, connection) => void this.serve(stream, connection.remotePeer, 'range'));
    await libp2p.handle(topics.blocksById, (stream, connection) => void this.serve(stream, connection.remotePeer, 'ids'));
    await libp2p.handle(topics.pushTxs, (stream, connection) => void this.serve(stream, connection.remotePeer, 'push'));
  }

  // ---- serving ----

  private async serve(stream: Stream, peer: PeerId, kind: Served): Promise<void> {
    const who = peer.toString();
    const lp = lpStream(stream, { maxDataLength: kind === 'push' ? MAX_PUSH_BYTES : MAX_REQUEST_BYTES });
    try {
      if (kind === 'status') {
        if (!this.statusLimiter.allow(who, 1, this.deps.now())) return await this.refuse(lp, stream, who, ResponseCode.rateLimited, 'status requests over quota');
        await lp.write(success(encode(statusCodec, this.status())));
        return await stream.close();
      }
      let raw: Uint8Array;
      try {
        raw = (await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).subarray();
      } catch (error) {
        // An oversized length prefix is the peer's fault; a timeout or a reset is not.
        if (error instanceof Error && OVERSIZE_ERRORS.has(error.name)) return await this.refuse(lp, stream, who, ResponseCode.invalidRequest, `request too large: ${errorMessage(error)}`);
        throw error;
      }
      let chunks: Uint8Array[];
      try {
        chunks = await this.answer(kind, raw, who);
      } catch (error) {
        if (error instanceof ReqRespError) return await this.refuse(lp, stream, who, error.responseCode ?? ResponseCode.invalidRequest, error.message);
        throw error;
      }
      for (const chunk of chunks) await lp.write(success(chunk));
      await stream.close();
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async refuse(lp: ReturnType<typeof lpStream>, stream: Stream, peer: string, code: ResponseCode, reason: string): Promise<void> {
    this.deps.penalise(peer, code === ResponseCode.rateLimited ? 'overQuota' : 'badRequest');
    this.deps.log.debug({ peer, code, reason }, 'Refused request');
    await lp.write(failure(code, reason));
    await stream.close();
  }

  private async answer(kind: Exclude<Served, 'status'>, raw: Uint8Array, peer: string): Promise<Uint8Array[]> {
    if (kind === 'push') return [encode(pushTxsResultCodec, await this.receivePushedTxs(raw, peer))];
    const blocks = kind === 'range' ? await this.rangeBlocks(raw, peer) : await this.idBlocks(raw, peer);
    return blocks.map(encodeBlock);
  }

  private async receivePushedTxs(raw: Uint8Array, peer: string): Promise<PushTxsResult> {
    const { txs } = this.decodeRequest(() => decode(this.pushCodec, raw, 'push-txs request'));
    if (!this.txLimiter.allow(peer, txs.length, this.deps.now())) throw new ReqRespError(`${txs.length} txs over quota`, ResponseCode.rateLimited);
    const result = { accepted: 0, ignored: 0, rejected: 0 };
    for (const tx of txs) result[await this.deps.receiveTx(tx, peer)]++;
    return result;
  }

  private takeBlocks(peer: string, count: number): void {
    if (!this.blockLimiter.allow(peer, count, this.deps.now())) throw new ReqRespError(`${count} blocks over quota`, ResponseCode.rateLimited);
  }

  private async rangeBlocks(raw: Uint8Array, peer: string): Promise<Block[]> {
    const request = this.decodeRequest(() => decode(rangeRequestCodec, raw, 'range request'));
    this.takeBlocks(peer, request.count);
    const { chain } = this.deps;
    const blocks: Block[] = [];
    const end = Math.min(request.start + request.count - 1, chain.head.header.height);
    for (let h = request.start; h <= end; h++) {
      const block = await chain.getBlockByHeight(h);
      if (!block) break;
      blocks.push(block);
    }
    return blocks;
  }

  private async idBlocks(raw: Uint8Array, peer: string): Promise<Block[]> {
    const request = this.decodeRequest(() => decode(idsRequestCodec, raw, 'ids request'));
    this.takeBlocks(peer, request.ids.length);
    const blocks: Block[] = [];
    for (const id of request.ids) {
      const block = await this.deps.chain.getBlock(id);
      if (block) blocks.push(block);
    }
    return blocks;
  }

  private decodeRequest<T>(decodeIt: () => T): T {
    try {
      return decodeIt();
    } catch (error) {
      throw new ReqRespError(`malformed request: ${errorMessage(error)}`, ResponseCode.invalidRequest);
    }
  }

  status(): Status {
    const { chain } = this.deps;
    return { genesisId: chain.genesisId, headHeight: chain.head.header.height, headId: chain.head.id, finalizedHeight: chain.finalizedHeight };
  }

  // ---- requesting ----

  async requestStatus(peer: PeerId): Promise<Status> {
    const [payload] = await this.request(peer, this.deps.topics.status, null, 1);
    if (!payload) throw new ReqRespError('empty status response');
    return decode(statusCodec, payload, 'status');
  }

  async blocksByRange(peer: PeerId, start: number, count: number): Promise<Block[]> {
    const chunks = await this.request(peer, this.deps.topics.blocksByRange, encode(rangeRequestCodec, { start, count }), count);
    return chunks.map((bytes) => decodeBlock(bytes, this.deps.chain.params.maxBlockBytes));
  }

  async blocksById(peer: PeerId, ids: Uint8Array[]): Promise<Block[]> {
    const chunks = await this.request(peer, this.deps.topics.blocksById, encode(idsRequestCodec, { ids }), ids.length);
    return chunks.map((bytes) => decodeBlock(bytes, this.deps.chain.params.maxBlockBytes));
  }

  /**
   * Pushes txs to a peer in requests within the size limits, as far as its quota allows (what does
   * not fit now is left out: the txs stay in our pool and go into our own blocks).
   */
  async pushTxs(peer: PeerId, txs: Uint8Array[]): Promise<PushTxsResult & { sent: number }> {
    const total = { accepted: 0, ignored: 0, rejected: 0, sent: 0 };
    for (const batch of pushBatches(txs)) {
      if (!this.selfTxLimiter.allow(peer.toString(), batch.length, this.deps.now())) break;
      const [payload] = await this.request(peer, this.deps.topics.pushTxs, encode(this.pushCodec, { txs: batch }), 1);
      if (!payload) throw new ReqRespError('empty push-txs response');
      const result = decode(pushTxsResultCodec, payload, 'push-txs result');
      total.accepted += result.accepted;
      total.ignored += result.ignored;
      total.rejected += result.rejected;
      total.sent += batch.length;
    }
    return total;
  }

  /** Sends one request and reads up to `maxChunks` success payloads; an error chunk throws. */
  private async request(peer: PeerId, protocol: string, body: Uint8Array | null, maxChunks: number): Promise<Uint8Array[]> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const stream = await this.deps.libp2p.dialProtocol(peer, protocol, { signal });
    const lp = lpStream(stream, { maxDataLength: this.maxChunk + 1 });
    try {
      if (body) await lp.write(body, { signal });
      const chunks: Uint8Array[] = [];
      while (chunks.length < maxChunks) {
        let chunk: Uint8Array;
        try {
          chunk = (await lp.read({ signal })).subarray();
        } catch (error) {
          if (signal.aborted) throw new ReqRespError(`${protocol}: no answer within ${REQUEST_TIMEOUT_MS} ms`);
          break; // the peer closed its side: no more chunks
        }
        const code = chunk[0] as ResponseCode | undefined;
        if (code !== ResponseCode.success) throw new ReqRespError(`peer answered ${code}: ${new TextDecoder().decode(chunk.subarray(1))}`, code);
        chunks.push(chunk.subarray(1));
      }
      return chunks;
    } finally {
      await stream.close().catch(() => stream.abort(new Error('close failed')));
    }
  }
}

/** Splits txs into push requests of at most MAX_PUSH_TXS txs and (with room for framing) MAX_PUSH_BYTES. */
export function pushBatches(txs: Uint8Array[]): Uint8Array[][] {
  const budget = MAX_PUSH_BYTES - 1024;
  const batches: Uint8Array[][] = [];
  let batch: Uint8Array[] = [];
  let size = 0;
  for (const tx of txs) {
    const cost = tx.length + 8;
    if (batch.length && (batch.length === MAX_PUSH_TXS || size + cost > budget)) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(tx);
    size += cost;
  }
  if (batch.length) batches.push(batch);
  return batches;
}
