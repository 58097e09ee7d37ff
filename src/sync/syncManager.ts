// Catching up: ranges of blocks are downloaded from every peer that is ahead, in parallel (a window
// of batches in flight, each batch from the least busy peer that has it, retried elsewhere on
// failure), preverified on worker threads (VRF proofs, signatures) and imported in order. A gossip
// block whose parent is unknown is resolved by walking its ancestors by id from the peer that sent
// it (a short fork), or by a range sync when the peer is far ahead. Progress is logged as height,
// blocks/s and ETA.
import type { PeerId } from '@libp2p/interface';
import { BlockError, blockId, type Block, type BlockPreverifier, type ChainStore } from '../chain/index.js';
import { bytesEqual, errorMessage, hexKey } from '../primitives/index.js';
import type { OffenceKind } from '../p2p/reputation.js';
import { MAX_REQUEST_BLOCKS, type Status } from '../p2p/protocols.js';
import { PeerRateLimiter } from '../util/rateLimit.js';
import { QUOTAS } from '../p2p/reqresp.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** What sync needs of the network (the p2p Network implements it; tests use a fake). */
export interface SyncTransport {
  blocksByRange(peer: PeerId, start: number, count: number): Promise<Block[]>;
  blocksById(peer: PeerId, ids: Uint8Array[]): Promise<Block[]>;
  exchangeStatus(peer: PeerId): Promise<Status | null>;
  penalise(peer: string, offence: OffenceKind): void;
  /** Marks a block as received from the network (so we do not re-gossip it). */
  rememberFromPeers(block: Block): void;
}

export interface SyncOptions {
  chain: ChainStore;
  transport: SyncTransport;
  /** Verifies batches ahead of import on worker threads; none = import verifies everything. */
  preverifier: BlockPreverifier | null;
  clock: Clock;
  log: Logger;
  /** Blocks per request (at most MAX_REQUEST_BLOCKS). */
  batchSize?: number;
  /** Batches in flight at most. */
  maxInFlight?: number;
}

export interface SyncProgress {
  syncing: boolean;
  head: number;
  target: number;
  peers: number;
  blocksPerSecond: number;
  etaSeconds: number | null;
}

interface PeerEntry {
  id: PeerId;
  status: Status;
  inFlight: number;
}

interface Batch {
  start: number;
  count: number;
}

interface Downloaded {
  blocks: Block[];
  peer: string;
  prepared: Promise<void>;
}

class SyncAbort extends Error {}

const MAX_ATTEMPTS = 3;
const PROGRESS_INTERVAL_MS = 2000;

export class SyncManager {
  private readonly peers = new Map<string, PeerEntry>();
  private running: Promise<void> | null = null;
  private rerun = false;
  private readonly resolving = new Set<string>();
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private blocksPerSecond = 0;
  private stopped = false;
  /** We keep to each peer's published block quota ourselves, so an honest peer never refuses us. */
  private readonly selfLimiter = new PeerRateLimiter(QUOTAS.blocks);

  constructor(private readonly opts: SyncOptions) {
    this.batchSize = Math.min(opts.batchSize ?? MAX_REQUEST_BLOCKS, MAX_REQUEST_BLOCKS);
    this.maxInFlight = opts.maxInFlight ?? 16;
  }

  get isSyncing(): boolean {
    return this.running !== null;
  }

  progress(): SyncProgress {
    const head = this.opts.chain.head.header.height;
    const target = Math.max(head, this.targetHeight());
    const bps = this.running ? this.blocksPerSecond : 0;
    return { syncing: this.running !== null, head, target, peers: this.peers.size, blocksPerSecond: Math.round(bps), etaSeconds: bps > 0 ? Math.ceil((target - head) / bps) : null };
  }

  /** A peer's status (on connect or refresh): sync if it is ahead. */
  addPeer(peer: PeerId, status: Status): void {
    const key = peer.toString();
    const entry = this.peers.get(key);
    if (entry) entry.status = status;
    else this.peers.set(key, { id: peer, status, inFlight: 0 });
    if (status.headHeight > this.opts.chain.head.header.height) this.trigger();
  }

  removePeer(peer: PeerId): void {
    this.peers.delete(peer.toString());
  }

