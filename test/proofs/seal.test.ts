import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { sha256, uintToBytesBE } from '../../src/primitives/index.js';
import { PROOF_PROFILES, SectorFiles, merkleRoot, parentTable, porepChallenges, provePorep, replicaIdOf, sealFile, sealInMemory, unseal, verifyPorep } from '../../src/proofs/index.js';
import { porepProverOf } from './helpers.js';

const params = PROOF_PROFILES.test;
const seedOf = (n: number) => sha256(uintToBytesBE(n, 8));
const dataOf = (n: number) => {
  const out = new Uint8Array(params.sectorSize);
  for (let i = 0; i < out.length; i += 32) out.set(sha256(uintToBytesBE(n * 100_000 + i, 8)), i);
  return out;
};

describe('sealing', () => {
  test.prop([fc.nat({ max: 1000 })], { numRuns: 8 })('unseal(seal(d)) == d', (n) => {
    const data = dataOf(n);
    const replicaId = replicaIdOf(7, n, seedOf(n), merkleRoot(data.slice()));
    const sealed = sealInMemory(params, replicaId, data);
    expect(sealed.replica).not.toEqual(data);
    expect(unseal(params, replicaId, sealed.replica)).toEqual(data);
  });

  it('gives each replica id its own replica and graph', () => {
    const data = dataOf(1);
    const a = sealInMemory(params, replicaIdOf(1, 1, seedOf(1), merkleRoot(data.slice())), data);
    const b = sealInMemory(params, replicaIdOf(1, 2, seedOf(1), merkleRoot(data.slice())), data);
    expect(a.commD).toEqual(b.commD);
    expect(a.commR).not.toEqual(b.commR);
    expect(parentTable(a.replicaId, 64, params)).not.toEqual(parentTable(b.replicaId, 64, params));
  });

  it('parents are earlier nodes (DRG) and in range (expander)', () => {
    const table = parentTable(seedOf(3), 4096, params);
    for (let node = 1; node < 4096; node++) {
      for (let j = 0; j < params.drgParents; j++) expect(table[node * 8 + j]).toBeLessThan(node);
      for (let j = 0; j < params.expanderParents; j++) expect(table[node * 8 + params.drgParents + j]).toBeLessThan(4096);
    }
  });

  it('sealing a file streams to the same commitments as in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bcr-seal-'));
    try {
      const data = dataOf(5);
      const short = data.subarray(0, 1500); // padded with zeros to the sector size
      const padded = new Uint8Array(params.sectorSize);
      padded.set(short);
      writeFileSync(join(dir, 'piece'), short);
      const replicaId = replicaIdOf(9, 3, seedOf(2), merkleRoot(padded.slice()));
      const progress: string[] = [];
      const sealed = await sealFile({ params, replicaId, dataPath: join(dir, 'piece'), dir: join(dir, 's'), onProgress: (p) => progress.push(p.phase) });
      const inMemory = sealInMemory(params, replicaId, padded);
      expect(sealed.commR).toEqual(inMemory.commR);
      expect(sealed.commD).toEqual(inMemory.commD);
      expect(new Uint8Array(readFileSync(join(dir, 's', SectorFiles.replica)))).toEqual(inMemory.replica);
      expect(new Set(progress)).toEqual(new Set(['commd', 'labels', 'replica']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('proof of replication', () => {
  const data = dataOf(11);
  const commD = merkleRoot(data.slice());
  const replicaId = replicaIdOf(42, 7, seedOf(99), commD);
  const sealed = sealInMemory(params, replicaId, data);
  const seed = seedOf(1234);
  const statement = { params, replicaId, commD, commR: sealed.commR, seed };

  it('verifies when honest', async () => {
    const proof = await provePorep(await porepProverOf(params, sealed, data), seed);
    expect(verifyPorep(statement, proof)).toBeNull();
    expect(porepChallenges(params, replicaId, seed).length).toBeGreaterThan(params.porepChallenges / 2);
  });

  it('fails for another seed, replica id, CommR or CommD', async () => {
    const proof = await provePorep(await porepProverOf(params, sealed, data), seed);
    expect(verifyPorep({ ...statement, seed: seedOf(1) }, proof)).not.toBeNull();
    expect(verifyPorep({ ...statement, replicaId: replicaIdOf(42, 8, seedOf(99), commD) }, proof)).not.toBeNull();
    expect(verifyPorep({ ...statement, commR: sha256(sealed.commR) }, proof)).toBe('COMM_R_MISMATCH');
    expect(verifyPorep({ ...statement, commD: sha256(commD) }, proof)).toBe('BAD_OPENING');
  });

  test.prop([fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 60 })('fails when any byte of the proof is altered', async (at, xor) => {
    const proof = await provePorep(await porepProverOf(params, sealed, data), seed);
    const bad = proof.slice();
    bad[at % bad.length] ^= xor;
    expect(verifyPorep(statement, bad)).not.toBeNull();
  });

  it('rejects a replica whose labels were computed for another replica id', async () => {
    const fakeId = replicaIdOf(42, 8, seedOf(99), commD);
    const fake = sealInMemory(params, fakeId, data);
    // The cheater publishes a CommR from a cheaper replica and answers with its real openings.
    const proof = await provePorep({ ...(await porepProverOf(params, fake, data)), replicaId }, seed);
    expect(verifyPorep({ ...statement, commR: fake.commR }, proof)).not.toBeNull();
  });
});
