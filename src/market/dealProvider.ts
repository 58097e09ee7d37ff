// The provider's side of the deal protocols: checks proposals against the miner's ask, its funds and
// space and the client's escrow; receives accepted pieces (backpressure: a frame is written to disk
// before the next is read; resumable: the provider names the offset it holds; capped at the size the
// proposal declared); verifies the piece against its commitment; hands it to the sealing pipeline,
// which publishes the deal and seals the piece. Accepted deals are kept on disk across restarts.
//
// The intake is a scarce resource that a stranger must not be able to hold for free (docs/protocol.md
// §13.7, "Intake"): at most `maxPerClient` open deals per client key and `maxPerPeer` per peer, well
// below the global `maxInFlight`; a client's free escrow must cover all its pending proposals here
// together; the data must start arriving within `transferStartMs` and keep to `minBytesPerSecond`, or
// the slot is freed; and when the intake is full, a proposal from a peer holding fewer slots displaces
// an accepted deal whose data is not flowing. Answers to `deal-status` tell a client why a deal failed.
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, statfs, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Libp2p, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { ChainStore } from '../chain/index.js';
import { PeerRateLimiter } from '../util/rateLimit.js';
import { bytesEqual, decode, encode, errorMessage, fromHex, hexKey, toChecksumAddress, toHex } from '../primitives/index.js';
import { buildTreeCache, fileSource } from '../proofs/index.js';
import { dealIdOf, dealPayment, dealProposalCodec, getEscrow, type DealProposal } from '../state/index.js';
import { DurableSnapshot } from '../util/durableFile.js';
import type { Logger } from '../util/logger.js';
import { DealRefused, checkProposal, type ProviderView } from './dealChecks.js';
import {
  ACCEPTED,
  DealRefusal,
  TRANSFER_CHUNK_BYTES,
  TRANSFER_OK,
  proposalId,
  proposeRequestCodec,
  proposeResponseCodec,
  TRANSFER_RECEIVED,
  askReplyCodec,
  dealStatusReplyCodec,
  dealStatusRequestCodec,
  transferReplyCodec,
  transferRequestCodec,
  transferStartCodec,
  type DealProtocols,
  type DealRefusalCode,
  type ProposeResponse,
} from './dealProtocol.js';
import type { SignedOrder } from './orders.js';

/** Where verified pieces go: the sealing pipeline publishes the deal and seals the piece. */
export interface DealSink {
  addDeal(deal: { proposal: DealProposal; clientSignature: Uint8Array; piecePath: string }): Promise<{ tx: string }>;
  /**
   * Why the miner could not honour these deals on top of what it is already sealing (null: it can):
   * their provider collateral, and the pre-commit deposit and initial pledge of the sectors they need.
   */
  fundsProblem(pending: { pieceBytes: number; providerCollateral: bigint }[]): Promise<string | null>;
  /** What became of a deal handed to sealing (null: unknown here). */
  dealStatus(proposal: DealProposal): { stage: string; error: string | null } | null;
}

export interface ProviderLimits {
  /** Accepted deals whose data has not been handed to sealing yet. */
  maxInFlight: number;
  /** Of those, how many one client key may hold. */
  maxPerClient: number;
  /** Of those, how many one peer may hold. */
  maxPerPeer: number;
  /** Bytes of pieces waiting in the staging area. */
  maxStagingBytes: number;
  minStartLeadSlots: number;
  /** How far ahead a deal may start, in slots. */
  maxStartLeadSlots: number;
  minDurationSlots: number;
  maxDurationSlots: number;
  /** The first byte must arrive this soon after acceptance, and no stream may go silent for longer. */
  transferStartMs: number;
  /** After the start allowance, the transfer must average at least this rate, or it is dropped. */
  minBytesPerSecond: number;
  /** When the intake is full, an accepted deal with no stream for this long may be displaced. */
  displaceAfterMs: number;
}

export interface DealProviderDeps {
  libp2p: Libp2p;
  protocols: DealProtocols;
  chain: ChainStore;
  /** The local miner, while one runs. */
  miner(): { id: number; sectorSize: number; sink: DealSink } | null;
  /** The miner's current signed ask (as gossiped). */
  ask(): SignedOrder<'storageAsk'> | null;
  currentSlot(): number;
  nowMs(): number;
  /** Where incoming pieces and the deal records are kept. */
  dir: string;
  log: Logger;
  limits?: Partial<ProviderLimits>;
}