  /** Resolves when the current sync (if any) ends. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = this.run()
      .catch((error: unknown) => this.opts.log.warn({ err: errorMessage(error) }, 'Sync failed'))
      .finally(() => {
        this.running = null;
        if (this.rerun && !this.stopped) {
          this.rerun = false;
          if (this.targetHeight() > this.opts.chain.head.header.height) this.trigger();
        }
      });
  }

  private targetHeight(): number {
    let best = 0;
    for (const entry of this.peers.values()) best = Math.max(best, entry.status.headHeight);
    return best;
  }

  /** A gossip block with an unknown parent: fetch its ancestors from the sender, or range-sync. */
  async resolveUnknownParent(peer: PeerId, block: Block): Promise<void> {
    const { chain, transport, log } = this.opts;
    const key = hexKey(block.header.parentId);
    if (this.running || this.resolving.has(key)) return;
    if (block.header.height > chain.head.header.height + chain.params.finality) {
      const status = await transport.exchangeStatus(peer);
      if (status) this.addPeer(peer, status);
      return;
    }
    this.resolving.add(key);
    try {
      const branch: Block[] = [block];
      let parentId = block.header.parentId;
      for (let depth = 0; !(await chain.getHeader(parentId)); depth++) {
        if (depth > chain.params.finality) throw new BlockError('REORG_TOO_DEEP', `no known ancestor within ${chain.params.finality} blocks`);
        await this.withinQuota(peer.toString(), 1);
        const [parent] = await transport.blocksById(peer, [parentId]);
        if (!parent || !bytesEqual(blockId(parent.header), parentId)) {
          transport.penalise(peer.toString(), 'badResponse');
          return;
        }
        branch.unshift(parent);
        parentId = parent.header.parentId;
      }
      log.debug({ peer: peer.toString(), blocks: branch.length, tip: block.header.height }, 'Fetched unknown ancestors');
      for (const b of branch) await this.importOne(b, peer.toString());
    } catch (error) {
      log.debug({ peer: peer.toString(), err: errorMessage(error) }, 'Resolving unknown parent failed');
    } finally {
      this.resolving.delete(key);
    }
  }

  private async importOne(block: Block, peer: string): Promise<boolean> {
    const { chain, clock, transport } = this.opts;
    transport.rememberFromPeers(block);
    try {
      await chain.importBlock(block, clock.now());
      return true;
    } catch (error) {
      if (error instanceof BlockError && error.code === 'ALREADY_KNOWN') return false;
      if (error instanceof BlockError && error.action === 'REJECT') {
        transport.penalise(peer, 'badResponse');
        this.peers.delete(peer);
      }
      throw error;
    }
  }

  private async run(): Promise<void> {
    const { chain, log } = this.opts;
    const startedAt = this.opts.clock.now();
    const startHeight = chain.head.header.height;
    let forked = false;
    log.info({ from: startHeight, target: this.targetHeight(), peers: this.peers.size }, 'Sync started');
    while (!this.stopped && this.targetHeight() > chain.head.header.height) {
      const before = chain.head.header.height;
      // Normally continue from our head; when our tip is on a fork, from just above finality.
      const start = forked ? chain.finalizedHeight + 1 : before + 1;
      const outcome = await this.syncRange(start, this.targetHeight(), startedAt, startHeight);
      if (outcome === 'fork' && !forked) {
        log.info({ head: before, from: chain.finalizedHeight + 1 }, 'Our head is on a fork; syncing from the finalized height');
        forked = true;
        continue;
      }
      if (chain.head.header.height <= before) break; // no progress: wait for new statuses
    }
    const seconds = (this.opts.clock.now() - startedAt) / 1000;
    log.info({ height: chain.head.header.height, imported: chain.head.header.height - startHeight, seconds: Math.round(seconds * 10) / 10, head: `0x${hexKey(chain.head.id).slice(0, 16)}` }, 'Synced');
  }

