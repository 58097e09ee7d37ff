// CAR (content-addressed archive, v1) in and out: the ecosystem's @ipld/car, streamed both ways.
// Reading from outside checks every block against its CID before it is handed on; the index of a
// CAR (CID to byte range) is what lets a miner serve one block out of a stored piece.
import { open } from 'node:fs/promises';
import { CarBlockIterator } from '@ipld/car/iterator';
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
    throw new ContentError('BAD_CID', `not a CAR: ${error instanceof Error ? error.message : String(error)}`);
  }
  const roots = await iterator.getRoots();
  async function* blocks(): AsyncGenerator<Block> {
    for await (const block of iterator) {
      await verifyBlock(block.cid, block.bytes);
      yield { cid: block.cid, bytes: block.bytes };
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
    throw new ContentError('BAD_CID', `not a CAR: ${error instanceof Error ? error.message : String(error)}`);
  }
  const roots = await indexer.getRoots();
  const blocks = [];
  for await (const entry of indexer) blocks.push({ cid: entry.cid, offset: entry.blockOffset, length: entry.blockLength });
  return { roots, blocks };
}

/**
 * A CAR file written as blocks arrive (the root is known only at the end: the header carries a
 * placeholder of the same size, rewritten in place once the root is given).
 */
export class CarFileSink implements BlockSink {
  private readonly writer: ReturnType<typeof CarWriter.create>['writer'];
  private readonly done: Promise<void>;
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

/** A CIDv1 sha2-256 CID: the same size in a CAR header as any root BCR makes. */
async function placeholderRoot(): Promise<CID> {
  return CID.createV1(0x55, await sha256.digest(new Uint8Array(0)));
}