export type ProviderDealStatus = 'accepted' | 'receiving' | 'published' | 'failed';

export interface ProviderDeal {
  id: string;
  proposal: DealProposal;
  clientSignature: Uint8Array;
  dataBytes: number;
  received: number;
  status: ProviderDealStatus;
  peer: string;
  updatedMs: number;
  /** When it was accepted: its transfer deadline runs from here. */
  acceptedMs?: number;
  piecePath: string;
  tx?: string;
  errorCode?: DealRefusalCode;
  error?: string;
}

const REQUEST_TIMEOUT_MS = 10_000;
const RECORDS_FILE = 'deals.json';
const RECORD_LIFETIME_MS = 24 * 3600_000;
const OPEN: ReadonlySet<ProviderDealStatus> = new Set(['accepted', 'receiving']);

export class DealProvider {
  private readonly deals = new Map<string, ProviderDeal>();
  /** Transfers under way, by deal id: one stream per deal at a time. */
  private readonly receiving = new Set<string>();
  private readonly limiter = new PeerRateLimiter({ capacity: 20, refillPerSecond: 2 });
  private readonly limits: ProviderLimits;
  private readonly records: DurableSnapshot;

  constructor(private readonly deps: DealProviderDeps) {
    this.records = new DurableSnapshot(join(deps.dir, RECORDS_FILE), () =>
      JSON.stringify([...this.deals.values()].map((d) => ({ ...d, proposal: toHex(encode(dealProposalCodec, d.proposal)), clientSignature: toHex(d.clientSignature) })), null, 1),
    );
    const params = deps.chain.params.miners;
    const minStartLeadSlots = params.seedDelay + 20;
    this.limits = {
      maxInFlight: 16,
      maxPerClient: 4,
      maxPerPeer: 4,
      maxStagingBytes: 16 * 1024 ** 3,
      minStartLeadSlots,
      // A week ahead at most (and never less than a few sealing leads).
      maxStartLeadSlots: Math.max(4 * minStartLeadSlots, Math.floor((7 * 24 * 3600_000) / deps.chain.params.slotMs)),
      minDurationSlots: params.provingPeriod,
      maxDurationSlots: 1000 * params.provingPeriod,
      transferStartMs: 15_000,
      minBytesPerSecond: 128 * 1024,
      displaceAfterMs: 3_000,
      ...deps.limits,
    };
  }

  async start(): Promise<void> {
    await mkdir(this.deps.dir, { recursive: true });
    await this.load();
    const { libp2p, protocols } = this.deps;
    await libp2p.handle(protocols.ask, (stream, connection) => void this.serveAsk(stream, connection.remotePeer.toString()), { maxInboundStreams: 32 });
    await libp2p.handle(protocols.propose, (stream, connection) => void this.serveProposal(stream, connection.remotePeer.toString()), { maxInboundStreams: 32 });
    await libp2p.handle(protocols.transfer, (stream, connection) => void this.serveTransfer(stream, connection.remotePeer.toString()), { maxInboundStreams: 32 });
    await libp2p.handle(protocols.status, (stream, connection) => void this.serveStatus(stream, connection.remotePeer.toString()), { maxInboundStreams: 32 });
  }

  async stop(): Promise<void> {
    await this.deps.libp2p.unhandle(this.deps.protocols.ask);
    await this.deps.libp2p.unhandle(this.deps.protocols.propose);
    await this.deps.libp2p.unhandle(this.deps.protocols.transfer);
    await this.deps.libp2p.unhandle(this.deps.protocols.status);
    await this.records.settled();
  }

  list(): ProviderDeal[] {
    return [...this.deals.values()];
  }

  // ---- asks ----

