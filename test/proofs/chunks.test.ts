// Verified retrieval chunks: every chunk of a piece proves against the piece commitment, and any
// altered byte, a wrong index, a short proof or another piece's commitment fails.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkProof, chunkSizeFor, chunkTree, merkleRoot, verifyChunk } from '../../src/proofs/index.js';

describe('retrieval chunk proofs', () => {
  it('prove every chunk and fail on any altered byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 7, max: 14 }), fc.integer({ min: 7, max: 12 }), fc.nat(), fc.nat(), (pieceLog, chunkLog, seed, flip) => {
        const pieceBytes = 2 ** pieceLog;
        const chunkBytes = chunkSizeFor(pieceBytes, 2 ** chunkLog);
        // Distinct chunks (a repeating pattern would make swapped chunks legitimately equal).
        let x = seed | 1;
        const piece = new Uint8Array(pieceBytes).map(() => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x & 0xff));
        const commitment = merkleRoot(piece);
        const levels = chunkTree(piece, chunkBytes);
        expect(levels[levels.length - 1]).toEqual(commitment);
        const count = pieceBytes / chunkBytes;
        const index = seed % count;
        const data = piece.slice(index * chunkBytes, (index + 1) * chunkBytes);
        const proof = chunkProof(levels, index);
        expect(verifyChunk(commitment, pieceBytes, chunkBytes, index, data, proof)).toBe(true);
        const altered = data.slice();
        altered[flip % chunkBytes]! ^= 1 + (flip % 255);
        expect(verifyChunk(commitment, pieceBytes, chunkBytes, index, altered, proof)).toBe(false);
        if (count > 1) {
          expect(verifyChunk(commitment, pieceBytes, chunkBytes, (index + 1) % count, data, proof)).toBe(false);
          expect(verifyChunk(commitment, pieceBytes, chunkBytes, index, data, proof.slice(1))).toBe(false);
        }
        expect(verifyChunk(merkleRoot(altered.length === pieceBytes ? altered : piece.map((b) => b ^ 1)), pieceBytes, chunkBytes, index, data, proof)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
