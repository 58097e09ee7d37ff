// Which stored piece holds which IPFS block: every piece a deal stores that is a CAR is indexed (CID
// to its byte range in the sector's unsealed copy), so the node's trustless gateway can serve any
// block, and any DAG, its miner stores. Kept on disk (DATA_DIR/miner/blocks.json, durably) and
// rebuilt from the pieces at start for any piece not indexed yet (a lost index costs one read).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CID, indexStoredCar } from '../content/index.js';
import { errorMessage } from '../primitives/errors.js';
import { DurableSnapshot } from '../util/durableFile.js';
import { OpenFiles } from '../util/openFiles.js';
import type { Logger } from '../util/logger.js';
import type { PieceIndex, PieceLocation } from './pieceIndex.js';

interface BlockLocation {
  pieceCommitment: string;
  deal: number;
  unsealedPath: string;
  offset: number;
  length: number;
}

interface StoredIndex {
  /** Pieces already read (`commitment:deal`), CAR or not. */
  indexed: string[];
  blocks: [cid: string, location: BlockLocation][];
  roots: [cid: string, pieceCommitment: string][];
}

const pieceKey = (p: PieceLocation) => `${p.pieceCommitment.toLowerCase()}:${p.deal}`;

export class BlockIndex {
  private readonly blocks = new Map<string, BlockLocation[]>();
  private readonly roots = new Map<string, string>();
  private readonly indexed = new Set<string>();
  private readonly snapshot: DurableSnapshot;
  private queue: Promise<void> = Promise.resolve();
  /** Unsealed copies kept open 30 s at most, so that a removed sector's file is let go. */
  private readonly files = new OpenFiles(32, 30_000);

  private constructor(
    private readonly path: string,
    private readonly log: Logger,
  ) {
    this.snapshot = new DurableSnapshot(path, () => JSON.stringify({ indexed: [...this.indexed], blocks: [...this.blocks].flatMap(([cid, list]) => list.map((l): [string, BlockLocation] => [cid, l])), roots: [...this.roots] } satisfies StoredIndex));
  }

  /** Opens the index beside the piece index, indexes what it misses, and follows new pieces. */
  static async open(dir: string, pieces: PieceIndex, log: Logger): Promise<BlockIndex> {
    const index = new BlockIndex(join(dir, 'blocks.json'), log);
    if (existsSync(index.path)) {
      try {
        const stored = JSON.parse(await readFile(index.path, 'utf8')) as StoredIndex;
        for (const key of stored.indexed) index.indexed.add(key);
        for (const [cid, location] of stored.blocks) index.remember(cid, location);
        for (const [cid, piece] of stored.roots) index.roots.set(cid, piece);
      } catch (error) {
        log.warn({ path: index.path, err: errorMessage(error) }, 'The block index is unreadable: rebuilding it from the pieces');
        index.indexed.clear();
        index.blocks.clear();
        index.roots.clear();
      }
    }
    pieces.onAdd((entries) => void index.enqueue(entries));
    await index.enqueue(pieces.all());
    return index;
  }

  private remember(cid: string, location: BlockLocation): void {
    const list = this.blocks.get(cid) ?? [];
    if (!list.some((l) => l.deal === location.deal && l.pieceCommitment === location.pieceCommitment)) list.push(location);
    this.blocks.set(cid, list);
  }

  /** Indexes pieces one at a time, in order; resolves when these are done. */
  enqueue(pieces: PieceLocation[]): Promise<void> {
    this.queue = this.queue.then(async () => {
      let changed = false;
      for (const piece of pieces) {
        if (this.indexed.has(pieceKey(piece)) || !existsSync(piece.unsealedPath)) continue;
        try {
          const car = await indexStoredCar(piece.unsealedPath, piece.offset, piece.pieceBytes);
          for (const block of car?.blocks ?? []) this.remember(block.cid.toString(), { pieceCommitment: piece.pieceCommitment.toLowerCase(), deal: piece.deal, unsealedPath: piece.unsealedPath, offset: block.offset, length: block.length });
          for (const root of car?.roots ?? []) this.roots.set(root.toString(), piece.pieceCommitment.toLowerCase());
          if (car) this.log.info({ piece: piece.pieceCommitment, deal: piece.deal, blocks: car.blocks.length, rejected: car.rejected, roots: car.roots.map(String) }, 'Piece indexed for the gateway');
          this.indexed.add(pieceKey(piece));
          changed = true;
        } catch (error) {
          this.log.warn({ piece: piece.pieceCommitment, deal: piece.deal, err: errorMessage(error) }, 'Indexing a piece failed');
        }
      }
      if (changed) await this.snapshot.save();
    });
    return this.queue.catch(() => undefined);
  }

  /** The block's bytes from a stored copy, or null when no copy is readable. */
  async get(cid: CID): Promise<Uint8Array | null> {
    for (const location of this.blocks.get(cid.toString()) ?? []) {
      try {
        const bytes = await this.files.read(location.unsealedPath, location.offset, location.length);
        if (bytes) return bytes;
      } catch {
        // That copy is gone (sector removed): try the next.
      }
    }
    return null;
  }

  /** Closes the files kept open. */
  close(): void {
    this.files.close();
  }

  has(cid: CID): boolean {
    return this.blocks.has(cid.toString());
  }

  /** Root CIDs of the CARs this miner stores, with the piece each came in. */
  rootList(): { cid: string; pieceCommitment: string }[] {
    return [...this.roots].map(([cid, pieceCommitment]) => ({ cid, pieceCommitment }));
  }

  get size(): number {
    return this.blocks.size;
  }
}