  private async serveAsk(stream: Stream, peer: string): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 });
    try {
      const ask = this.deps.ask();
      const code = !this.limiter.allow(peer, 1, this.deps.nowMs()) ? DealRefusal.rateLimited : ask && ask.order.expirySlot > this.deps.currentSlot() ? TRANSFER_OK : DealRefusal.noAsk;
      await lp.write(encode(askReplyCodec, { code, ask: code === TRANSFER_OK ? ask!.bytes : new Uint8Array(0) }));
      await stream.close();
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  // ---- proposals ----

  private async serveProposal(stream: Stream, peer: string): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 2048 });
    try {
      const answer = await this.answerProposal(lp, peer);
      await lp.write(encode(proposeResponseCodec, answer));
      await stream.close();
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async answerProposal(lp: ReturnType<typeof lpStream>, peer: string): Promise<ProposeResponse> {
    const refuse = (code: DealRefusalCode, message: string): ProposeResponse => {
      this.deps.log.info({ peer, code, reason: message }, 'Refused deal proposal');
      return { code, message, received: 0 };
    };
    if (!this.limiter.allow(peer, 1, this.deps.nowMs())) return refuse(DealRefusal.rateLimited, 'too many proposals: slow down');
    let raw: Uint8Array;
    try {
      raw = (await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).subarray();
    } catch (error) {
      return refuse(DealRefusal.malformed, `no proposal read: ${errorMessage(error)}`);
    }
    let request;
    try {
      request = decode(proposeRequestCodec, raw, 'deal proposal');
    } catch (error) {
      return refuse(DealRefusal.malformed, errorMessage(error));
    }
    await this.sweep();
    const id = hexKey(proposalId(request.proposal));
    const known = this.deals.get(id);
    // The same proposal again: the client resumes after a dropped connection.
    if (known && OPEN.has(known.status)) return { code: ACCEPTED, message: `already accepted (${known.status})`, received: known.received };
    if (known?.status === 'published') return refuse(DealRefusal.nonceUsed, `this proposal was already received and published (tx ${known.tx})`);
    try {
      await checkProposal(request, this.view());
    } catch (error) {
      if (error instanceof DealRefused) return refuse(error.code, error.message);
      throw error;
    }
    const p = request.proposal;
    const refusal = await this.makeRoom(p.client, peer);
    if (refusal) return refuse(refusal.code, refusal.message);
    const piecePath = join(this.deps.dir, `${id}.piece`);
    await writeFile(piecePath, new Uint8Array(0));
    const now = this.deps.nowMs();
    const deal: ProviderDeal = { id, proposal: p, clientSignature: request.clientSignature, dataBytes: request.dataBytes, received: 0, status: 'accepted', peer, updatedMs: now, acceptedMs: now, piecePath };
    this.deals.set(id, deal);
    await this.persist();
    this.deps.log.info({ deal: id.slice(0, 16), client: toChecksumAddress(p.client), pieceBytes: p.pieceBytes, dataBytes: request.dataBytes, startSlot: p.startSlot, endSlot: p.endSlot, pricePerSlot: p.pricePerSlot.toString() }, 'Accepted deal proposal');
    return { code: ACCEPTED, message: 'send the piece', received: 0 };
  }

  /**
   * Checks the per-client, per-peer and global caps; when the intake is full, displaces the stalest
   * accepted deal whose data is not flowing, held by a peer with more slots than this one. Returns the
   * refusal, or null when there is room.
   */
  private async makeRoom(client: Uint8Array, peer: string): Promise<{ code: DealRefusalCode; message: string } | null> {
    const open = [...this.deals.values()].filter((d) => OPEN.has(d.status));
    const ofClient = open.filter((d) => bytesEqual(d.proposal.client, client)).length;
    if (ofClient >= this.limits.maxPerClient) return { code: DealRefusal.clientBusy, message: `this client already has ${ofClient} deals in transfer here (at most ${this.limits.maxPerClient}): finish them first` };
    const held = (p: string) => open.filter((d) => d.peer === p).length;
    const mine = held(peer);
    if (mine >= this.limits.maxPerPeer) return { code: DealRefusal.peerBusy, message: `this peer already has ${mine} deals in transfer here (at most ${this.limits.maxPerPeer})` };
    if (open.length < this.limits.maxInFlight) return null;
    const now = this.deps.nowMs();
    const stalled = open
      .filter((d) => !this.receiving.has(d.id) && now - d.updatedMs >= this.limits.displaceAfterMs && held(d.peer) > mine)
      .sort((a, b) => held(b.peer) - held(a.peer) || a.updatedMs - b.updatedMs)[0];
    if (!stalled) return { code: DealRefusal.busy, message: `${this.limits.maxInFlight} deals are in transfer: try again in a few seconds` };
    await this.fail(stalled, DealRefusal.displaced, 'the data was not flowing while the intake was full: another client took the slot');
    return null;
  }

  /** When an accepted deal's data must be complete: the start allowance plus its size at the least rate. */
  private deadlineMs(deal: ProviderDeal): number {
    return (deal.acceptedMs ?? deal.updatedMs) + this.limits.transferStartMs + Math.ceil((deal.dataBytes * 1000) / this.limits.minBytesPerSecond);
  }

  private view(): ProviderView {
    const { chain } = this.deps;
    const miner = this.deps.miner();
    return {
      chainId: chain.params.chainId,
      miner: miner ? { id: miner.id, sectorSize: miner.sectorSize } : null,
      ask: this.deps.ask()?.order ?? null,
      slot: this.deps.currentSlot(),
      minStartLeadSlots: this.limits.minStartLeadSlots,
      maxStartLeadSlots: this.limits.maxStartLeadSlots,
      minDurationSlots: this.limits.minDurationSlots,
      maxDurationSlots: this.limits.maxDurationSlots,
      nonceUsed: async (client, nonce) => (await dealIdOf(chain.headState(), client, nonce)) !== null || [...this.deals.values()].some((d) => d.status !== 'failed' && bytesEqual(d.proposal.client, client) && d.proposal.nonce === nonce),
      clientEscrowFree: async (client) => {
        const escrow = await getEscrow(chain.headState(), client);
        let pending = 0n;
        for (const d of await this.unpublished()) if (bytesEqual(d.proposal.client, client)) pending += dealPayment(d.proposal) + d.proposal.clientCollateral;
        return escrow.total - escrow.locked - pending;
      },
      providerFundsProblem: async (proposal) => {
        if (!miner) return 'this node runs no miner';
        // Deals accepted here but not yet handed to sealing (the sealing pipeline counts the rest).
        const pending = [...this.deals.values()].filter((d) => OPEN.has(d.status)).map((d) => d.proposal);
        return miner.sink.fundsProblem([...pending, proposal]);
      },
      hasSpaceFor: async (pieceBytes) => {
        const staged = [...this.deals.values()].filter((d) => d.status !== 'failed').reduce((sum, d) => sum + d.proposal.pieceBytes, 0);
        if (staged + pieceBytes > this.limits.maxStagingBytes) return false;
        const fs = await statfs(this.deps.dir);
        // The piece, its sector's data and the sealing layers and replica that follow.
        return fs.bavail * fs.bsize >= 4 * pieceBytes;
      },
    };
  }

  /** Deals accepted here whose publication is not on chain yet (their escrow is not locked yet). */
  private async unpublished(): Promise<ProviderDeal[]> {
    const state = this.deps.chain.headState();
    const out: ProviderDeal[] = [];
    for (const d of this.deals.values()) {
      if (d.status === 'failed') continue;
      if (d.status === 'published' && (await dealIdOf(state, d.proposal.client, d.proposal.nonce)) !== null) continue;
      out.push(d);
    }
    return out;
  }

  /**
   * Drops accepted deals whose data stopped coming or whose start slot passed, and forgets settled
   * records (published: the chain and the sealing pipeline have them; failed: reported) after a day.
   */
  private async sweep(): Promise<void> {
    const now = this.deps.nowMs();
    const slot = this.deps.currentSlot();
    let forgot = false;
    for (const d of this.deals.values()) {
      if (!OPEN.has(d.status)) {
        if (now - d.updatedMs > RECORD_LIFETIME_MS) forgot = this.deals.delete(d.id);
        continue;
      }
      if (d.proposal.startSlot <= slot) await this.fail(d, DealRefusal.failed, 'the piece did not arrive before the deal\'s start slot');
      else if (now > this.deadlineMs(d)) await this.fail(d, DealRefusal.transferTooSlow, `the piece did not arrive in time (${this.limits.transferStartMs / 1000} s to start, then at least ${this.limits.minBytesPerSecond} B/s)`);
      else if (!this.receiving.has(d.id) && now - d.updatedMs > this.limits.transferStartMs) await this.fail(d, DealRefusal.transferTooSlow, `no data for ${this.limits.transferStartMs / 1000} s`);
    }
    if (forgot) await this.persist();
  }

  // ---- status ----

  private async serveStatus(stream: Stream, peer: string): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 });
    try {
      const reply = await this.answerStatus(lp, peer);
      await lp.write(encode(dealStatusReplyCodec, reply));
      await stream.close();
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async answerStatus(lp: ReturnType<typeof lpStream>, peer: string): Promise<{ code: string; stage: string; error: string }> {
    if (!this.limiter.allow(peer, 1, this.deps.nowMs())) return { code: DealRefusal.rateLimited, stage: '', error: 'too many requests: slow down' };
    const { proposalId: raw } = decode(dealStatusRequestCodec, (await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).subarray(), 'status request');
    const deal = this.deals.get(hexKey(raw));
    if (!deal) {
      return { code: DealRefusal.unknownProposal, stage: '', error: 'no proposal with this id here (or its record expired)' };
    }
    if (deal.status === 'failed') return { code: TRANSFER_OK, stage: 'failed', error: `${deal.errorCode ?? DealRefusal.failed}: ${deal.error ?? ''}`.slice(0, 512) };
    const sealing = deal.status === 'published' ? this.deps.miner()?.sink.dealStatus(deal.proposal) : null;
    if (sealing) return { code: TRANSFER_OK, stage: sealing.stage.slice(0, 32), error: (sealing.error ?? '').slice(0, 512) };
    return { code: TRANSFER_OK, stage: deal.status, error: '' };
  }

  // ---- transfers ----

  private async serveTransfer(stream: Stream, peer: string): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: TRANSFER_CHUNK_BYTES });
    let deal: ProviderDeal | undefined;
    try {
      const start = async (code: string, message: string, offset = 0) => lp.write(encode(transferStartCodec, { code, message, offset }));
      const raw = (await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).subarray();
      let id: string;
      try {
        id = hexKey(decode(transferRequestCodec, raw, 'transfer request').proposalId);
      } catch (error) {
        await start(DealRefusal.malformed, errorMessage(error));
        return await stream.close();
      }
      deal = this.deals.get(id);
      if (!deal) {
        await start(DealRefusal.unknownProposal, 'no accepted proposal has this id: propose first');
        return await stream.close();
      }
      if (deal.status === 'failed' || deal.status === 'published') {
        await start(deal.status === 'published' ? TRANSFER_OK : deal.errorCode ?? DealRefusal.failed, deal.error ?? 'already received', deal.dataBytes);
        if (deal.status === 'published') await lp.write(encode(transferReplyCodec, { code: TRANSFER_OK, message: `publishing in tx ${deal.tx}`, received: deal.dataBytes }));
        return await stream.close();
      }
      if (this.receiving.has(id)) {
        await start(DealRefusal.busy, 'this piece is already being sent on another stream');
        return await stream.close();
      }
      this.receiving.add(id);
      try {
        await this.receive(deal, lp, start);
      } finally {
        this.receiving.delete(id);
      }
      await stream.close();
    } catch (error) {
      if (deal && OPEN.has(deal.status)) this.deps.log.info({ deal: deal.id.slice(0, 16), peer, received: deal.received, of: deal.dataBytes, err: errorMessage(error) }, 'Piece transfer interrupted: the client may resume');
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async receive(deal: ProviderDeal, lp: ReturnType<typeof lpStream>, start: (code: string, message: string, offset?: number) => Promise<void>): Promise<void> {
    // What is on disk is what counts (a write cut short by a crash is simply resent).
    deal.received = Math.min((await stat(deal.piecePath)).size, deal.dataBytes);
    await truncate(deal.piecePath, deal.received);
    deal.status = 'receiving';
    await start(TRANSFER_OK, 'send from offset', deal.received);
    const file = await open(deal.piecePath, 'a');
    const log = this.deps.log;
    const began = this.deps.nowMs();
    const firstByte = deal.received;
    let reported = Math.floor((deal.received * 10) / deal.dataBytes);
    try {
      while (deal.received < deal.dataBytes) {
        // Silent for the start allowance, or past the deal's transfer deadline: the slot is freed.
        const wait = Math.min(this.limits.transferStartMs, this.deadlineMs(deal) - this.deps.nowMs());
        if (wait <= 0) {
          await this.fail(deal, DealRefusal.transferTooSlow, `the piece did not arrive in time (at least ${this.limits.minBytesPerSecond} B/s after ${this.limits.transferStartMs / 1000} s)`);
          await lp.write(encode(transferReplyCodec, { code: DealRefusal.transferTooSlow, message: deal.error!, received: deal.received }));
          return;
        }
        const chunk = (await lp.read({ signal: AbortSignal.timeout(wait) })).subarray();
        if (chunk.length === 0) {
          await this.fail(deal, DealRefusal.emptyChunk, 'an empty transfer frame: every frame carries piece bytes');
          await lp.write(encode(transferReplyCodec, { code: DealRefusal.emptyChunk, message: deal.error!, received: deal.received }));
          return;
        }
        if (deal.received + chunk.length > deal.dataBytes) {
          await this.fail(deal, DealRefusal.tooMuchData, `the client sent more than the ${deal.dataBytes} bytes it declared`);
          await lp.write(encode(transferReplyCodec, { code: DealRefusal.tooMuchData, message: deal.error!, received: deal.received }));
          return;
        }
        await file.write(chunk);
        deal.received += chunk.length;
        await lp.write(encode(transferReplyCodec, { code: TRANSFER_RECEIVED, message: '', received: deal.received }));
        deal.updatedMs = this.deps.nowMs();
        const tenth = Math.floor((deal.received * 10) / deal.dataBytes);
        if (tenth > reported) {
          reported = tenth;
          const seconds = Math.max(1e-3, (this.deps.nowMs() - began) / 1000);
          log.info({ deal: deal.id.slice(0, 16), received: deal.received, of: deal.dataBytes, percent: tenth * 10, mbPerSecond: Number(((deal.received - firstByte) / 1e6 / seconds).toFixed(1)) }, 'Receiving piece');
        }
      }
    } finally {
      await file.close();
    }
    const verdict = await this.verifyAndPublish(deal);
    await lp.write(encode(transferReplyCodec, { ...verdict, received: deal.received }));
  }

  /** Checks the received bytes (zero-padded to the piece size) against the commitment, then publishes. */
  private async verifyAndPublish(deal: ProviderDeal): Promise<{ code: string; message: string }> {
    const p = deal.proposal;
    await truncate(deal.piecePath, p.pieceBytes);
    const source = await fileSource(deal.piecePath, p.pieceBytes / 32);
    let root: Uint8Array;
    try {
      root = (await buildTreeCache(source)).root;
    } finally {
      await source.close();
    }
    if (!bytesEqual(root, p.pieceCommitment)) {
      await this.fail(deal, DealRefusal.pieceMismatch, `the data's commitment 0x${hexKey(root)} is not the proposal's 0x${hexKey(p.pieceCommitment)}`);
      await rm(deal.piecePath, { force: true });
      return { code: DealRefusal.pieceMismatch, message: deal.error! };
    }
    const miner = this.deps.miner();
    if (!miner || miner.id !== p.provider) {
      await this.fail(deal, DealRefusal.notAMiner, 'the miner stopped before the deal could be published');
      return { code: DealRefusal.notAMiner, message: deal.error! };
    }
    try {
      const { tx } = await miner.sink.addDeal({ proposal: p, clientSignature: deal.clientSignature, piecePath: deal.piecePath });
      deal.tx = tx;
      deal.status = 'published';
      deal.updatedMs = this.deps.nowMs();
      await this.persist();
      this.deps.log.info({ deal: deal.id.slice(0, 16), tx, pieceBytes: p.pieceBytes }, 'Piece verified: publishing the deal');
      return { code: TRANSFER_OK, message: `publishing in tx ${tx}` };
    } catch (error) {
      await this.fail(deal, DealRefusal.failed, `publishing failed: ${errorMessage(error)}`);
      return { code: DealRefusal.failed, message: deal.error! };
    }
  }

  private async fail(deal: ProviderDeal, code: DealRefusalCode, message: string): Promise<void> {
    deal.status = 'failed';
    deal.errorCode = code;
    deal.error = message;
    deal.updatedMs = this.deps.nowMs();
    if (code !== DealRefusal.pieceMismatch) await rm(deal.piecePath, { force: true });
    this.deps.log.warn({ deal: deal.id.slice(0, 16), code, reason: message }, 'Deal dropped');
    await this.persist();
  }

  // ---- records on disk ----

  /** Durable before it returns; a failed write does not stop later ones (the next persist retries). */
  private persist(): Promise<void> {
    return this.records.save();
  }

  private async load(): Promise<void> {
    const path = join(this.deps.dir, RECORDS_FILE);
    if (!existsSync(path)) return;
    const records = JSON.parse(await readFile(path, 'utf8')) as (Omit<ProviderDeal, 'proposal' | 'clientSignature'> & { proposal: string; clientSignature: string })[];
    for (const r of records) {
      const deal: ProviderDeal = { ...r, proposal: decode(dealProposalCodec, fromHex(r.proposal), 'stored deal proposal'), clientSignature: fromHex(r.clientSignature) };
      // A transfer cut by a restart resumes from what reached the disk.
      if (deal.status === 'receiving') deal.status = 'accepted';
      this.deals.set(deal.id, deal);
    }
  }
}
