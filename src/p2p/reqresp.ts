// Request/response protocols: status (head, finalized, genesis id), blocks-by-range and blocks-by-id.
// Requests are length-prefixed and size-limited; every peer has a token-bucket quota per protocol
// (cost = blocks asked for); a peer over quota gets a rate-limited answer and a reputation penalty.
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { decodeBlock, encodeBlock, type Block, type ChainStore } from '../chain/index.js';
import { BcrError, concatBytes, decode, encode, errorMessage, utf8 } from '../primitives/index.js';
import type { Logger } from '../util/logger.js';
import { MAX_REQUEST_BLOCKS, ResponseCode, idsRequestCodec, rangeRequestCodec, statusCodec, type Status, type TopicNames } from './protocols.js';
import { PeerRateLimiter, type Quota } from './rateLimit.js';
import type { OffenceKind } from './reputation.js';

const MAX_REQUEST_BYTES = 4096;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Per-peer quotas (a 64-block batch costs 64 tokens). Honest clients hold themselves to the same
 * quotas (the sync manager's self-limiter), so only floods are refused.
 */
export const QUOTAS: Record<'status' | 'blocks', Quota> = {
  status: { capacity: 10, refillPerSecond: 2 },
  blocks: { capacity: 16 * MAX_REQUEST_BLOCKS, refillPerSecond: 8 * MAX_REQUEST_BLOCKS },
};

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
  log: Logger;
}

function success(payload: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([ResponseCode.success]), payload);
}

function failure(code: ResponseCode, reason: string): Uint8Array {
  return concatBytes(new Uint8Array([code]), utf8(reason));
}

export class ReqResp {
  private readonly statusLimiter = new PeerRateLimiter(QUOTAS.status);
  private readonly blockLimiter = new PeerRateLimiter(QUOTAS.blocks);
  private readonly maxChunk: number;

  constructor(private readonly deps: ReqRespDeps) {
    this.maxChunk = deps.chain.params.maxBlockBytes + 1024;
  }

  async register(): Promise<void> {
    const { libp2p, topics } = this.deps;
    await libp2p.handle(topics.status, (stream, connection) => void this.serve(stream, connection.remotePeer, 'status'));
    await libp2p.handle(topics.blocksByRange, (stream, connection) => void this.serve(stream, connection.remotePeer, 'range'));
    await libp2p.handle(topics.blocksById, (stream, connection) => void this.serve(stream, connection.remotePeer, 'ids'));
  }

  // ---- serving ----

  private async serve(stream: Stream, peer: PeerId, kind: 'status' | 'range' | 'ids'): Promise<void> {
    const who = peer.toString();
    const lp = lpStream(stream, { maxDataLength: Math.max(MAX_REQUEST_BYTES, this.maxChunk) });
    try {
      if (kind === 'status') {
        if (!this.statusLimiter.allow(who, 1, this.deps.now())) return await this.refuse(lp, stream, who, ResponseCode.rateLimited, 'status requests over quota');
        await lp.write(success(encode(statusCodec, this.status())));
        return await stream.close();
      }
      const raw = (await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).subarray();
      let blocks: Block[];
      try {
        blocks = kind === 'range' ? await this.rangeBlocks(raw, who) : await this.idBlocks(raw, who);
      } catch (error) {
        if (error instanceof ReqRespError) return await this.refuse(lp, stream, who, error.responseCode ?? ResponseCode.invalidRequest, error.message);
        throw error;
      }
      for (const block of blocks) await lp.write(success(encodeBlock(block)));
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
