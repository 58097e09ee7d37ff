// CAR (content-addressed archive, v1) in and out: the ecosystem's @ipld/car, streamed both ways.
// Reading from outside checks every block against its CID before it is handed on; the index of a
// CAR (CID to byte range) is what lets a miner serve one block out of a stored piece.
import { open } from 'node:fs/promises';
import { CarBlockIterator } from '@ipld/car/iterator';
import { chunkReader, readBlockHead, readHeader } from '@ipld/car/decoder';
import { CarIndexer } from '@ipld/car/indexer';
import { CarWriter } from '@ipld/car/writer';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { ContentError, verifyBlock } from './cid.js';
import type { BlockSink } from './unixfs.js';

export interface Block {
  cid: CID;
  bytes: Uint8Array;
}

/** The bytes of a CAR with `roots` and `blocks`, as they are produced. */
export async function* carBytes(roots: CID[], blocks: AsyncIterable<Block> | Iterable<Block>): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create(roots);
  const feeding = (async () => {
    try {
      for await (const block of blocks) await writer.put(block);
    } finally {
      await writer.close();
    }
  })();
  // The writer's output is pulled here; the feeder is awaited at the end for its error.
  try {
    for await (const chunk of out) yield chunk;
  } finally {
    await feeding;
  }
}

