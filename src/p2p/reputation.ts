// How much we trust each peer, outside gossipsub's own mesh scoring: penalties for invalid gossip,
// bad sync responses and request floods add up, decay with time, feed gossipsub's application
// score (so the mesh prunes the peer), and past a threshold ban the peer for a while.
import { LRUCache } from 'lru-cache';

/** What a peer did wrong, and what it costs. */
export const Offence = {
  /** A gossip message or pushed tx we rejected (undecodable, invalid signature or proof). */
  invalidGossip: 1,
  /** A request beyond its rate limit. */
  overQuota: 1,
  /** A malformed or oversized request. */
  badRequest: 2,
  /** A sync response with an invalid block, or blocks we did not ask for. */
  badResponse: 5,
  /** A sync request that failed or timed out. */
  unresponsive: 0.5,
} as const;
export type OffenceKind = keyof typeof Offence;

export interface ReputationOptions {
  /** Penalty at which a peer is banned. */
  banThreshold: number;
  banMs: number;
  /** Penalties halve every this many ms. */
  halfLifeMs: number;
}

export const DEFAULT_REPUTATION: ReputationOptions = { banThreshold: 10, banMs: 10 * 60_000, halfLifeMs: 5 * 60_000 };

interface Record {
  penalty: number;
  updatedMs: number;
}

export class PeerReputation {
  // Least recently penalised peers are forgotten first: fresh peer ids cannot wipe a flooder's record.
  private readonly records = new LRUCache<string, Record>({ max: 10_000 });
  private readonly bannedUntil = new Map<string, number>();

  constructor(
    private readonly options: ReputationOptions,
    private readonly now: () => number,
    /** Called once when a peer crosses the ban threshold. */
    private readonly onBan: (peer: string, offence: OffenceKind) => void,
  ) {}

  /** Current penalty after decay (0 = clean). */
  penalty(peer: string): number {
    const record = this.records.get(peer);
    if (!record) return 0;
    const elapsed = this.now() - record.updatedMs;
    return record.penalty * 0.5 ** (elapsed / this.options.halfLifeMs);
  }

  /** Gossipsub application-specific score: 0 for a clean peer, more negative as penalties grow. */
  score(peer: string): number {
    return -this.penalty(peer);
  }

  penalise(peer: string, offence: OffenceKind): void {
    if (this.isBanned(peer)) return;
    const penalty = this.penalty(peer) + Offence[offence];
    if (penalty < this.options.banThreshold) {
      this.records.set(peer, { penalty, updatedMs: this.now() });
      return;
    }
    this.records.delete(peer);
    this.bannedUntil.set(peer, this.now() + this.options.banMs);
    this.onBan(peer, offence);
  }

  isBanned(peer: string): boolean {
    const until = this.bannedUntil.get(peer);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.bannedUntil.delete(peer);
    return false;
  }

  unban(peer: string): void {
    this.bannedUntil.delete(peer);
  }

  banned(): string[] {
    return [...this.bannedUntil.keys()].filter((peer) => this.isBanned(peer));
  }
}
