// Unsealed sector commitments from piece commitments: pieces sit in the sector in order, each at an
// offset that is a multiple of its own (power-of-two) size, zeros elsewhere; so the sector's CommD
// is the Merkle root of piece roots and all-zero subtrees, computed without the data.
import { concatBytes, sha256 } from '../primitives/index.js';

export interface PieceInfo {
  commitment: Uint8Array;
  bytes: number;
}

const zeroRoots: Uint8Array[] = [new Uint8Array(32)];

/** Root of an all-zero subtree of `bytes` (a power of two, at least 32). */
export function zeroRoot(bytes: number): Uint8Array {
  let level = 0;
  for (let size = 32; size < bytes; size *= 2) level++;
  while (zeroRoots.length <= level) {
    const below = zeroRoots[zeroRoots.length - 1]!;
    zeroRoots.push(sha256(concatBytes(below, below)));
  }
  return zeroRoots[level]!;
}

const isPowerOfTwo = (n: number) => n >= 32 && (n & (n - 1)) === 0;

/** CommD of a sector holding `pieces` (in order, each aligned to its size); null if they do not fit. */
export function unsealedCommD(pieces: PieceInfo[], sectorSize: number): Uint8Array | null {
  let blocks: { offset: number; size: number; root: Uint8Array }[] = [];
  let offset = 0;
  const fillZeros = (to: number) => {
    while (offset < to) {
      let size = 32;
      while (offset % (size * 2) === 0 && offset + size * 2 <= to) size *= 2;
      blocks.push({ offset, size, root: zeroRoot(size) });
      offset += size;
    }
  };
  for (const piece of pieces) {
    if (!isPowerOfTwo(piece.bytes)) return null;
    const aligned = Math.ceil(offset / piece.bytes) * piece.bytes;
    if (aligned + piece.bytes > sectorSize) return null;
    fillZeros(aligned);
    blocks.push({ offset, size: piece.bytes, root: piece.commitment });
    offset += piece.bytes;
  }
  fillZeros(sectorSize);
  // Every block is aligned to its size, so the smallest ones always pair with their siblings.
  while (blocks.length > 1) {
    const smallest = Math.min(...blocks.map((b) => b.size));
    const next: typeof blocks = [];
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!;
      if (block.size === smallest) {
        const sibling = blocks[++i]!;
        next.push({ offset: block.offset, size: smallest * 2, root: sha256(concatBytes(block.root, sibling.root)) });
      } else next.push(block);
    }
    blocks = next;
  }
  return blocks[0]!.root;
}
