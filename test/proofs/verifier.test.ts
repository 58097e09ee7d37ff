import { afterAll, describe, expect, it } from 'vitest';
import { WorkerPoolVerifier, buildLevels, packJobs, verifyPacked, createMultiproof, levelsReader, mainThreadVerifier, uniqueSorted, type MultiproofJob } from '../../src/proofs/index.js';
import { sha256, uintToBytesBE } from '../../src/primitives/index.js';

function job(seed: number, depth: number, indices: number[]): MultiproofJob {
  const leaves = new Uint8Array(2 ** depth * 32);
  for (let i = 0; i < 2 ** depth; i++) leaves.set(sha256(uintToBytesBE(seed * 65536 + i, 8)), i * 32);
  const levels = buildLevels(leaves);
  return { root: levels[depth]!.slice(), depth, indices: uniqueSorted(indices), ...createMultiproof(levelsReader(levels), indices) };
}

const pool = new WorkerPoolVerifier(2, 1);
afterAll(() => pool.close());

describe('proof verifiers', () => {
  it('the worker pool and the main thread agree, proof by proof', async () => {
    const jobs = Array.from({ length: 40 }, (_, i) => job(i, 8, [i, (i * 37) % 256, 255 - i]));
    const bad = jobs[17]!.leaves.slice();
    bad[3] ^= 1;
    jobs[17] = { ...jobs[17]!, leaves: bad };
    jobs[30] = { ...jobs[30]!, depth: 9 };
    const expected = jobs.map((_, i) => i !== 17 && i !== 30);
    expect(await mainThreadVerifier.verifyMultiproofs(jobs)).toEqual(expected);
    expect(await pool.verifyMultiproofs(jobs)).toEqual(expected);
  });

  it('split single-path batches (the fast path) agree too, whatever range a worker gets', async () => {
    const jobs = Array.from({ length: 41 }, (_, i) => job(100 + i, 7, [(i * 13) % 128]));
    const bad = jobs[33]!.siblings.slice();
    bad[40] ^= 1;
    jobs[33] = { ...jobs[33]!, siblings: bad };
    const expected = jobs.map((_, i) => i !== 33);
    const packed = packJobs(jobs, true);
    expect(Array.from(await pool.verifyPacked(packed))).toEqual(expected.map(Number));
    expect(Array.from(verifyPacked(packed, 30, 41))).toEqual(expected.slice(30).map(Number));
    expect(await mainThreadVerifier.verifyMultiproofs(jobs)).toEqual(expected);
  });
});
