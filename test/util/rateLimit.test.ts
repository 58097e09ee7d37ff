import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { PeerRateLimiter, TokenBucket } from '../../src/util/rateLimit.js';
import { PeerReputation } from '../../src/p2p/reputation.js';

describe('TokenBucket', () => {
  it('allows a burst up to capacity, then refills at its rate', () => {
    const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 2 }, 0);
    expect(bucket.take(10, 0)).toBe(true);
    expect(bucket.take(1, 0)).toBe(false);
    expect(bucket.take(1, 400)).toBe(false); // 0.8 tokens
    expect(bucket.take(1, 500)).toBe(true); // 1 token
    expect(bucket.take(5, 10_000)).toBe(true); // capped at 10
    expect(bucket.take(6, 10_000)).toBe(false);
  });

  test.prop([fc.array(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 2000 })), { maxLength: 200 })])(
    'never grants more than capacity + rate x elapsed time',
    (requests) => {
      const quota = { capacity: 16, refillPerSecond: 8 };
      const bucket = new TokenBucket(quota, 0);
      let now = 0;
      let granted = 0;
      for (const [cost, gap] of requests) {
        now += gap;
        if (bucket.take(cost, now)) granted += cost;
      }
      expect(granted).toBeLessThanOrEqual(quota.capacity + (quota.refillPerSecond * now) / 1000 + 1e-9);
    },
  );

  it('keeps one bucket per peer', () => {
    const limiter = new PeerRateLimiter({ capacity: 2, refillPerSecond: 1 });
    expect(limiter.allow('a', 2, 0)).toBe(true);
    expect(limiter.allow('a', 1, 0)).toBe(false);
    expect(limiter.allow('b', 2, 0)).toBe(true);
  });
});

describe('PeerReputation', () => {
  it('bans a peer once its penalties reach the threshold, and the ban expires', () => {
    let now = 0;
    const bans: string[] = [];
    const reputation = new PeerReputation({ banThreshold: 10, banMs: 60_000, halfLifeMs: 60_000 }, () => now, (peer) => bans.push(peer));
    for (let i = 0; i < 9; i++) reputation.penalise('p', 'invalidGossip');
    expect(reputation.score('p')).toBeCloseTo(-9);
    expect(bans).toEqual([]);
    reputation.penalise('p', 'invalidGossip');
    expect(bans).toEqual(['p']);
    expect(reputation.isBanned('p')).toBe(true);
    reputation.penalise('p', 'badResponse'); // no second ban while banned
    expect(bans).toEqual(['p']);
    now += 60_001;
    expect(reputation.isBanned('p')).toBe(false);
  });

  it('lets penalties decay: a slow trickle of offences is never banned', () => {
    let now = 0;
    const bans: string[] = [];
    const reputation = new PeerReputation({ banThreshold: 10, banMs: 60_000, halfLifeMs: 60_000 }, () => now, (peer) => bans.push(peer));
    for (let i = 0; i < 100; i++) {
      reputation.penalise('slow', 'overQuota');
      now += 60_000; // halves between offences: the penalty stays below 2
    }
    expect(bans).toEqual([]);
    expect(reputation.penalty('slow')).toBeLessThan(2);
  });
});
