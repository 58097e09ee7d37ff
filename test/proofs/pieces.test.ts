// The unsealed CommD composed from piece commitments equals the Merkle root of the assembled sector.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { merkleRoot, unsealedCommD, zeroRoot } from '../../src/proofs/index.js';
import { zeroCommD } from '../../src/chain/index.js';

const SECTOR = 4096;

describe('unsealed CommD from pieces', () => {
  test.prop([fc.array(fc.tuple(fc.integer({ min: 5, max: 12 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })], { numRuns: 200 })('matches the root of the sector with the pieces laid out', (specs) => {
    const sector = new Uint8Array(SECTOR);
    const pieces: { commitment: Uint8Array; bytes: number }[] = [];
    let offset = 0;
    let fits = true;
    for (const [log, fill] of specs) {
      const bytes = 2 ** log;
      const at = Math.ceil(offset / bytes) * bytes;
      if (at + bytes > SECTOR) {
        fits = false;
        pieces.push({ commitment: new Uint8Array(32), bytes });
        break;
      }
      const data = new Uint8Array(bytes).map((_, i) => (fill + i) & 0xff);
      sector.set(data, at);
      pieces.push({ commitment: merkleRoot(data), bytes });
      offset = at + bytes;
    }
    const commD = unsealedCommD(pieces, SECTOR);
    if (!fits) expect(commD).toBeNull();
    else expect(commD).toEqual(merkleRoot(sector));
  });

  it('of no pieces is the committed-capacity CommD; refuses sizes that are not powers of two', () => {
    expect(unsealedCommD([], SECTOR)).toEqual(zeroCommD(SECTOR));
    expect(zeroRoot(SECTOR)).toEqual(zeroCommD(SECTOR));
    expect(unsealedCommD([{ commitment: new Uint8Array(32), bytes: 96 }], SECTOR)).toBeNull();
  });
});