/** The blocks of a CAR from outside, each checked against its CID (and the header's roots kept). */
export async function readCar(chunks: AsyncIterable<Uint8Array>): Promise<{ roots: CID[]; blocks: AsyncGenerator<Block> }> {
  let iterator: CarBlockIterator;
  try {
    iterator = await CarBlockIterator.fromIterable(chunks);
  } catch (error) {
    throw new ContentError('BAD_CAR', `not a CAR: ${error instanceof Error ? error.message : String(error)}`);
  }
  const roots = await iterator.getRoots();
  async function* blocks(): AsyncGenerator<Block> {
    const sections = iterator[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<{ cid: CID; bytes: Uint8Array }>;
      try {
        next = await sections.next();
      } catch (error) {
        throw new ContentError('BAD_CAR', `the CAR breaks off: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (next.done) return;
      await verifyBlock(next.value.cid, next.value.bytes);
      yield { cid: next.value.cid, bytes: next.value.bytes };
    }
  }
  return { roots, blocks: blocks() };
}

/** Where each block of a CAR lies: CID to the offset and length of its bytes (not its header). */
export async function indexCar(chunks: AsyncIterable<Uint8Array>): Promise<{ roots: CID[]; blocks: { cid: CID; offset: number; length: number }[] }> {
  let indexer: CarIndexer;
  try {
    indexer = await CarIndexer.fromIterable(chunks);
  } catch (error) {
    throw new ContentError('BAD_CAR', `not a CAR: ${error instanceof Error ? error.message : String(error)}`);
  }
  const roots = await indexer.getRoots();
  const blocks = [];
  try {
    for await (const entry of indexer) blocks.push({ cid: entry.cid, offset: entry.blockOffset, length: entry.blockLength });
  } catch (error) {
    throw new ContentError('BAD_CAR', `the CAR breaks off: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { roots, blocks };
}

/**
 * A CAR file written as blocks arrive (the root is known only at the end: the header carries a
 * placeholder of the same size, rewritten in place once the root is given).
 */
export class CarFileSink implements BlockSink {
  private readonly writer: ReturnType<typeof CarWriter.create>['writer'];
  private readonly done: Promise<void>;
  private readonly written = new Set<string>();
  blocks = 0;
  bytes = 0;

  private constructor(
    private readonly path: string,
    channel: ReturnType<typeof CarWriter.create>,
  ) {
    this.writer = channel.writer;
    this.done = (async () => {
      const handle = await open(path, 'w');
      try {
        for await (const chunk of channel.out) {
          await handle.write(chunk);
          this.bytes += chunk.length;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
    })();
  }

  static async create(path: string): Promise<CarFileSink> {
    return new CarFileSink(path, CarWriter.create([await placeholderRoot()]));
  }

  async put(cid: CID, bytes: Uint8Array): Promise<void> {
    // The importer may hand the same block over twice (a directory node rewritten): written once.
    const key = cid.toString();
    if (this.written.has(key)) return;
    this.written.add(key);
    await this.writer.put({ cid, bytes });
    this.blocks++;
  }

  /** Closes the CAR with `root` in its header. */
  async finish(root: CID): Promise<void> {
    await this.writer.close();
    await this.done;
    const handle = await open(this.path, 'r+');
    try {
      await CarWriter.updateRootsInFile(handle, [root]);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** A CIDv1 sha2-256 CID: the same size in a CAR header as every root BCR makes. */
async function placeholderRoot(): Promise<CID> {
  return CID.createV1(0x55, await sha256.digest(new Uint8Array(0)));
}

/** The largest block indexed out of a stored CAR. */
export const MAX_BLOCK_BYTES = 4 << 20;

/** A stored piece's blocks: where each lies in the file (absolute offset), and whether it was a CAR at all. */
export interface StoredCarIndex {
  roots: CID[];
  blocks: { cid: CID; offset: number; length: number }[];
  /** Sections skipped because their bytes do not hash to their CID (a client may store anything). */
  rejected: number;
}

/**
 * Indexes a CAR stored in `size` bytes of a file from `start` (a deal's piece: the CAR, then zero
 * padding to the piece size). The padding ends it; every block is checked against its CID and one
 * that does not match is left out of the index. Returns null when the region is not a CAR.
 */
export async function indexStoredCar(path: string, start: number, size: number): Promise<StoredCarIndex | null> {
  const handle = await open(path, 'r');
  try {
    let position = start;
    const end = start + size;
    const reader = chunkReader(async () => {
      if (position >= end) return null;
      const length = Math.min(1 << 20, end - position);
      const buffer = new Uint8Array(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      position += bytesRead;
      return bytesRead > 0 ? buffer.subarray(0, bytesRead) : null;
    });
    let roots: CID[];
    try {
      const header = await readHeader(reader, 1);
      roots = header.roots;
    } catch {
      return null;
    }
    const blocks: StoredCarIndex['blocks'] = [];
    let rejected = 0;
    while (reader.pos < size) {
      const next = await reader.upTo(1);
      if (next.length === 0 || next[0] === 0) break; // zero padding (or the end): the CAR is over
      let head;
      try {
        head = await readBlockHead(reader);
      } catch {
        break; // a torn or foreign tail: the blocks before it stand
      }
      // Blocks are small (IPFS moves at most 4 MiB in one): a larger claim is not a block we serve.
      if (head.blockLength > MAX_BLOCK_BYTES || reader.pos + head.blockLength > size) break;
      const offset = start + reader.pos;
      const bytes = await reader.exactly(head.blockLength, true);
      try {
        await verifyBlock(head.cid, bytes);
        blocks.push({ cid: head.cid, offset, length: head.blockLength });
      } catch {
        rejected++;
      }
    }
    return { roots, blocks, rejected };
  } finally {
    await handle.close();
  }
}

/** The blocks of a CAR held in memory, each checked against its CID, as a source to read a DAG from. */
export async function carInMemory(bytes: Uint8Array): Promise<{ roots: CID[]; get(cid: CID): Promise<Uint8Array> }> {
  const { roots, blocks } = await readCar((async function* () {
    yield bytes;
  })());
  const byCid = new Map<string, Uint8Array>();
  for await (const block of blocks) byCid.set(block.cid.toString(), block.bytes);
  return {
    roots,
    get: async (cid) => {
      const block = byCid.get(cid.toString());
      if (!block) throw new ContentError('BLOCK_MISMATCH', `the CAR lacks block ${cid} of the DAG`);
      return block;
    },
  };
}
