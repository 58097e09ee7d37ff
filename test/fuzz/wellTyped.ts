// Values that fit a codec's schema exactly (so they get past decoding) but sit at the edges a
// handler must survive: zero, one, the maximum, small ids that name things that exist, addresses
// and ids the chain knows, empty and full lists, the longest strings.
import fc from 'fast-check';
import type { FieldSchema } from '../../src/primitives/index.js';

export interface KnownValues {
  /** 20-byte values worth trying: accounts, miners' workers, council signers, the reserve. */
  addresses: readonly Uint8Array[];
  /** 32-byte values worth trying: tx ids, attestation ids, content hashes on chain. */
  ids: readonly Uint8Array[];
}

/** Lists longer than this are tried only at their maximum (a full list), not at every length. */
const SHORT_LIST = 4;
/** Above this many items a full list is not built (it would only time the codec). */
const MAX_BUILT_ITEMS = 256;
/** The longest byte strings tried (a tx payload is at most 2 MiB, whatever a field allows). */
const MAX_BUILT_BYTES = 64 * 1024;

export function wellTyped(schema: FieldSchema, known: KnownValues): fc.Arbitrary<unknown> {
  switch (schema.type) {
    case 'uint': {
      const max = schema.max;
      return fc.oneof(
        { arbitrary: fc.integer({ min: 0, max: Math.min(max, 3) }), weight: 6 },
        { arbitrary: fc.constantFrom(0, max, Math.max(0, max - 1), Math.min(max, 2 ** 32), Math.min(max, 2 ** 31 - 1)), weight: 2 },
        { arbitrary: fc.integer({ min: 0, max: Math.min(max, Number.MAX_SAFE_INTEGER) }), weight: 1 },
      );
    }
    case 'amount': {
      const top = (1n << BigInt(8 * schema.maxBytes)) - 1n;
      return fc.oneof(
        fc.constantFrom(0n, 1n, 10n ** 18n, 10n ** 18n * 1000n, top),
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.bigInt({ min: 0n, max: top }),
      );
    }
    case 'bytes': {
      const pool = schema.length === 20 ? known.addresses : schema.length === 32 ? known.ids : [];
      const random = fc.uint8Array({ minLength: schema.length, maxLength: schema.length });
      const edges = fc.constantFrom(new Uint8Array(schema.length), new Uint8Array(schema.length).fill(0xff));
      return pool.length ? fc.oneof({ arbitrary: fc.constantFrom(...pool), weight: 3 }, { arbitrary: edges, weight: 1 }, { arbitrary: random, weight: 1 }) : fc.oneof(edges, random);
    }
    case 'varBytes':
      return fc.oneof(
        fc.uint8Array({ maxLength: Math.min(schema.maxLength, 96) }),
        fc.constant(new Uint8Array(Math.min(schema.maxLength, MAX_BUILT_BYTES)).fill(0xab)),
      );
    case 'str': {
      const full = 'x'.repeat(schema.maxBytes);
      // A multi-byte character cut at the byte limit must be refused by size, not split.
      return fc.oneof(fc.constantFrom('', full, '\u0000', 'é'.repeat(Math.floor(schema.maxBytes / 2))), fc.string({ maxLength: Math.min(schema.maxBytes, 40) }).filter((s) => Buffer.byteLength(s) <= schema.maxBytes));
    }
    case 'bool':
      return fc.boolean();
    case 'list': {
      const item = wellTyped(schema.item, known);
      const short = fc.array(item, { maxLength: Math.min(schema.maxItems, SHORT_LIST) });
      if (schema.maxItems <= SHORT_LIST || schema.maxItems > MAX_BUILT_ITEMS) return short;
      return fc.oneof({ arbitrary: short, weight: 5 }, { arbitrary: fc.array(item, { minLength: schema.maxItems, maxLength: schema.maxItems }), weight: 1 });
    }
    case 'optional':
      return fc.option(wellTyped(schema.inner, known), { nil: null });
    case 'struct':
      return fc.record(Object.fromEntries(schema.fields.map((f) => [f.name, wellTyped(f.schema, known)])));
  }
}
