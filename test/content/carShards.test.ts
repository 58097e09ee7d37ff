import { fc, test } from '@fast-check/vitest';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CarFileSink, ContentError, carShardReader, importBytes, indexStoredCar, planCarShards, readCar, type Block } from '../../src/content/index.js';
import { tempDir } from '../helpers/chain.js';
import { pseudoRandom } from '../helpers/bytes.js';


const dir = tempDir('bcr-carshards-');
afterAll(() => dir.cleanup());


async function bytesOf(reader: ReturnType<typeof carShardReader>, step: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < reader.size; at += step) parts.push(await reader.read(at, step));
  return Buffer.concat(parts);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

describe('CAR shards', () => {
  test.prop([fc.integer({ min: 1, max: 3 << 20 }), fc.integer(), fc.constantFrom(300_000, 1 << 19, 1 << 20), fc.integer({ min: 1000, max: 1 << 20 })], { numRuns: 10 })(
    'cut a CAR into CARs of whole blocks under the limit, each naming the root, that together hold every block once',
    async (size, seed, maxBytes, step) => {
      const path = join(dir.path, `f-${size}-${seed}.car`);
      const sink = await CarFileSink.create(path);
      const { cid } = await importBytes(pseudoRandom(size, seed), sink);
      await sink.finish(cid);
      const original: Block[] = [];
      for await (const block of (await readCar(createReadStream(path))).blocks) original.push(block);
      const shards = await planCarShards(path, cid, maxBytes);
      const seen: string[] = [];
      for (const [i, shard] of shards.entries()) {
        expect(shard.bytes).toBeLessThanOrEqual(maxBytes);
        // Read in windows of any size: the same bytes as whole.
        const bytes = await bytesOf(carShardReader(path, shard), step);
        expect(bytes.length).toBe(shard.bytes);
        const car = await readCar(once(bytes));
        expect(car.roots.map(String)).toEqual([cid.toString()]);
        let count = 0;
        for await (const block of car.blocks) {
          seen.push(block.cid.toString());
          count++;
        }
        expect(count).toBe(shard.blocks);
        // A miner stores it padded to a power of two and indexes it from there.
        const piece = join(dir.path, `piece-${i}`);
        const padded = new Uint8Array(maxBytes);
        padded.set(bytes);
        writeFileSync(piece, padded);
        const index = await indexStoredCar(piece, 0, maxBytes);
        expect(index?.blocks.length).toBe(shard.blocks);
      }
      expect(seen).toEqual(original.map((b) => b.cid.toString()));
    },
  );

  it('refuses a limit that a block does not fit', async () => {
    const path = join(dir.path, 'big.car');
    const sink = await CarFileSink.create(path);
    const { cid } = await importBytes(pseudoRandom(300_000, 5), sink);
    await sink.finish(cid);
    await expect(planCarShards(path, cid, 100_000)).rejects.toThrow(ContentError);
  });
});
