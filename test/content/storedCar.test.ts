import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { carBytes, importBytes, indexStoredCar, verifyBlock, type Block, type CID } from '../../src/content/index.js';
import { tempDir } from '../helpers/chain.js';

const dir = tempDir('bcr-stored-car-');
afterAll(() => dir.cleanup());

async function carOf(data: Uint8Array): Promise<{ root: CID; bytes: Uint8Array; blocks: Block[] }> {
  const blocks: Block[] = [];
  const { cid } = await importBytes(data, { put: async (c, b) => void blocks.push({ cid: c, bytes: b }) });
  const chunks: Uint8Array[] = [];
  for await (const chunk of carBytes([cid], blocks)) chunks.push(chunk);
  return { root: cid, bytes: Buffer.concat(chunks), blocks };
}

const data = Uint8Array.from({ length: 2_500_000 }, (_, i) => (i * 2654435761) >>> 24);

describe('a CAR stored in a piece', () => {
  it('is indexed from its place in the file up to the zero padding, each block where it lies', async () => {
    const car = await carOf(data);
    const path = join(dir.path, 'sector');
    // Another piece before it, then the CAR, then padding to the piece size.
    writeFileSync(path, Buffer.concat([Buffer.alloc(4096, 7), car.bytes, Buffer.alloc(50_000)]));
    const index = (await indexStoredCar(path, 4096, car.bytes.length + 50_000))!;
    expect(index.roots.map(String)).toEqual([String(car.root)]);
    expect(index.rejected).toBe(0);
    expect(index.blocks.map((b) => String(b.cid)).sort()).toEqual(car.blocks.map((b) => String(b.cid)).sort());
    const file = readFileSync(path);
    for (const block of index.blocks) await verifyBlock(block.cid, file.subarray(block.offset, block.offset + block.length));
  });

  it('leaves out blocks that do not match their CID, and refuses what is not a CAR', async () => {
    const car = await carOf(data);
    const bytes = Buffer.from(car.bytes);
    bytes[bytes.length - 10]! ^= 0xff; // inside the last block
    const path = join(dir.path, 'tampered');
    writeFileSync(path, Buffer.concat([bytes, Buffer.alloc(1000)]));
    const index = (await indexStoredCar(path, 0, bytes.length + 1000))!;
    expect(index.rejected).toBe(1);
    expect(index.blocks).toHaveLength(car.blocks.length - 1);
    writeFileSync(join(dir.path, 'plain'), Buffer.from('just a file, not a CAR at all'));
    expect(await indexStoredCar(join(dir.path, 'plain'), 0, 29)).toBeNull();
    expect(await indexStoredCar(join(dir.path, 'plain'), 0, 0)).toBeNull();
  });
});
