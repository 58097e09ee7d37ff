// Proving a partition from a disk where some replicas went bad: the good sectors are proven, the bad
// ones skipped with their reasons, and the proof that goes out verifies for exactly the good ones.
import { describe, expect, it } from 'vitest';
import { TreeReader, bufferSource, buildTreeCache, commROf, replicaIdOf, sealInMemory, verifyPost, type LeafSource, type ProvableSector } from '../../src/proofs/index.js';
import { provePartition, type ReplicaAccess } from '../../src/miner/windowPost.js';
import { SectorProver } from '../../src/miner/remoteSectors.js';
import { TEST_PROOFS } from '../helpers/chain.js';

const randomness = new Uint8Array(32).fill(7);

async function sealed(number: number, damage?: (replica: Uint8Array) => LeafSource) {
  const s = sealInMemory(TEST_PROOFS, replicaIdOf(1, number, new Uint8Array(32).fill(number), new Uint8Array(32)), new Uint8Array(TEST_PROOFS.sectorSize));
  const cache = await buildTreeCache(bufferSource(s.replica), 3);
  const source = damage ? damage(s.replica.slice()) : bufferSource(s.replica);
  const provable: ProvableSector = { sectorNumber: number, commC: s.commC, commRLast: s.commRLast, replica: new TreeReader(source, cache) };
  return { number, commR: commROf(s.commC, s.commRLast), provable };
}

describe('provePartition', () => {
  it('proves the sectors whose replicas answer and skips the rest, each with its reason', async () => {
    const good = [await sealed(0), await sealed(4)];
    // Sector 1: every byte flipped on disk after its tree was cached. Sector 2: the file is gone.
    // Sector 3: opening it fails. Sector 5: reads fail.
    const corrupt = await sealed(1, (replica) => bufferSource(replica.map((b) => b ^ 0xff)));
    const unreadable = await sealed(5, () => ({ leafCount: TEST_PROOFS.sectorSize / 32, readLeaves: () => Promise.reject(new Error('EIO: i/o error, read')) }));
    const sectors = new Map([...good, corrupt, unreadable].map((s) => [s.number, s]));
    const replicas: ReplicaAccess = {
      has: async (n) => n !== 2,
      provable: async (n) => {
        if (n === 3) throw new Error('replica of sector 3 no longer matches its CommRLast');
        return sectors.get(n)!.provable;
      },
    };
    const due = [0, 1, 2, 3, 4, 5].map((number) => ({ number, commR: sectors.get(number)?.commR ?? new Uint8Array(32) }));
    const result = await provePartition(TEST_PROOFS, randomness, due, replicas);
    expect(result.proven).toEqual([0, 4]);
    expect(result.skipped.map((s) => s.sector)).toEqual([1, 2, 3, 5]);
    expect(result.skipped.map((s) => s.reason)).toEqual([expect.stringMatching(/does not verify/), 'replica file missing', expect.stringMatching(/no longer matches/), expect.stringMatching(/EIO/)]);
    expect(verifyPost(TEST_PROOFS, 'window', randomness, good.map((s) => ({ sectorNumber: s.number, commR: s.commR })), result.proof)).toBeNull();

    expect(await new SectorProver(TEST_PROOFS, replicas, null).check({ number: 0, commR: good[0]!.commR }, 0, randomness)).toBeNull();
    expect(await new SectorProver(TEST_PROOFS, replicas, null).check({ number: 1, commR: corrupt.commR }, 0, randomness)).toMatch(/does not verify/);
  });

  it('skips every sector when none can be proven: the proof is empty and verifies for no sectors', async () => {
    const replicas: ReplicaAccess = { has: async () => false, provable: () => Promise.reject(new Error('unreachable')) };
    const result = await provePartition(TEST_PROOFS, randomness, [{ number: 0, commR: new Uint8Array(32) }], replicas);
    expect(result).toMatchObject({ proven: [], skipped: [{ sector: 0, reason: 'replica file missing' }] });
    expect(verifyPost(TEST_PROOFS, 'window', randomness, [], result.proof)).toBeNull();
  });
});