  /** Downloads [start, target] in batches from all peers, importing in order. */
  private async syncRange(start: number, target: number, startedAt: number, startHeight: number): Promise<'done' | 'fork' | 'stalled'> {
    const { chain, log } = this.opts;
    const batches: Batch[] = [];
    for (let h = start; h <= target; h += this.batchSize) batches.push({ start: h, count: Math.min(this.batchSize, target - h + 1) });
    const window = Math.max(1, Math.min(this.maxInFlight, this.peers.size * 2));
    const downloads: Promise<Downloaded | null>[] = [];
    let launched = 0;
    let lastLog = 0;
    for (let i = 0; i < batches.length; i++) {
      while (launched < batches.length && launched < i + window) downloads[launched] = this.download(batches[launched++]!);
      const downloaded = await downloads[i]!;
      if (!downloaded) return 'stalled';
      await downloaded.prepared;
      for (const [j, block] of downloaded.blocks.entries()) {
        try {
          await this.importOne(block, downloaded.peer);
        } catch (error) {
          if (error instanceof BlockError && error.code === 'PARENT_UNKNOWN' && i === 0 && j === 0) return 'fork';
          log.warn({ peer: downloaded.peer, height: block.header.height, code: error instanceof BlockError ? error.code : undefined, err: errorMessage(error) }, 'Sync batch import failed');
          return 'stalled';
        }
      }
      // A short answer (the peer's head moved or it reorganised): start a new round from our head.
      if (downloaded.blocks.length < batches[i]!.count) return 'done';
      const now = this.opts.clock.now();
      const seconds = Math.max(1e-3, (now - startedAt) / 1000);
      this.blocksPerSecond = (chain.head.header.height - startHeight) / seconds;
      if (now - lastLog >= PROGRESS_INTERVAL_MS || i === batches.length - 1) {
        lastLog = now;
        const p = this.progress();
        log.info({ height: p.head, target: p.target, blocksPerSecond: p.blocksPerSecond, etaSeconds: p.etaSeconds, peers: p.peers }, 'Sync progress');
      }
    }
    return 'done';
  }

  /** One batch from the least busy peer that has it; another peer on failure. Never rejects: null when no peer could serve it. */
  private async download(batch: Batch): Promise<Downloaded | null> {
    const { transport, log } = this.opts;
    const tried = new Set<string>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const peer = this.pickPeer(batch, tried);
      if (!peer) return null;
      const key = peer.id.toString();
      tried.add(key);
      peer.inFlight++;
      try {
        await this.withinQuota(key, batch.count);
        const blocks = await transport.blocksByRange(peer.id, batch.start, batch.count);
        this.checkBatch(batch, blocks);
        const prepared = this.opts.preverifier?.prepare(blocks).catch((error: unknown) => log.debug({ err: errorMessage(error) }, 'Preverification failed')) ?? Promise.resolve();
        return { blocks, peer: key, prepared };
      } catch (error) {
        const offence: OffenceKind = error instanceof SyncAbort ? 'badResponse' : 'unresponsive';
        transport.penalise(key, offence);
        log.debug({ peer: key, start: batch.start, err: errorMessage(error) }, 'Batch download failed; trying another peer');
      } finally {
        peer.inFlight--;
      }
    }
    return null;
  }

  private async withinQuota(peer: string, blocks: number): Promise<void> {
    while (!this.stopped && !this.selfLimiter.allow(peer, blocks, performance.now())) await new Promise((resolve) => setTimeout(resolve, 25));
  }

  private pickPeer(batch: Batch, tried: ReadonlySet<string>): PeerEntry | null {
    let best: PeerEntry | null = null;
    for (const [key, entry] of this.peers) {
      if (tried.has(key) || entry.status.headHeight < batch.start) continue;
      if (!best || entry.inFlight < best.inFlight) best = entry;
    }
    return best;
  }

  /** A batch must be the consecutive blocks we asked for, each the child of the one before. */
  private checkBatch(batch: Batch, blocks: Block[]): void {
    if (blocks.length === 0) throw new Error('empty response');
    if (blocks.length > batch.count) throw new SyncAbort(`${blocks.length} blocks for a request of ${batch.count}`);
    blocks.forEach((block, i) => {
      if (block.header.height !== batch.start + i) throw new SyncAbort(`block ${i} has height ${block.header.height}, expected ${batch.start + i}`);
      if (i > 0 && !bytesEqual(block.header.parentId, blockId(blocks[i - 1]!.header))) throw new SyncAbort(`block at height ${block.header.height} does not extend the one before`);
    });
  }
}
