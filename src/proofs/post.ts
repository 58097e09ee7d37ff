// Proofs of spacetime. WindowPoSt: for a partition of sectors and the deadline's randomness, open
// `postChallenges` random leaves of each sector's replica (CommRLast), one multiproof per sector.
// WinningPoSt: the block's randomness picks `winningSectors` of the producer's sectors and
// `winningChallenges` leaves in each. Proved from the replica files; verified from CommRs alone.
import { bytes, bytesEqual, decode, encode, list, struct, uintToBytesBE, varBytes, type Infer } from '../primitives/index.js';
import { challengeIndices } from './challenges.js';
import type { TreeReader } from './merkle.js';
import { createMultiproof, uniqueSorted, verifyMultiproofs, type MultiproofJob } from './multiproof.js';
import { leafCount, treeDepth, type ProofParams } from './params.js';
import { commROf } from './seal.js';
import { observed } from './observer.js';

export const MAX_POST_SECTORS = 2349; // a Filecoin-sized partition
const sectorProofCodec = struct({ commC: bytes(32), commRLast: bytes(32), leaves: varBytes(1 << 20), siblings: varBytes(1 << 22) });
export const postProofCodec = list(sectorProofCodec, MAX_POST_SECTORS);
export type SectorPostProof = Infer<typeof sectorProofCodec>;

/**
 * The most bytes a WindowPoSt over `sectors` sectors can take: per sector both commitments, every
 * challenged leaf, and a full path of siblings per challenge (a multiproof shares some; never more),
 * plus msgpack headers. What a partition's size is checked against.
 */
export function maxWindowPostBytes(params: ProofParams, sectors: number): number {
  const depth = treeDepth(leafCount(params.sectorSize));
  const perSector = 1 + 2 * (2 + 32) + (5 + params.postChallenges * 32) + (5 + params.postChallenges * depth * 32);
  return 5 + sectors * perSector;
}

export interface PostSector {
  sectorNumber: number;
  commR: Uint8Array;
}

export interface ProvableSector {
  sectorNumber: number;
  commC: Uint8Array;
  commRLast: Uint8Array;
  replica: TreeReader;
}

export type PostKind = 'window' | 'winning';

/** Leaves challenged in one sector (with repetition; the proof opens each distinct one once). */
export function postChallenges(params: ProofParams, kind: PostKind, randomness: Uint8Array, sectorNumber: number): number[] {
  const count = kind === 'window' ? params.postChallenges : params.winningChallenges;
  return challengeIndices(`bcr/${kind}-post-challenge/v1`, [randomness, uintToBytesBE(sectorNumber, 8)], count, leafCount(params.sectorSize));
}

/** Positions (in the producer's sector list sorted by number) that a WinningPoSt must prove. */
export function winningSectorPicks(params: ProofParams, randomness: Uint8Array, sectorCount: number): number[] {
  if (sectorCount === 0) return [];
  return uniqueSorted(challengeIndices('bcr/winning-post-sectors/v1', [randomness], params.winningSectors, sectorCount));
}

export async function provePost(params: ProofParams, kind: PostKind, randomness: Uint8Array, sectors: ProvableSector[]): Promise<Uint8Array> {
  const proofs: SectorPostProof[] = [];
  for (const sector of sectors) {
    const challenges = uniqueSorted(postChallenges(params, kind, randomness, sector.sectorNumber));
    await sector.replica.load(challenges);
    const { leaves, siblings } = createMultiproof(sector.replica, challenges);
    proofs.push({ commC: sector.commC, commRLast: sector.commRLast, leaves, siblings });
  }
  return encodePost(proofs);
}

export type PostFailure = 'MALFORMED' | 'WRONG_SECTOR_COUNT' | 'COMM_R_MISMATCH' | 'BAD_OPENING';

/** Decodes a PoSt and turns it into multiproof jobs (for batching with other proofs). */
export function postJobs(params: ProofParams, kind: PostKind, randomness: Uint8Array, sectors: PostSector[], proofBytes: Uint8Array): MultiproofJob[] | PostFailure {
  let proofs: SectorPostProof[];
  try {
    proofs = decodePost(proofBytes);
  } catch {
    return 'MALFORMED';
  }
  if (proofs.length !== sectors.length) return 'WRONG_SECTOR_COUNT';
  const depth = treeDepth(leafCount(params.sectorSize));
  const jobs: MultiproofJob[] = [];
  for (let i = 0; i < sectors.length; i++) {
    const sector = sectors[i]!;
    const proof = proofs[i]!;
    if (!bytesEqual(commROf(proof.commC, proof.commRLast), sector.commR)) return 'COMM_R_MISMATCH';
    jobs.push(sectorJob(params, kind, randomness, sector, proof, depth));
  }
  return jobs;
}

function sectorJob(params: ProofParams, kind: PostKind, randomness: Uint8Array, sector: PostSector, proof: SectorPostProof, depth: number): MultiproofJob {
  const indices = uniqueSorted(postChallenges(params, kind, randomness, sector.sectorNumber));
  return { root: proof.commRLast, depth, indices, leaves: proof.leaves, siblings: proof.siblings };
}

/** The per-sector proofs of an encoded PoSt, in order (throws on malformed bytes). */
export function decodePost(proofBytes: Uint8Array): SectorPostProof[] {
  return decode(postProofCodec, proofBytes, 'post proof');
}

export function encodePost(proofs: SectorPostProof[]): Uint8Array {
  return encode(postProofCodec, proofs);
}

/**
 * Sector by sector, whether its part of a PoSt verifies: a prover checks its own proof before it
 * sends it, and leaves out (skips) the sectors whose replica answered wrong.
 */
export function checkPostSectors(params: ProofParams, kind: PostKind, randomness: Uint8Array, sectors: PostSector[], proofs: SectorPostProof[]): boolean[] {
  if (proofs.length !== sectors.length) throw new Error(`a PoSt of ${proofs.length} sectors for ${sectors.length}`);
  const depth = treeDepth(leafCount(params.sectorSize));
  const ok = sectors.map((sector, i) => bytesEqual(commROf(proofs[i]!.commC, proofs[i]!.commRLast), sector.commR));
  const jobs = sectors.map((sector, i) => sectorJob(params, kind, randomness, sector, proofs[i]!, depth));
  const opened = verifyMultiproofs(jobs);
  return ok.map((commROk, i) => commROk && opened[i]!);
}

/** Verifies a WindowPoSt or WinningPoSt; null when valid, else the reason. */
export function verifyPost(params: ProofParams, kind: PostKind, randomness: Uint8Array, sectors: PostSector[], proofBytes: Uint8Array): PostFailure | null {
  return observed(kind, () => verifyPostUnobserved(params, kind, randomness, sectors, proofBytes));
}

function verifyPostUnobserved(params: ProofParams, kind: PostKind, randomness: Uint8Array, sectors: PostSector[], proofBytes: Uint8Array): PostFailure | null {
  const jobs = postJobs(params, kind, randomness, sectors, proofBytes);
  if (typeof jobs === 'string') return jobs;
  return verifyMultiproofs(jobs).every(Boolean) ? null : 'BAD_OPENING';
}
