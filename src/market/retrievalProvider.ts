// The provider's side of retrieval: answers its retrieval ask; serves byte ranges of the pieces it
// holds from their unsealed copies, chunk by chunk with Merkle paths to the piece commitment; for a
// paid retrieval it serves a payer at most one payment interval beyond what its vouchers pay (counted
// per payer across requests and restarts, in RetrievalPayments), refuses channels it could not
// redeem on in time, checks every voucher against the chain, and redeems the best one when a
// retrieval ends.
import { existsSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Libp2p, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { LRUCache } from 'lru-cache';
import type { ChainStore } from '../chain/index.js';
import { PeerRateLimiter } from '../util/rateLimit.js';
import { bytesEqual, concatBytes, decode, encode, errorMessage, toHex } from '../primitives/index.js';
import { buildTreeCache, chunkProof, chunkSizeFor, fileSource } from '../proofs/index.js';
import { getPaymentChannel, type Voucher } from '../state/index.js';
import { writeFileDurable } from '../util/durableFile.js';
import type { Logger } from '../util/logger.js';
import { GatewayPaymentGate } from './gatewayPayments.js';
import { PaymentRefused, RetrievalPayments, type PaymentTerms } from './retrievalPayments.js';
import {
  RETRIEVAL_CHUNK_BYTES,
  RETRIEVAL_CREDIT_BYTES,
  RetrievalFrame,
  RetrievalRefusal,
  encodeChunkFrame,
  retrievalAskCodec,
  retrievalErrorCodec,
  retrievalRequestCodec,
  retrievalStartCodec,
  signedVoucherCodec,
  type RetrievalProtocols,
} from './retrievalProtocol.js';

export interface ServedPiece {
  pieceCommitment: string;
  pieceBytes: number;
  offset: number;
  unsealedPath: string;
}

export interface RetrievalProviderDeps {
  libp2p: Libp2p;
  protocols: RetrievalProtocols;
  chain: ChainStore;
  /** The local miner's pieces, payee (its worker) and a way to redeem a voucher; null without a miner. */
  miner(): { find(pieceCommitment: string): ServedPiece[]; payee: Uint8Array; redeem(voucher: Voucher, signature: Uint8Array): Promise<void> } | null;
  currentSlot(): number;
  nowMs(): number;
  dir: string;
  log: Logger;
  /** Payment interval and least settle delay (defaults: RETRIEVAL_CREDIT_BYTES, twice the finality). */
  terms?: Partial<PaymentTerms>;
}

type Lp = ReturnType<typeof lpStream>;
const frame = (kind: number, body: Uint8Array) => concatBytes(new Uint8Array([kind]), body);
const ASK_FILE = 'retrieval-ask.json';
const TREE_CACHE = 8;
const READ_BLOCK_BYTES = 4 * 1024 * 1024;
/** How long a stream waits for a voucher before it gives up (the debt stays recorded). */
const VOUCHER_WAIT_MS = 30_000;

export class RetrievalProvider {
  private readonly limiter = new PeerRateLimiter({ capacity: 20, refillPerSecond: 2 });
  private readonly trees = new LRUCache<string, Uint8Array[]>({ max: TREE_CACHE });
  private readonly building = new Map<string, Promise<Uint8Array[]>>();
  private readonly payments: RetrievalPayments;
  readonly terms: PaymentTerms;
  /** Bytes served per channel this run (libp2p chunks sent and paid gateway bytes; for operators and tests). */
  readonly served = new Map<number, bigint>();
  /** Atto per byte asked (0: free retrieval, the default). */
  private price = 0n;
  /** The voucher amount last sent for redemption per channel by `redeemSettling`. */
  private readonly redeemSent = new Map<number, bigint>();
  /** Paid gateway access at this provider's price, on the same per-payer ledger. */
  readonly gateway: GatewayPaymentGate;

  constructor(private readonly deps: RetrievalProviderDeps) {
    this.payments = new RetrievalPayments(deps.dir, deps.chain.params.chainId);
    const terms = { intervalBytes: RETRIEVAL_CREDIT_BYTES, minSettleDelay: 2 * deps.chain.params.finality, ...deps.terms };
    // An interval below one chunk could never serve a chunk.
    this.terms = { ...terms, intervalBytes: Math.max(terms.intervalBytes, RETRIEVAL_CHUNK_BYTES) };
    this.gateway = new GatewayPaymentGate({
      payments: this.payments,
      chain: deps.chain,
      currentSlot: deps.currentSlot,
      onCharged: (channel, bytes) => this.countServed(channel, bytes),
      terms: () => {
        const miner = deps.miner();
        return miner ? { pricePerByte: this.price, payee: miner.payee, minSettleDelay: this.terms.minSettleDelay, intervalBytes: this.terms.intervalBytes } : null;
      },
    });
  }

  get pricePerByte(): bigint {
    return this.price;
  }

  /** Sets the retrieval price (kept across restarts). */
  async setPrice(pricePerByte: bigint): Promise<void> {
    this.price = pricePerByte;
    await writeFileDurable(join(this.deps.dir, ASK_FILE), JSON.stringify({ pricePerByte: pricePerByte.toString() }));
    this.deps.log.info({ pricePerByte: pricePerByte.toString() }, 'Retrieval ask set');
  }

  async start(): Promise<void> {
    await this.load();
    const { libp2p, protocols } = this.deps;
    await libp2p.handle(protocols.ask, (stream) => void this.serveAsk(stream), { maxInboundStreams: 32 });
    await libp2p.handle(protocols.retrieve, (stream, connection) => void this.serve(stream, connection.remotePeer.toString()), { maxInboundStreams: 32 });
  }

  async stop(): Promise<void> {
    await this.deps.libp2p.unhandle(this.deps.protocols.ask);
    await this.deps.libp2p.unhandle(this.deps.protocols.retrieve);
    await this.payments.settled();
  }

  private async serveAsk(stream: Stream): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 });
    try {
      const miner = this.deps.miner();
      if (!miner) await lp.write(frame(RetrievalFrame.error, encode(retrievalErrorCodec, { code: 'NOT_A_MINER', message: 'this node runs no miner' })));
      else await lp.write(frame(RetrievalFrame.start, encode(retrievalAskCodec, { pricePerByte: this.price, payee: miner.payee, minSettleDelay: this.terms.minSettleDelay, paymentIntervalBytes: this.terms.intervalBytes })));
      await stream.close();
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async serve(stream: Stream, peer: string): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: RETRIEVAL_CHUNK_BYTES + 4096 });
    let paidChannel: number | null = null;
    const refuse = async (code: string, message: string) => {
      this.deps.log.info({ peer, code, reason: message }, 'Refused retrieval');
      await lp.write(frame(RetrievalFrame.error, encode(retrievalErrorCodec, { code, message })));
      await stream.close();
    };
    try {
      if (!this.limiter.allow(peer, 1, this.deps.nowMs())) return await refuse(RetrievalRefusal.rateLimited, 'too many retrievals: slow down');
      const raw = (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray();
      let request;
      try {
        if (raw[0] !== RetrievalFrame.start) throw new Error('expected a request frame');
        request = decode(retrievalRequestCodec, raw.subarray(1), 'retrieval request');
      } catch (error) {
        return await refuse(RetrievalRefusal.malformed, errorMessage(error));
      }
      const miner = this.deps.miner();
      const key = toHex(request.pieceCommitment);
      const piece = miner?.find(key)[0];
      if (!miner || !piece) return await refuse(RetrievalRefusal.notFound, `no copy of piece ${key} here`);
      const chunkBytes = chunkSizeFor(piece.pieceBytes, RETRIEVAL_CHUNK_BYTES);
      if (request.length === 0 || request.offset >= piece.pieceBytes) return await refuse(RetrievalRefusal.badRange, `bytes ${request.offset}+${request.length} are outside the ${piece.pieceBytes}-byte piece`);
      // A range past the end stops at the end of the piece.
      const length = Math.min(request.length, piece.pieceBytes - request.offset);
      const price = this.price;
      if (request.pricePerByte < price) return await refuse(RetrievalRefusal.priceBelowAsk, `this provider asks ${price} atto per byte`);
      const firstChunk = Math.floor(request.offset / chunkBytes);
      const chunks = Math.ceil((request.offset + length) / chunkBytes) - firstChunk;
      const cost = request.pricePerByte * BigInt(chunks * chunkBytes);
      const chunkValue = request.pricePerByte * BigInt(chunkBytes);
      const channelOf = (id: number) => getPaymentChannel(this.deps.chain.headState(), id);
      let payer: Uint8Array | null = null;
      if (cost > 0n) {
        const channel = await channelOf(request.channel);
        if (!channel) return await refuse(RetrievalRefusal.noSuchChannel, `payment channel ${request.channel} does not exist`);
        if (!bytesEqual(channel.to, miner.payee)) return await refuse(RetrievalRefusal.wrongPayee, `channel ${request.channel} does not pay this provider's ${toHex(miner.payee)}`);
        if (channel.collected || channel.settleAt !== 0) {
          await this.redeem(request.channel, miner);
          return await refuse(RetrievalRefusal.channelSettled, `channel ${request.channel} is settling`);
        }
        if (channel.settleDelay < this.terms.minSettleDelay) return await refuse(RetrievalRefusal.settleDelayShort, `channel ${request.channel} settles ${channel.settleDelay} slots after notice; this provider needs at least ${this.terms.minSettleDelay} to redeem`);
        const left = channel.deposit - this.payments.served(request.channel, channel);
        if (left < cost) return await refuse(RetrievalRefusal.fundsLow, `channel ${request.channel} has ${left} atto left, the range costs ${cost}`);
        payer = channel.from;
        const owed = await this.payments.unpaid(payer, channelOf);
        if (owed + chunkValue > this.creditFor(request.pricePerByte)) return await refuse(RetrievalRefusal.paymentOverdue, `the payer owes ${owed} atto for bytes served before: no more until vouchers cover them`);
      }
      let levels: Uint8Array[];
      try {
        levels = await this.tree(piece, chunkBytes);
      } catch (error) {
        if (error instanceof CopyCorrupt) {
          this.deps.log.error({ piece: key, path: piece.unsealedPath }, 'Unsealed copy is corrupt: not serving it');
          return await refuse(RetrievalRefusal.notFound, error.message);
        }
        throw error;
      }
      await lp.write(frame(RetrievalFrame.start, encode(retrievalStartCodec, { pieceBytes: piece.pieceBytes, chunkBytes, firstChunk, chunks })));
      const file = await open(piece.unsealedPath, 'r');
      const blocks = readAhead(file, piece.offset + firstChunk * chunkBytes, chunkBytes, chunks);
      paidChannel = cost > 0n ? request.channel : null;
      let paidHere = 0n;
      // Chunks sent on this stream and vouchers read from it: an honest client sends one per chunk.
      let sentHere = 0;
      let vouchersHere = 0;
      const nextVoucher = async () => {
        paidHere += await this.readVoucher(lp, request.channel, miner.payee);
        vouchersHere++;
      };
      try {
        for (let i = 0; i < chunks; i++) {
          if (payer) {
            // Counted per payer over all its channels and streams: wait for vouchers while this chunk
            // would take the unpaid total past the payment interval. A stream whose own chunks are all
            // paid waits for the payer's other streams instead of for a voucher that cannot come.
            while ((await this.payments.unpaid(payer, channelOf)) + chunkValue > this.creditFor(request.pricePerByte)) {
              if (vouchersHere < sentHere) await nextVoucher();
              else await this.payments.paymentFrom(payer, VOUCHER_WAIT_MS);
            }
            await this.payments.charge(request.channel, (await channelOf(request.channel))!, chunkValue);
          }
          const index = firstChunk + i;
          const data = await blocks.chunk(i);
          await lp.write(encodeChunkFrame({ index, data, proof: chunkProof(levels, index) }));
          this.countServed(request.channel, chunkBytes);
          sentHere++;
        }
        // The last chunks' vouchers (an honest client pays for every chunk it verified).
        while (payer && vouchersHere < sentHere) await nextVoucher();
      } finally {
        await file.close();
      }
      await lp.write(frame(RetrievalFrame.done, new Uint8Array(0)));
      await stream.close();
      this.deps.log.info({ peer, piece: key.slice(0, 18), chunks, bytes: chunks * chunkBytes, channel: request.channel, paid: paidHere.toString() }, 'Served retrieval');
      if (cost > 0n) await this.redeem(request.channel, miner);
      paidChannel = null;
    } catch (error) {
      // A retrieval cut short still redeems what its vouchers paid.
      const miner = this.deps.miner();
      if (paidChannel !== null && miner) await this.redeem(paidChannel, miner);
      if (error instanceof PaymentRefused) return refuse(error.code, error.message).catch(() => stream.abort(error));
      this.deps.log.debug({ peer, err: errorMessage(error) }, 'Retrieval ended early');
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private countServed(channel: number, bytes: number): void {
    this.served.set(channel, (this.served.get(channel) ?? 0n) + BigInt(bytes));
  }

  /** The most a payer may owe: the payment interval at this price. */
  private creditFor(pricePerByte: bigint): bigint {
    return pricePerByte * BigInt(this.terms.intervalBytes);
  }

  /** Reads the client's next voucher and checks it; returns how much more the channel's vouchers now pay. */
  private async readVoucher(lp: Lp, channelId: number, payee: Uint8Array): Promise<bigint> {
    const raw = (await lp.read({ signal: AbortSignal.timeout(VOUCHER_WAIT_MS) })).subarray();
    if (raw[0] !== RetrievalFrame.voucher) throw new PaymentRefused(RetrievalRefusal.badVoucher, 'expected a voucher');
    const { voucher, signature } = decode(signedVoucherCodec, raw.subarray(1), 'voucher');
    const channel = await getPaymentChannel(this.deps.chain.headState(), channelId);
    if (!channel) throw new PaymentRefused(RetrievalRefusal.noSuchChannel, `payment channel ${channelId} does not exist`);
    const before = this.payments.paid(channelId, channel);
    return (await this.payments.accept(channelId, channel, payee, voucher, signature, this.deps.currentSlot())) - before;
  }

  /**
   * Redeems the best voucher of every channel that started settling while it pays more than was
   * redeemed (call on each new head): after the settle delay the payer could collect the rest.
   */
  async redeemSettling(): Promise<void> {
    const miner = this.deps.miner();
    if (!miner) return;
    for (const { channel: id, amount } of this.payments.list()) {
      if (amount === 0n || this.redeemSent.get(id) === amount) continue;
      const channel = await getPaymentChannel(this.deps.chain.headState(), id);
      if (!channel || channel.settleAt === 0 || channel.collected || channel.redeemed >= amount) continue;
      this.redeemSent.set(id, amount);
      this.deps.log.info({ channel: id, amount: amount.toString(), settleAt: channel.settleAt }, 'Channel settling: redeeming its best voucher');
      await this.redeem(id, miner);
    }
  }

  private async redeem(channelId: number, miner: { redeem(voucher: Voucher, signature: Uint8Array): Promise<void> }): Promise<void> {
    const best = this.payments.best(channelId);
    if (!best) return;
    await miner.redeem(best.voucher, best.signature).catch((error: unknown) => this.deps.log.warn({ channel: channelId, err: errorMessage(error) }, 'Redeeming the voucher failed'));
  }

  /** The levels over a piece's chunk roots: built once (concurrent requests share the build), then cached. */
  private tree(piece: ServedPiece, chunkBytes: number): Promise<Uint8Array[]> {
    const key = piece.pieceCommitment.toLowerCase();
    const cached = this.trees.get(key);
    if (cached) return Promise.resolve(cached);
    let build = this.building.get(key);
    if (!build) {
      build = this.buildTree(piece, chunkBytes).finally(() => this.building.delete(key));
      this.building.set(key, build);
    }
    return build;
  }

  /** Streams the piece from its unsealed copy (memory: one read buffer and the chunk roots, not the piece). */
  private async buildTree(piece: ServedPiece, chunkBytes: number): Promise<Uint8Array[]> {
    const source = await fileSource(piece.unsealedPath, piece.pieceBytes / 32, piece.offset);
    let levels: Uint8Array[];
    try {
      levels = (await buildTreeCache(source, Math.log2(chunkBytes / 32))).levels;
    } finally {
      await source.close();
    }
    // A copy that no longer matches its commitment is not served (nor remembered).
    if (toHex(levels[levels.length - 1]!) !== piece.pieceCommitment.toLowerCase()) throw new CopyCorrupt(`the copy of piece ${piece.pieceCommitment} does not match its commitment`);
    this.trees.set(piece.pieceCommitment.toLowerCase(), levels);
    return levels;
  }

  private async load(): Promise<void> {
    const askPath = join(this.deps.dir, ASK_FILE);
    if (existsSync(askPath)) this.price = BigInt((JSON.parse(await readFile(askPath, 'utf8')) as { pricePerByte: string }).pricePerByte);
    await this.payments.load();
  }

  /** The best voucher held per channel and the value served on it. */
  bestVouchers(): { channel: number; amount: bigint; nonce: number; served: bigint }[] {
    return this.payments.list();
  }
}

/**
 * Reads the chunks to serve in blocks of READ_BLOCK_BYTES, the next block already being read while
 * the current one is sent (a read per chunk would leave the stream waiting on the disk).
 */
function readAhead(file: FileHandle, start: number, chunkBytes: number, chunks: number): { chunk(i: number): Promise<Uint8Array> } {
  const perBlock = Math.max(1, Math.floor(READ_BLOCK_BYTES / chunkBytes));
  const blocks = new Map<number, Promise<Uint8Array>>();
  const load = (b: number): Promise<Uint8Array> => {
    let block = blocks.get(b);
    if (!block) {
      const count = Math.min(perBlock, chunks - b * perBlock);
      const buffer = new Uint8Array(count * chunkBytes);
      block = file.read(buffer, 0, buffer.length, start + b * perBlock * chunkBytes).then(() => buffer);
      blocks.set(b, block);
    }
    return block;
  };
  return {
    async chunk(i) {
      const b = Math.floor(i / perBlock);
      const block = await load(b);
      blocks.delete(b - 1);
      if ((b + 1) * perBlock < chunks) void load(b + 1).catch(() => undefined);
      const at = (i % perBlock) * chunkBytes;
      return block.subarray(at, at + chunkBytes);
    },
  };
}

class CopyCorrupt extends Error {}

