import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { sha256, uintToBytesBE } from '../../src/primitives/index.js';
import { PROOF_PROFILES, maxWindowPostBytes, merkleRoot, postChallenges, provePost, replicaIdOf, sealInMemory, verifyPost, winningSectorPicks, type PostSector, type ProofParams } from '../../src/proofs/index.js';
import { MAX_PAYLOAD_BYTES } from '../../src/state/index.js';
import { provableOf } from './helpers.js';

const params = PROOF_PROFILES.test;
const rand = (n: number) => sha256(uintToBytesBE(n, 8));

function sealSector(p: ProofParams, n: number) {
  const data = new Uint8Array(p.sectorSize);
  for (let i = 0; i < data.length; i += 32) data.set(sha256(uintToBytesBE(n * 1_000_000 + i, 8)), i);
  return sealInMemory(p, replicaIdOf(3, n, rand(n), merkleRoot(data.slice())), data);
}

describe('proofs of spacetime', () => {
  const sealed = [1, 2, 3, 4, 5].map((n) => sealSector(params, n));
  const sectors: PostSector[] = sealed.map((s, i) => ({ sectorNumber: i + 1, commR: s.commR }));

  it('an honest WindowPoSt over a partition verifies', async () => {
    const proof = await provePost(params, 'window', rand(77), await Promise.all(sealed.map((s, i) => provableOf(i + 1, s))));
    expect(verifyPost(params, 'window', rand(77), sectors, proof)).toBeNull();
  });

  it('fails for other randomness, a wrong CommR, reordered or missing sectors, or the other PoSt kind', async () => {
    const proof = await provePost(params, 'window', rand(77), await Promise.all(sealed.map((s, i) => provableOf(i + 1, s))));
    expect(verifyPost(params, 'window', rand(78), sectors, proof)).toBe('BAD_OPENING');
    expect(verifyPost(params, 'winning', rand(77), sectors, proof)).toBe('BAD_OPENING');
    expect(verifyPost(params, 'window', rand(77), sectors.map((s, i) => (i === 2 ? { ...s, commR: sha256(s.commR) } : s)), proof)).toBe('COMM_R_MISMATCH');
    expect(verifyPost(params, 'window', rand(77), [...sectors].reverse(), proof)).toBe('COMM_R_MISMATCH');
    expect(verifyPost(params, 'window', rand(77), sectors.slice(1), proof)).toBe('WRONG_SECTOR_COUNT');
    expect(verifyPost(params, 'window', rand(77), sectors, proof.subarray(1))).toBe('MALFORMED');
  });

  it('a full partition\'s WindowPoSt fits one tx in every profile (the size bound holds for real proofs)', async () => {
    for (const seed of [77, 78, 79]) {
      const proof = await provePost(params, 'window', rand(seed), await Promise.all(sealed.map((s, i) => provableOf(i + 1, s))));
      expect(proof.length).toBeLessThanOrEqual(maxWindowPostBytes(params, sealed.length));
    }
    for (const [name, profile] of Object.entries(PROOF_PROFILES)) {
      // The submitWindowPost payload around the proof: miner, deadline, partition and headers.
      expect(maxWindowPostBytes(profile, profile.windowPostPartitionSectors) + 64, name).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    }
  });

  test.prop([fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 60 })('fails when any byte is altered', async (at, xor) => {
    const proof = await provePost(params, 'window', rand(5), await Promise.all(sealed.map((s, i) => provableOf(i + 1, s))));
    const bad = proof.slice();
    bad[at % bad.length] ^= xor;
    expect(verifyPost(params, 'window', rand(5), sectors, bad)).not.toBeNull();
  });

  it('WinningPoSt proves the sectors the randomness picks', async () => {
    const picks = winningSectorPicks(params, rand(9), sealed.length);
    expect(picks.length).toBe(params.winningSectors);
    const chosen = picks.map((i) => sealed[i]!);
    const proof = await provePost(params, 'winning', rand(9), await Promise.all(picks.map((i, k) => provableOf(i + 1, chosen[k]!))));
    expect(verifyPost(params, 'winning', rand(9), picks.map((i) => sectors[i]!), proof)).toBeNull();
  });

  it('a miner that deleted 10% of a replica fails WindowPoSt as often as (1 - 0.1)^k predicts', async () => {
    const big = { ...params, sectorSize: 32 * 1024 }; // 1,024 leaves
    const sector = sealSector(big, 9);
    const damaged = sector.replica.slice();
    const leaves = big.sectorSize / 32;
    // The best cheater deletes whole sibling pairs (a lone leaf would also cost its neighbour's
    // challenges) and keeps every inner tree node: it can answer exactly the challenges that miss.
    const deleted = new Set<number>();
    for (let j = 0; deleted.size < Math.round(leaves * 0.1); j++) {
      const pair = Number(BigInt('0x' + Buffer.from(sha256(uintToBytesBE(j, 4))).toString('hex')) % BigInt(leaves / 2));
      deleted.add(2 * pair);
      deleted.add(2 * pair + 1);
    }
    for (const leaf of deleted) damaged.fill(0, leaf * 32, leaf * 32 + 32);
    const prover = await provableOf(9, sector, damaged, 1);
    const trials = 1500;
    let passed = 0;
    for (let t = 0; t < trials; t++) {
      const proof = await provePost(big, 'window', rand(t), [prover]);
      const hit = postChallenges(big, 'window', rand(t), 9).some((c) => deleted.has(c));
      const ok = verifyPost(big, 'window', rand(t), [{ sectorNumber: 9, commR: sector.commR }], proof) === null;
      expect(ok).toBe(!hit);
      if (ok) passed++;
    }
    const predicted = (1 - deleted.size / leaves) ** big.postChallenges; // ~0.35 for f = 0.1, k = 10
    const sd = Math.sqrt(trials * predicted * (1 - predicted));
    expect(Math.abs(passed - trials * predicted)).toBeLessThan(4 * sd); // fixed seeds: deterministic
  });
});
