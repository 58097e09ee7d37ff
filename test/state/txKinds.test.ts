// Every tx kind's payload codec, driven by its own schema: any well-typed value encodes within the
// kind's size cap or is refused by it, and decodes back to the same value (canonical round trip).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../src/primitives/index.js';
import { TxError, txKinds } from '../../src/state/index.js';
import { knownValues } from '../fuzz/txKindTargets.js';
import { wellTyped } from '../fuzz/wellTyped.js';

describe('tx kind payload codecs', () => {
  const known = knownValues([new Uint8Array(32).fill(1)]);
  for (const kind of txKinds()) {
    it(`${kind.name}: well-typed payloads round-trip`, () => {
      fc.assert(
        fc.property(wellTyped(kind.payloadSchema, known), (payload) => {
          const bytes = kind.encodePayload(payload);
          let decoded: unknown;
          try {
            decoded = kind.decodePayload(bytes);
          } catch (error) {
            // Only the kind's own byte cap, or its stateless rules (a TxError), may refuse a value its schema allows.
            if (error instanceof TxError) return;
            expect(error).toBeInstanceOf(CodecError);
            expect((error as Error).message).toMatch(/bytes above maximum/);
            return;
          }
          // Byte-compare the re-encoding (deep equality on 64 KiB proofs would only time the matcher).
          expect(Buffer.compare(kind.encodePayload(decoded), bytes)).toBe(0);
          if (bytes.length < 4096) expect(decoded).toEqual(payload);
        }),
        { numRuns: 100, seed: 20261130 },
      );
    });
  }
});
