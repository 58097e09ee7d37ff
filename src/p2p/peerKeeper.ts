// Keeps a node in its network across restarts: remembers the listen addresses of the peers it met
// (peers.json in the data dir, durably), dials them again at start and whenever it has fewer peers
// than it wants, together with any other candidates (the registered miners' on-chain addresses, the
// bootstrap list). A node that has had no peer for a while although it knows of some says so loudly:
// a miner alone mines a fork of its own.
import { readFile } from 'node:fs/promises';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { LRUCache } from 'lru-cache';
import { errorMessage } from '../primitives/index.js';
import { DurableSnapshot } from '../util/durableFile.js';
import type { Logger } from '../util/logger.js';

export interface PeerKeeperOptions {
  libp2p: Libp2p;
  /** Where the peer book is kept. */
  path: string;
  /** More addresses worth dialling (`/.../p2p/<id>`): on-chain miner addresses, bootstrap peers. */
  candidates(): Promise<string[]>;
  now(): number;
  log: Logger;
  /** Between dial rounds (default 5 s). */
  intervalMs?: number;
  /** Dial while fewer peers than this are connected (default 8). */
  targetPeers?: number;
  /** Warn when alone this long while peers are known (default 30 s). */
  isolationWarnMs?: number;
}

const MAX_REMEMBERED = 64;
const DIALS_PER_ROUND = 4;
const DIAL_TIMEOUT_MS = 5_000;

export class PeerKeeper {
  /** Peer id → its listen addresses (with /p2p/), least recently seen out first. */
  private readonly book = new LRUCache<string, string[]>({ max: MAX_REMEMBERED });
  private readonly snapshot: DurableSnapshot;
  private timer: NodeJS.Timeout | null = null;
  private lastPeerMs: number;
  private lastWarnMs = 0;
  private knowsOthers = false;
  private round: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PeerKeeperOptions) {
    this.snapshot = new DurableSnapshot(opts.path, () => JSON.stringify([...this.book.entries()].map(([peerId, addresses]) => ({ peerId, addresses })), null, 1));
    this.lastPeerMs = opts.now();
  }

  async start(): Promise<void> {
    await this.load();
    const { libp2p } = this.opts;
    libp2p.addEventListener('peer:identify', (event) => {
      const peerId = event.detail.peerId.toString();
      const addresses = event.detail.listenAddrs.map((a) => `${a.toString()}/p2p/${peerId}`).slice(0, 8);
      if (addresses.length === 0) return;
      const known = this.book.get(peerId);
      this.book.set(peerId, addresses);
      if (known?.join() !== addresses.join()) void this.snapshot.save().catch((error: unknown) => this.opts.log.warn({ err: errorMessage(error) }, 'Saving the peer book failed'));
    });
    this.schedule(0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.round;
    await this.snapshot.settled();
  }

  /** How long the node has had no peer although it knows of some (null: it has peers, or knows none). */
  isolatedForMs(): number | null {
    if (this.opts.libp2p.getPeers().length > 0 || !this.knowsOthers) return null;
    return this.opts.now() - this.lastPeerMs;
  }

  /** Remembered peers (for operators: bcr_syncStatus). */
  known(): number {
    return this.book.size;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.round = this.dialRound()
        .catch((error: unknown) => this.opts.log.debug({ err: errorMessage(error) }, 'Peer dial round failed'))
        .finally(() => {
          if (this.timer) this.schedule(this.opts.intervalMs ?? 5_000);
        });
    }, delayMs);
  }

  private async dialRound(): Promise<void> {
    const { libp2p, log } = this.opts;
    const connected = new Set(libp2p.getPeers().map((p) => p.toString()));
    if (connected.size > 0) this.lastPeerMs = this.opts.now();
    // Enough peers: no candidates to gather (they read the chain's miner records).
    if (connected.size >= (this.opts.targetPeers ?? 8)) return;
    const self = libp2p.peerId.toString();
    const candidates = new Map<string, string[]>();
    for (const [peerId, addresses] of this.book.entries()) candidates.set(peerId, addresses);
    for (const address of await this.opts.candidates()) {
      const peerId = address.split('/p2p/')[1];
      if (!peerId) continue;
      candidates.set(peerId, [...(candidates.get(peerId) ?? []), address]);
    }
    candidates.delete(self);
    this.knowsOthers = candidates.size > 0;
    this.warnIfIsolated();
    const toDial = [...candidates].filter(([peerId]) => !connected.has(peerId)).slice(0, DIALS_PER_ROUND);
    await Promise.all(
      toDial.map(async ([peerId, addresses]) => {
        const parsed = addresses.flatMap((a) => {
          try {
            return [multiaddr(a)];
          } catch {
            return [];
          }
        });
        if (parsed.length === 0) return;
        try {
          await libp2p.dial(parsed, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
          log.info({ peer: peerId }, 'Reconnected to a known peer');
        } catch (error) {
          log.debug({ peer: peerId, err: errorMessage(error) }, 'Dialling a known peer failed');
        }
      }),
    );
    if (libp2p.getPeers().length > 0) this.lastPeerMs = this.opts.now();
  }

  private warnIfIsolated(): void {
    const alone = this.isolatedForMs();
    const now = this.opts.now();
    if (alone === null || alone < (this.opts.isolationWarnMs ?? 30_000) || now - this.lastWarnMs < 60_000) return;
    this.lastWarnMs = now;
    this.opts.log.warn({ isolatedSeconds: Math.round(alone / 1000), knownPeers: this.book.size }, 'No peers although others are known: this node may be on a fork of its own (check its network, --bootstrap, bcr_syncStatus)');
  }

  private async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.opts.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      for (const entry of JSON.parse(text) as { peerId: string; addresses: string[] }[]) if (typeof entry.peerId === 'string' && Array.isArray(entry.addresses)) this.book.set(entry.peerId, entry.addresses.filter((a) => typeof a === 'string'));
    } catch (error) {
      // A damaged peer book costs only reconnections: start afresh, say so.
      this.opts.log.warn({ path: this.opts.path, err: errorMessage(error) }, 'Peer book unreadable: starting without it');
    }
  }
}
