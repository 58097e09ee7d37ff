// Where each stored piece sits: its sector, byte offset and the sector's unsealed data file. Written
// when pieces are packed into a sector, kept on disk durably (retrieval serves from it after a restart too).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DurableSnapshot } from '../util/durableFile.js';

export interface PieceLocation {
  /** 0x-hex piece commitment. */
  pieceCommitment: string;
  pieceBytes: number;
  deal: number;
  sector: number;
  offset: number;
  unsealedPath: string;
}

export class PieceIndex {
  private readonly pieces = new Map<string, PieceLocation[]>();
  private readonly listeners: ((entries: PieceLocation[]) => void)[] = [];
  private readonly snapshot: DurableSnapshot;

  private constructor(private readonly path: string) {
    this.snapshot = new DurableSnapshot(path, () => JSON.stringify(this.all(), null, 1));
  }

  static async open(dir: string): Promise<PieceIndex> {
    const index = new PieceIndex(join(dir, 'pieces.json'));
    if (existsSync(index.path)) for (const entry of JSON.parse(await readFile(index.path, 'utf8')) as PieceLocation[]) index.remember(entry);
    return index;
  }

  private remember(entry: PieceLocation): void {
    const key = entry.pieceCommitment.toLowerCase();
    this.pieces.set(key, [...(this.pieces.get(key) ?? []).filter((p) => p.deal !== entry.deal), entry]);
  }

  async add(entries: PieceLocation[]): Promise<void> {
    for (const entry of entries) this.remember(entry);
    // Durable before it returns; a failed write does not stop later ones (the next add retries all).
    await this.snapshot.save();
    for (const listener of this.listeners) listener(entries);
  }

  /** Called with every batch of pieces added (after they are on disk). */
  onAdd(listener: (entries: PieceLocation[]) => void): void {
    this.listeners.push(listener);
  }

  /** Copies of a piece this miner holds unsealed (any of them serves it). */
  find(pieceCommitment: string): PieceLocation[] {
    return (this.pieces.get(pieceCommitment.toLowerCase()) ?? []).filter((p) => existsSync(p.unsealedPath));
  }

  all(): PieceLocation[] {
    return [...this.pieces.values()].flat();
  }
}
