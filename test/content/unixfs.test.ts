import { fc, test } from '@fast-check/vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { afterAll, describe, expect, it } from 'vitest';
import { CarFileSink, ContentError, carBytes, exportTo, fileContent, importBytes, importPath, indexCar, parseCid, readCar, verifyBlock, type Block, type BlockSource } from '../../src/content/index.js';
import { tempDir } from '../helpers/chain.js';
import { pseudoRandom } from '../helpers/bytes.js';

const dir = tempDir('bcr-content-');
afterAll(() => dir.cleanup());
const MiB = 1 << 20;

/** A block store in memory: a sink for imports and a source for exports. */
function memoryStore() {
  const blocks = new Map<string, Uint8Array>();
  return {
    blocks,
    put: async (cid: CID, bytes: Uint8Array) => void blocks.set(cid.toString(), bytes),
    get: async (cid: CID) => {
      const bytes = blocks.get(cid.toString());
      if (!bytes) throw new Error(`no block ${cid}`);
      return bytes;
    },
  };
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}


describe("UnixFS import with Kubo's ipfs add --cid-version=1 options", () => {
  it('gives the root CID those options define: 256 KiB raw leaves under one dag-pb file node, CIDv1 (built here by hand)', async () => {
    const data = pseudoRandom(MiB / 2 + 1000, 7);
    const K = 256 * 1024;
    const store = memoryStore();
    const { cid, dagSize } = await importBytes(data, store);
    // The same DAG made directly from the spec's pieces, without the importer.
    const chunks = [data.subarray(0, K), data.subarray(K, 2 * K), data.subarray(2 * K)];
    const leaves = await Promise.all(chunks.map(async (c) => CID.createV1(0x55, await sha256.digest(c))));
    const file = new UnixFS({ type: 'file' });
    for (const c of chunks) file.addBlockSize(BigInt(c.length));
    const node = dagPb.encode(dagPb.prepare({ Data: file.marshal(), Links: leaves.map((leaf, i) => ({ Hash: leaf, Name: '', Tsize: chunks[i]!.length })) }));
    const expected = CID.createV1(dagPb.code, await sha256.digest(node));
    expect(cid.toString()).toBe(expected.toString());
    expect(dagSize).toBe(BigInt(data.length + node.length));
    expect(store.blocks.size).toBe(4);
    // A file of one chunk is that raw leaf itself.
    const small = pseudoRandom(1000, 3);
    expect((await importBytes(small, memoryStore())).cid.toString()).toBe(CID.createV1(0x55, await sha256.digest(small)).toString());
  });

  test.prop([fc.integer({ min: 0, max: 3 * MiB }), fc.integer()], { numRuns: 8 })('round-trips any file through a CAR, every block verified', async (size, seed) => {
    const data = pseudoRandom(size, seed);
    const path = join(dir.path, `file-${size}-${seed}.car`);
    const sink = await CarFileSink.create(path);
    const { cid } = await importBytes(data, sink);
    await sink.finish(cid);
    const { roots, blocks } = await readCar(createReadStream(path));
    expect(roots.map(String)).toEqual([cid.toString()]);
    const store = memoryStore();
    for await (const block of blocks) await store.put(block.cid, block.bytes);
    expect(Buffer.compare(await collect(fileContent(cid, store)), data)).toBe(0);
    // The index finds every block's bytes in the file.
    const car = readFileSync(path);
    const index = await indexCar(createReadStream(path));
    for (const entry of index.blocks) await verifyBlock(entry.cid, car.subarray(entry.offset, entry.offset + entry.length));
    expect(index.blocks.length).toBe(store.blocks.size);
  });

  it('round-trips a directory tree, names and bytes', async () => {
    const src = join(dir.path, 'tree');
    mkdirSync(join(src, 'docs', 'deep'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    writeFileSync(join(src, 'docs', 'b.bin'), pseudoRandom(MiB + 17, 5));
    writeFileSync(join(src, 'docs', 'deep', 'c'), '');
    const store = memoryStore();
    const root = await importPath(src, store);
    expect(root.directory).toBe(true);
    const out = join(dir.path, 'tree-out');
    const result = await exportTo(root.cid, store, out);
    expect(result).toEqual({ bytes: BigInt(6 + MiB + 17), files: 3, directory: true });
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(Buffer.compare(readFileSync(join(out, 'docs', 'b.bin')), Buffer.from(pseudoRandom(MiB + 17, 5)))).toBe(0);
    expect(readdirSync(join(out, 'docs', 'deep'))).toEqual(['c']);
    // The same tree imports to the same root.
    expect((await importPath(src, memoryStore())).cid.toString()).toBe(root.cid.toString());
  });
});

describe('content from a liar', () => {
  it('refuses a block that does not hash to its CID, in a CAR and from a block source', async () => {
    const data = pseudoRandom(2 * MiB, 11);
    const store = memoryStore();
    const { cid } = await importBytes(data, store);
    const entries: Block[] = [...store.blocks].map(([key, bytes]) => ({ cid: CID.parse(key), bytes }));
    const bad = entries.map((b, i) => (i === 0 ? { cid: b.cid, bytes: Uint8Array.from(b.bytes, (x, j) => (j === 5 ? x ^ 1 : x)) } : b));
    const { blocks } = await readCar(carBytes([cid], bad));
    await expect(collect((async function* () { for await (const b of blocks) yield b.bytes; })())).rejects.toThrow(/does not hash to/);
    const lying: BlockSource = { get: async (c) => (c.equals(bad[0]!.cid) ? bad[0]!.bytes : store.get(c)) };
    await expect(collect(fileContent(cid, lying))).rejects.toMatchObject({ code: 'BLOCK_MISMATCH' });
  });

  it('refuses entry names that would leave the output directory', async () => {
    const store = memoryStore();
    const leaf = await importBytes(new TextEncoder().encode('x'), store);
    const dirNode = dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'directory' }).marshal(), Links: [{ Hash: leaf.cid, Name: '..', Tsize: 1 }] }));
    const root = CID.createV1(dagPb.code, await sha256.digest(dirNode));
    await store.put(root, dirNode);
    await expect(exportTo(root, store, join(dir.path, 'evil'))).rejects.toThrow(/not a safe file name/);
  });

  it('writes a file whose chunks repeat, and refuses a DAG that holds more than its root declares', async () => {
    // Zeros: one leaf block linked four times.
    const zeros = new Uint8Array(MiB);
    const store = memoryStore();
    const { cid } = await importBytes(zeros, store);
    expect(store.blocks.size).toBe(2);
    await exportTo(cid, store, join(dir.path, 'zeros.bin'));
    expect(readFileSync(join(dir.path, 'zeros.bin')).equals(Buffer.from(zeros))).toBe(true);
    // A root that declares 10 bytes and links a 100-byte leaf 1000 times (an expansion bomb).
    const leaf = new Uint8Array(100).fill(7);
    const leafCid = CID.createV1(0x55, await sha256.digest(leaf));
    const file = new UnixFS({ type: 'file' });
    file.addBlockSize(10n);
    const node = dagPb.encode(dagPb.prepare({ Data: file.marshal(), Links: Array.from({ length: 1000 }, () => ({ Hash: leafCid, Name: '', Tsize: 100 })) }));
    const bomb = CID.createV1(dagPb.code, await sha256.digest(node));
    const hostile = memoryStore();
    await hostile.put(leafCid, leaf);
    await hostile.put(bomb, node);
    await expect(exportTo(bomb, hostile, join(dir.path, 'bomb.bin'))).rejects.toThrow(/more than the 10 bytes its root declares/);
  });

  it('parses CIDs with a precise reason, and only those it can verify', async () => {
    expect(parseCid('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku').code).toBe(0x55);
    expect(() => parseCid('')).toThrow(ContentError);
    expect(() => parseCid('not-a-cid')).toThrow(/not a CID/);
    expect(() => parseCid('x'.repeat(500))).toThrow(/500 characters/);
    // A dag-cbor CID (0x71) is a CID, but not one BCR stores.
    const cbor = CID.createV1(0x71, await sha256.digest(new Uint8Array([1])));
    expect(() => parseCid(cbor.toString())).toThrow(/codec 0x71/);
  });
});
