// Proving a partition from what the disks still hold. Each replica is opened and its part of the
// proof checked here before the proof goes out; a sector that cannot answer (replica gone,
// unreadable, or answering wrong) is skipped, which declares it faulty in the same tx, so one bad
// disk costs its own sectors and not the whole partition.
import { errorMessage } from '../primitives/index.js';
import { checkPostSectors, decodePost, encodePost, provePost, type PostKind, type ProofParams, type ProvableSector, type SectorPostProof } from '../proofs/index.js';

/** Where a miner's replicas are read from (the SectorStore). */
export interface ReplicaAccess {
  has(sector: number): Promise<boolean>;
  provable(sector: number): Promise<ProvableSector>;
}

export interface SkippedSector {
  sector: number;
  reason: string;
}

export interface PartitionProof {
  /** The WindowPoSt over the sectors not skipped, in order. */
  proof: Uint8Array;
  proven: number[];
  /** Ascending by sector number, as the tx wants them. */
  skipped: SkippedSector[];
}

interface Loaded {
  number: number;
  commR: Uint8Array;
  sector: ProvableSector;
}

/** Proves what can be proven of a partition's due sectors; the rest come back as skipped, with reasons. */
export async function provePartition(params: ProofParams, randomness: Uint8Array, due: { number: number; commR: Uint8Array }[], replicas: ReplicaAccess, prover: typeof provePost = provePost, kind: PostKind = 'window'): Promise<PartitionProof> {
  const skipped: SkippedSector[] = [];
  let loaded: Loaded[] = [];
  for (const { number, commR } of due) {
    try {
      if (!(await replicas.has(number))) throw new Error('replica file missing');
      loaded.push({ number, commR, sector: await replicas.provable(number) });
    } catch (error) {
      skipped.push({ sector: number, reason: errorMessage(error) });
    }
  }
  let proofs: SectorPostProof[];
  try {
    proofs = decodePost(await prover(params, kind, randomness, loaded.map((l) => l.sector)));
  } catch {
    // A read failed somewhere: prove sector by sector to find which.
    ({ proofs, loaded } = await proveOneByOne(params, kind, randomness, loaded, prover, skipped));
  }
  const valid = checkPostSectors(params, kind, randomness, loaded.map((l) => ({ sectorNumber: l.number, commR: l.commR })), proofs);
  valid.forEach((ok, i) => ok || skipped.push({ sector: loaded[i]!.number, reason: 'its proof does not verify against its CommR (replica corrupt)' }));
  return {
    proof: encodePost(proofs.filter((_, i) => valid[i])),
    proven: loaded.filter((_, i) => valid[i]).map((l) => l.number),
    skipped: skipped.sort((a, b) => a.sector - b.sector),
  };
}

async function proveOneByOne(params: ProofParams, kind: PostKind, randomness: Uint8Array, loaded: Loaded[], prover: typeof provePost, skipped: SkippedSector[]): Promise<{ proofs: SectorPostProof[]; loaded: Loaded[] }> {
  const proofs: SectorPostProof[] = [];
  const kept: Loaded[] = [];
  for (const l of loaded) {
    try {
      proofs.push(decodePost(await prover(params, kind, randomness, [l.sector]))[0]!);
      kept.push(l);
    } catch (error) {
      skipped.push({ sector: l.number, reason: errorMessage(error) });
    }
  }
  return { proofs, loaded: kept };
}
