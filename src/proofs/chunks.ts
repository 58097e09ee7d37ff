// Verified retrieval: a piece is served in aligned chunks of a power-of-two size, each with the
// Merkle path from the chunk's subtree root up to the piece commitment, so a client checks every
// chunk on arrival (and can drop a provider at the first bad one) without the rest of the piece.
import { concatBytes, sha256 } from '../primitives/index.js';
import { buildLevels, merkleRoot } from './merkle.js';

/** Chunk size for a piece: `preferred` (a power of two), or the whole piece when smaller. */
export function chunkSizeFor(pieceBytes: number, preferred: number): number {
  return Math.min(pieceBytes, preferred);
}

/** The levels of the tree over a piece's chunk roots (level 0: chunk roots; last: the commitment). */
export function chunkTree(piece: Uint8Array, chunkBytes: number): Uint8Array[] {
  const count = piece.length / chunkBytes;
  const roots = new Uint8Array(count * 32);
  for (let i = 0; i < count; i++) roots.set(merkleRoot(piece.subarray(i * chunkBytes, (i + 1) * chunkBytes)), i * 32);
  return buildLevels(roots);
}

/** The sibling hashes from chunk `index` up to the root, bottom first. */
export function chunkProof(levels: Uint8Array[], index: number): Uint8Array[] {
  const proof: Uint8Array[] = [];
  let i = index;
  for (let level = 0; level < levels.length - 1; level++) {
    const sibling = i ^ 1;
    proof.push(levels[level]!.subarray(sibling * 32, sibling * 32 + 32));
    i >>= 1;
  }
  return proof;
}

/** Whether `data` is chunk `index` of the piece committed to by `commitment`. */
export function verifyChunk(commitment: Uint8Array, pieceBytes: number, chunkBytes: number, index: number, data: Uint8Array, proof: Uint8Array[]): boolean {
  if (data.length !== chunkBytes || pieceBytes % chunkBytes !== 0 || index < 0 || index >= pieceBytes / chunkBytes) return false;
  if (proof.length !== Math.log2(pieceBytes / chunkBytes)) return false;
  let node = merkleRoot(data);
  let i = index;
  for (const sibling of proof) {
    node = i & 1 ? sha256(concatBytes(sibling, node)) : sha256(concatBytes(node, sibling));
    i >>= 1;
  }
  return Buffer.compare(node, commitment) === 0;
}
