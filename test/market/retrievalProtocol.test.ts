// The retrieval chunk frame: what is encoded decodes to the same fields (as views, not copies), and
// hostile bytes are refused with the reason, never read past their end.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PROOF_HASHES, RETRIEVAL_CHUNK_BYTES, RetrievalFrame, decodeChunkFrame, encodeChunkFrame } from '../../src/market/index.js';
import { CodecError } from '../../src/primitives/index.js';

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const chunk = fc.record({
  index: fc.integer({ min: 0, max: 0xffff_ffff }),
  data: fc.uint8Array({ minLength: 1, maxLength: 4096 }),
  proof: fc.array(hash, { maxLength: MAX_PROOF_HASHES }),
});

describe('retrieval chunk frame', () => {
  it('round-trips every chunk, the data a view of the frame', () => {
    fc.assert(
      fc.property(chunk, (c) => {
        const frame = encodeChunkFrame(c).subarray();
        expect(frame[0]).toBe(RetrievalFrame.chunk);
        const back = decodeChunkFrame(frame);
        expect(back.index).toBe(c.index);
        expect(back.proof.map((h) => [...h])).toEqual(c.proof.map((h) => [...h]));
        expect([...back.data]).toEqual([...c.data]);
        expect(back.data.buffer).toBe(frame.buffer);
      }),
    );
  });

  it('takes a whole 256 KiB chunk and refuses one byte more', () => {
    const whole = new Uint8Array(RETRIEVAL_CHUNK_BYTES);
    expect(decodeChunkFrame(encodeChunkFrame({ index: 7, data: whole, proof: [] }).subarray()).data.length).toBe(RETRIEVAL_CHUNK_BYTES);
    expect(() => encodeChunkFrame({ index: 7, data: new Uint8Array(RETRIEVAL_CHUNK_BYTES + 1), proof: [] })).toThrow(RangeError);
    const over = new Uint8Array(6 + RETRIEVAL_CHUNK_BYTES + 1);
    over[0] = RetrievalFrame.chunk;
    expect(() => decodeChunkFrame(over)).toThrow(/a chunk of 262145 bytes/);
  });

  it('refuses hostile frames with the reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        try {
          const c = decodeChunkFrame(bytes);
          // Whatever parses is consistent with the bytes it came from.
          expect(6 + 32 * c.proof.length + c.data.length).toBe(bytes.length);
          expect(c.proof.length).toBeLessThanOrEqual(MAX_PROOF_HASHES);
        } catch (error) {
          expect(error).toBeInstanceOf(CodecError);
        }
      }),
    );
    expect(() => decodeChunkFrame(new Uint8Array([RetrievalFrame.chunk, 0, 0, 0, 1, 49]))).toThrow(/49 hashes is too long/);
    expect(() => decodeChunkFrame(new Uint8Array([RetrievalFrame.chunk, 0, 0, 0, 1, 1, ...new Uint8Array(32)]))).toThrow(/a chunk of 0 bytes/);
    expect(() => decodeChunkFrame(new Uint8Array([RetrievalFrame.voucher, 0, 0, 0, 1, 0, 9]))).toThrow(/not a chunk frame/);
  });
});
