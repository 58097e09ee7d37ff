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

describe('DAG traversal', () => {
  it('walks a DAG that links one node many times once per node, not once per path', async () => {
    const dagPb = await import('@ipld/dag-pb');
    const { sha256 } = await import('multiformats/hashes/sha2');
    const { CID } = await import('multiformats/cid');
    const { dagBlocks } = await import('../../src/content/index.js');
    // 40 levels, each node linking twice to the one below: 2^40 paths, 41 blocks.
    const store = new Map<string, Uint8Array>();
    let below: InstanceType<typeof CID> | null = null;
    for (let level = 0; level <= 40; level++) {
      const links = below ? [{ Hash: below, Name: 'a', Tsize: 1 }, { Hash: below, Name: 'b', Tsize: 1 }] : [];
      const bytes = dagPb.encode(dagPb.prepare({ Data: new Uint8Array([level]), Links: links }));
      below = CID.createV1(dagPb.code, await sha256.digest(bytes));
      store.set(below.toString(), bytes);
    }
    let reads = 0;
    const got = [];
    for await (const block of dagBlocks(below!, async (cid) => (reads++, store.get(cid.toString())!), 'all')) got.push(block);
    expect(got).toHaveLength(41);
    expect(reads).toBe(41);
  });
});
