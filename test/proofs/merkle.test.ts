import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { MerkleTree } from 'merkletreejs';
import { describe, expect, it } from 'vitest';
import { TreeReader, bufferSource, buildLevels, buildTreeCache, createMultiproof, fileSource, levelsReader, merkleRoot, uniqueSorted, verifyMultiproof, verifyMultiproofs, type MultiproofJob } from '../../src/proofs/index.js';

const sha = (data: Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest());

function randomLeaves(count: number, seed: number): Uint8Array {
  const out = new Uint8Array(count * 32);
  for (let i = 0; i < count; i++) out.set(sha(new Uint8Array([seed & 0xff, seed >> 8, i & 0xff, i >> 8])), i * 32);
  return out;
}

const arbTree = fc.record({ depth: fc.integer({ min: 1, max: 9 }), seed: fc.nat({ max: 65535 }) }).chain(({ depth, seed }) =>
  fc.record({
    depth: fc.constant(depth),
    seed: fc.constant(seed),
    indices: fc.uniqueArray(fc.nat({ max: 2 ** depth - 1 }), { minLength: 1, maxLength: Math.min(12, 2 ** depth) }),
  }),
);

function jobFor(depth: number, seed: number, indices: number[]): MultiproofJob {
  const levels = buildLevels(randomLeaves(2 ** depth, seed));
  const proof = createMultiproof(levelsReader(levels), indices);
  return { root: levels[depth]!.slice(), depth, indices: uniqueSorted(indices), ...proof };
}

describe('Merkle trees', () => {
  it('match an independent computation (node:crypto by hand and merkletreejs)', () => {
    const leaves = randomLeaves(4, 1);
    const l = (i: number) => leaves.subarray(i * 32, i * 32 + 32);
    const byHand = sha(Buffer.concat([sha(Buffer.concat([l(0), l(1)])), sha(Buffer.concat([l(2), l(3)]))]));
    expect(merkleRoot(leaves)).toEqual(byHand);
    const big = randomLeaves(256, 2);
    const peer = new MerkleTree(Array.from({ length: 256 }, (_, i) => Buffer.from(big.subarray(i * 32, i * 32 + 32))), (d: Buffer) => createHash('sha256').update(d).digest(), { hashLeaves: false, sortPairs: false });
    expect(Buffer.from(merkleRoot(big)).toString('hex')).toBe(peer.getRoot().toString('hex'));
  });

  test.prop([fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 14 }), fc.nat({ max: 1000 })])('a tree cache gives the same root and nodes at any cache level', async (depth, cacheLevel, seed) => {
    const leaves = randomLeaves(2 ** depth, seed);
    const levels = buildLevels(leaves);
    const source = bufferSource(leaves, 2 ** depth);
    const cache = await buildTreeCache(source, cacheLevel);
    expect(cache.root).toEqual(levels[depth]);
    const reader = new TreeReader(source, cache);
    const probe = seed % 2 ** depth;
    await reader.load([probe]);
    for (let level = 0; level <= depth; level++) expect(reader.node(level, probe >> level)).toEqual(levels[level]!.subarray((probe >> level) * 32, (probe >> level) * 32 + 32));
  });

  it('pads files with zero leaves to a power of two', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bcr-merkle-'));
    try {
      const data = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
      writeFileSync(join(dir, 'f'), data);
      const source = await fileSource(join(dir, 'f'));
      expect(source.leafCount).toBe(32);
      const padded = new Uint8Array(32 * 32);
      padded.set(data);
      expect((await buildTreeCache(source, 3)).root).toEqual(merkleRoot(padded));
      await source.close();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('multiproofs', () => {
  test.prop([arbTree])('honest multiproofs verify, alone and in a batch', ({ depth, seed, indices }) => {
    const job = jobFor(depth, seed, indices);
    expect(verifyMultiproof(job)).toBe(true);
    expect(verifyMultiproofs([job, jobFor(depth, seed + 1, indices), job])).toEqual([true, true, true]);
  });

  test.prop([arbTree, fc.nat(), fc.integer({ min: 1, max: 255 })])('fail when any leaf or sibling byte is altered', ({ depth, seed, indices }, at, xor) => {
    const job = jobFor(depth, seed, indices);
    const leaves = job.leaves.slice();
    leaves[at % leaves.length] ^= xor;
    const good = jobFor(depth, seed, indices);
    const results = verifyMultiproofs([{ ...job, leaves }, good]);
    expect(results).toEqual([false, true]);
    if (job.siblings.length) {
      const siblings = job.siblings.slice();
      siblings[at % siblings.length] ^= xor;
      expect(verifyMultiproof({ ...job, siblings })).toBe(false);
    }
  });

  test.prop([arbTree, fc.nat()])('fail for another index, depth, root, or a missing/extra sibling', ({ depth, seed, indices }, pick) => {
    const job = jobFor(depth, seed, indices);
    const sorted = Array.from(job.indices);
    const i = pick % sorted.length;
    const moved = sorted.map((x, k) => (k === i ? x ^ 1 : x));
    if (new Set(moved).size === moved.length) {
      const reordered = [...moved].sort((a, b) => a - b);
      // Moving one index to its sibling keeps the shape; the same leaves then sit elsewhere.
      const leavesMatch = reordered.every((x, k) => x === sorted[k]);
      if (!leavesMatch) expect(verifyMultiproof({ ...job, indices: reordered })).toBe(false);
    }
    expect(verifyMultiproof({ ...job, depth: depth + 1 })).toBe(false);
    if (depth > 1) expect(verifyMultiproof({ ...job, depth: depth - 1 })).toBe(false);
    expect(verifyMultiproof({ ...job, root: sha(job.root) })).toBe(false);
    expect(verifyMultiproof({ ...job, siblings: new Uint8Array([...job.siblings, ...new Uint8Array(32)]) })).toBe(false);
    if (job.siblings.length) expect(verifyMultiproof({ ...job, siblings: job.siblings.subarray(32) })).toBe(false);
    expect(verifyMultiproof({ ...job, indices: [...sorted].reverse() })).toBe(sorted.length === 1);
    expect(verifyMultiproof({ ...job, indices: sorted.map((x) => x + 2 ** depth) })).toBe(false);
  });

  it('shares siblings: two adjacent leaves need one sibling per level above the first', () => {
    const job = jobFor(6, 9, [10, 11]);
    expect(job.siblings.length / 32).toBe(5);
    expect(jobFor(6, 9, [0, 63]).siblings.length / 32).toBe(10);
  });
});

describe('single-path batches (the fast path)', () => {
  test.prop([fc.integer({ min: 1, max: 12 }), fc.array(fc.nat(), { minLength: 2, maxLength: 20 }), fc.nat()])('verify all honest paths and reject exactly the corrupted one', (depth, picks, corrupt) => {
    const jobs = picks.map((pick, i) => jobFor(depth, i, [pick % 2 ** depth]));
    expect(verifyMultiproofs(jobs).every(Boolean)).toBe(true);
    const victim = corrupt % jobs.length;
    const siblings = jobs[victim]!.siblings.slice();
    siblings[corrupt % siblings.length] ^= 1;
    const results = verifyMultiproofs(jobs.map((j, i) => (i === victim ? { ...j, siblings } : j)));
    expect(results).toEqual(jobs.map((_, i) => i !== victim));
    const short = verifyMultiproofs(jobs.map((j, i) => (i === victim ? { ...j, siblings: j.siblings.subarray(32) } : j)));
    expect(short[victim]).toBe(false);
  });
});
