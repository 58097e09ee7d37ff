// The block buffer pool: a buffer handed back is handed out again for the same length; other
// lengths, views into larger buffers and buffers past the per-size bound are left to the collector.
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/util/bufferPool.js';

describe('BufferPool', () => {
  it('reuses whole buffers of the pooled sizes, at most perSize of each', () => {
    const pool = new BufferPool([1024], 2);
    const a = pool.take(1024);
    const b = pool.take(1024);
    const c = pool.take(1024);
    expect(new Set([a, b, c]).size).toBe(3);
    pool.give(a);
    pool.give(b);
    pool.give(c); // over the bound: dropped
    expect([pool.take(1024), pool.take(1024)].sort()).toEqual([a, b].sort());
    expect(pool.take(1024)).not.toBe(c);
  });

  it('keeps no other length, no view and no plain Uint8Array', () => {
    const pool = new BufferPool([1024], 4);
    const big = Buffer.allocUnsafe(4096);
    pool.give(big.subarray(0, 1024));
    pool.give(new Uint8Array(1024));
    pool.give(Buffer.allocUnsafe(2048));
    const fresh = pool.take(1024);
    expect(fresh.buffer).not.toBe(big.buffer);
    expect(fresh.length).toBe(1024);
    expect(pool.take(2048).length).toBe(2048);
  });
});
