// Request quotas per key (a peer and protocol, a remote address): one token bucket per key,
// refilled continuously. Time comes in as an argument so the limiter is testable without sleeping.
import { LRUCache } from 'lru-cache';

export interface Quota {
  /** Most tokens a peer can hold (its burst). */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly quota: Quota,
    nowMs: number,
  ) {
    this.tokens = quota.capacity;
    this.updatedMs = nowMs;
  }

  /** Takes `cost` tokens if the bucket holds them; false (and nothing taken) otherwise. */
  take(cost: number, nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.updatedMs) / 1000;
    this.tokens = Math.min(this.quota.capacity, this.tokens + elapsed * this.quota.refillPerSecond);
    this.updatedMs = nowMs;
    if (cost > this.tokens) return false;
    this.tokens -= cost;
    return true;
  }
}

export class PeerRateLimiter {
  // (Keyed by peer id, or by remote address for the HTTP gateway.)
  // Least recently seen peers are forgotten first: fresh peer ids cannot reset an active flooder's bucket.
  private readonly buckets = new LRUCache<string, TokenBucket>({ max: 10_000 });

  constructor(private readonly quota: Quota) {}

  allow(peer: string, cost: number, nowMs: number): boolean {
    let bucket = this.buckets.get(peer);
    if (!bucket) {
      bucket = new TokenBucket(this.quota, nowMs);
      this.buckets.set(peer, bucket);
    }
    return bucket.take(cost, nowMs);
  }

  forget(peer: string): void {
    this.buckets.delete(peer);
  }
}
