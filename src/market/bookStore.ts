// The order book across restarts: its live orders are kept in a file (written when the book has
// changed, durably) and admitted again at start, through the same checks as gossip, so that a node's
// market page and `bcr market asks` are whole at once instead of after every miner re-announces.
import { existsSync, readFileSync } from 'node:fs';
import { errorMessage, fromHex, toHex } from '../primitives/index.js';
import { DurableSnapshot } from '../util/durableFile.js';
import type { Logger } from '../util/logger.js';
import type { OrderBook } from './book.js';
import { ORDER_CODECS, type OrderKind } from './orders.js';

interface StoredOrder {
  kind: string;
  bytes: string;
}

export class OrderBookStore {
  private readonly snapshot: DurableSnapshot;
  private savedVersion = -1;

  constructor(
    private readonly book: OrderBook,
    private readonly path: string,
    private readonly log: Logger,
  ) {
    this.snapshot = new DurableSnapshot(path, () => JSON.stringify(book.entries().map((o) => ({ kind: o.kind, bytes: toHex(o.bytes) }))));
  }

  /** Admits the orders of the last run again; expired or no longer valid ones are dropped. Returns how many came back. */
  async restore(): Promise<number> {
    if (!existsSync(this.path)) return 0;
    let stored: StoredOrder[];
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      if (!Array.isArray(parsed)) throw new Error('not a list');
      stored = parsed as StoredOrder[];
    } catch (error) {
      this.log.warn({ path: this.path, err: errorMessage(error) }, 'The saved order book is unreadable: starting with an empty one');
      return 0;
    }
    let restored = 0;
    for (const entry of stored) {
      if (typeof entry?.kind !== 'string' || !(entry.kind in ORDER_CODECS) || typeof entry.bytes !== 'string') continue;
      try {
        await this.book.admit(entry.kind as OrderKind, fromHex(entry.bytes));
        restored++;
      } catch {
        // Expired since, superseded, or its miner gone: the book is right to refuse it.
      }
    }
    this.savedVersion = this.book.version;
    return restored;
  }

  /** Writes the book if it changed since the last write. */
  async save(): Promise<void> {
    const version = this.book.version;
    if (version === this.savedVersion) return;
    await this.snapshot.save();
    this.savedVersion = version;
  }

  async close(): Promise<void> {
    await this.save();
    await this.snapshot.settled();
  }
}
