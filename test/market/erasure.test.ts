// The erasure code (@ronomon/reed-solomon): any K of K+M shards rebuild the file, for random files,
// shapes and losses; fewer than K cannot.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeShards, encodeShards, shardSizeFor } from '../../src/market/index.js';

describe('Reed-Solomon shards', () => {
  it('rebuild the file from any K of K+M shards', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ minLength: 1, maxLength: 5000 }), fc.nat(), async (k, m, data, pick) => {
        const { shards, shardBytes } = await encodeShards(data, k, m);
        expect(shards).toHaveLength(k + m);
        expect(shardBytes).toBe(shardSizeFor(data.length, k));
        // Drop M shards chosen from `pick`.
        const kept: (Uint8Array | null)[] = shards.map((s) => s);
        const order = shards.map((_, i) => i).sort((a, b) => ((a * 7919 + pick) % 101) - ((b * 7919 + pick) % 101));
        for (const i of order.slice(0, m)) kept[i] = null;
        expect(await decodeShards(kept, k, m, shardBytes, data.length)).toEqual(data);
      }),
      { numRuns: 120 },
    );
  });

  it('refuses to rebuild from fewer than K shards', async () => {
    const { shards, shardBytes } = await encodeShards(new Uint8Array(100).fill(7), 3, 2);
    await expect(decodeShards([shards[0]!, null, null, null, shards[4]!], 3, 2, shardBytes, 100)).rejects.toThrow(/cannot rebuild/);
  });
});
