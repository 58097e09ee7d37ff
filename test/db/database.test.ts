import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { Database } from '../../src/db/index.js';
import { hexKey } from '../../src/primitives/index.js';
import { tempDir } from '../helpers/chain.js';

const dir = tempDir('bcr-db-');
afterAll(() => dir.cleanup());
let opened = 0;

describe('Database read cache', () => {
  test.prop([fc.array(fc.record({ key: fc.uint8Array({ minLength: 1, maxLength: 8 }), value: fc.option(fc.uint8Array({ maxLength: 2100 }), { nil: null }) }), { minLength: 1, maxLength: 60 })], { numRuns: 40 })(
    'stays within its byte budget and always answers what was last written',
    async (writes) => {
      const db = await Database.open(`${dir.path}/db-${opened++}`, { cacheBytes: 2048 });
      try {
        const expected = new Map<string, Uint8Array | null>();
        for (let i = 0; i < writes.length; i += 7) {
          const batch = writes.slice(i, i + 7);
          await db.write(batch, false);
          for (const w of batch) expected.set(hexKey(w.key), w.value);
          expect(db.cacheStats().bytes).toBeLessThanOrEqual(2048);
        }
        for (const [hex, value] of expected) {
          const got = await db.get(new Uint8Array(Buffer.from(hex, 'hex')));
          expect(got === undefined ? null : hexKey(got)).toBe(value === null ? null : hexKey(value));
        }
        expect(db.cacheStats().bytes).toBeLessThanOrEqual(2048);
      } finally {
        await db.close();
      }
    },
  );
});
