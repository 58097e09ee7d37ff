// Proof parameters per profile. Every number here is justified in docs/proofs.md.

export interface ProofParams {
  /** Sector size in bytes: a power of two, at least 2 leaves of 32 bytes. */
  sectorSize: number;
  /** Sequential labelling layers in sealing. */
  layers: number;
  /** Same-layer pseudo-random earlier parents of each node (besides the previous node). */
  drgParents: number;
  /** Parents drawn from the previous layer (layers 2..L). drgParents + expanderParents <= 8. */
  expanderParents: number;
  /** Leaves challenged by a proof of replication. */
  porepChallenges: number;
  /** Leaves challenged per sector by a WindowPoSt. */
  postChallenges: number;
  /** Sectors challenged by a WinningPoSt, and leaves per sector. */
  winningSectors: number;
  winningChallenges: number;
  /**
   * Sectors one WindowPoSt proves at most: a deadline's sectors are cut into partitions of this
   * many (by sector number), each proven by its own tx, so a full partition's proof fits a tx.
   */
  windowPostPartitionSectors: number;
}

export const LEAF_BYTES = 32;

export const PROOF_PROFILES = {
  test: { sectorSize: 2048, layers: 2, drgParents: 5, expanderParents: 3, porepChallenges: 12, postChallenges: 10, winningSectors: 1, winningChallenges: 4, windowPostPartitionSectors: 2 },
  devnet: { sectorSize: 1 << 20, layers: 2, drgParents: 5, expanderParents: 3, porepChallenges: 40, postChallenges: 10, winningSectors: 1, winningChallenges: 8, windowPostPartitionSectors: 64 },
  mainnet: { sectorSize: 2 ** 34, layers: 29, drgParents: 5, expanderParents: 3, porepChallenges: 80, postChallenges: 10, winningSectors: 1, winningChallenges: 16, windowPostPartitionSectors: 200 },
} as const satisfies Record<string, ProofParams>;
export type ProofProfileName = keyof typeof PROOF_PROFILES;

export function leafCount(sectorSize: number): number {
  return sectorSize / LEAF_BYTES;
}

export function treeDepth(leaves: number): number {
  return 31 - Math.clz32(leaves);
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function checkProofParams(p: ProofParams): void {
  if (!isPowerOfTwo(p.sectorSize) || p.sectorSize < 2 * LEAF_BYTES || p.sectorSize > 2 ** 36) throw new RangeError(`sector size must be a power of two from 64 bytes: ${p.sectorSize}`);
  if (p.layers < 1 || p.drgParents < 0 || p.expanderParents < 0 || p.drgParents + p.expanderParents > 8) throw new RangeError('bad graph parameters');
  for (const k of ['porepChallenges', 'postChallenges', 'winningSectors', 'winningChallenges', 'windowPostPartitionSectors'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1) throw new RangeError(`${k} must be a positive integer`);
  }
}
