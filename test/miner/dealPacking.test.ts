// Packing deal pieces into sectors: every piece placed once, aligned to its size, inside its sector,
// no overlaps; the chain's unsealed CommD of the layout is the root of the assembled sector.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packPieces } from '../../src/miner/dealPacking.js';
import { merkleRoot, unsealedCommD } from '../../src/proofs/index.js';

const SECTOR = 4096;
const sizeArb = fc.integer({ min: 7, max: 12 }).map((log) => 2 ** log);

describe('packPieces', () => {
  it('places every piece once, aligned and without overlap, in as few sectors as first-fit-decreasing allows', () => {
    fc.assert(
      fc.property(fc.array(sizeArb, { minLength: 1, maxLength: 40 }), (sizes) => {
        const sectors = packPieces(sizes, SECTOR);
        const placed = sectors.flat().map((p) => p.index).sort((a, b) => a - b);
        expect(placed).toEqual(sizes.map((_, i) => i));
        for (const sector of sectors) {
          let end = 0;
          for (const { index, offset } of sector) {
            expect(offset % sizes[index]!).toBe(0);
            expect(offset).toBe(end); // largest first: no gaps
            end = offset + sizes[index]!;
          }
          expect(end).toBeLessThanOrEqual(SECTOR);
        }
        const total = sizes.reduce((a, b) => a + b, 0);
        expect(sectors.length).toBe(Math.ceil(total / SECTOR)); // powers of two pack perfectly
      }),
      { numRuns: 200 },
    );
  });

  it('lays pieces out as the chain\'s CommD rule expects', () => {
    fc.assert(
      fc.property(fc.array(sizeArb, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 255 }), (sizes, fill) => {
        for (const sector of packPieces(sizes, SECTOR)) {
          const data = new Uint8Array(SECTOR);
          const pieces = sector.map(({ index, offset }) => {
            const bytes = new Uint8Array(sizes[index]!).map((_, i) => (i * 31 + index + fill) & 0xff);
            data.set(bytes, offset);
            return { commitment: merkleRoot(bytes), bytes: bytes.length };
          });
          expect(unsealedCommD(pieces, SECTOR)).toEqual(merkleRoot(data));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a piece larger than a sector', () => {
    expect(() => packPieces([8192], SECTOR)).toThrow(RangeError);
  });
});
