// classic-level (LevelDB) controller. One keyspace, split into buckets by a leading byte; every chain
// import is one atomic batch. A read-through cache serves hot small values (state, tree nodes, indexes)
// and is updated only after a batch has committed.
import { LRUCache } from 'lru-cache';
import { ClassicLevel } from 'classic-level';
import { concatBytes, keyString } from '../primitives/index.js';

/** Leading byte of every key. 0x10-0x1f belong to the state (flat values 0x10, tree pages 0x12). */
export const Bucket = {
  meta: 0x00,
  block: 0x01,
  canonical: 0x02,
  txIndex: 0x03,
  receipts: 0x04,
  undo: 0x05,
  /** Blocks off the canonical chain, by height then id, so those below finality can be deleted. */
  sideBlocks: 0x06,
  /** Events a canonical block's execution emitted (deal changes), by block id; not consensus data. */
  events: 0x07,
  /** Deal ids by client address and by provider id, from published-deal events (reads check the state). */
  dealIndex: 0x08,
  /** Headers of canonical blocks whose bodies and receipts were pruned (--prune-blocks). */
  header: 0x09,
  /** Heights of canonical blocks by log address and log topic (eth_getLogs); see chain/logIndex.ts. */
  logIndex: 0x0a,
} as const;

/** Every key prefix in the store by name (0x10-0x12 belong to state/), for `bcr db stats` and metrics. */
export const KEY_PREFIXES: Record<string, number> = {
  meta: Bucket.meta,
  blocks: Bucket.block,
  canonical: Bucket.canonical,
  txIndex: Bucket.txIndex,
  receipts: Bucket.receipts,
  undo: Bucket.undo,
  sideBlocks: Bucket.sideBlocks,
  events: Bucket.events,
  dealIndex: Bucket.dealIndex,
  prunedHeaders: Bucket.header,
  logIndex: Bucket.logIndex,
  stateValues: 0x10,
  stateTreeLegacy: 0x11,
  stateTree: 0x12,
};

export function bucketKey(bucket: number, key: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([bucket]), key);
}

export interface BatchWrite {
  key: Uint8Array;
  value: Uint8Array | null;
  /** keyString(key), when the writer has it */
  id?: string;
}

/** Memory the read cache may hold (keys, values and a per-entry overhead); least recently used out first. */
const CACHE_BYTES = 256 * 1024 * 1024;
const ENTRY_OVERHEAD_BYTES = 96;
const CACHEABLE_VALUE_BYTES = 2048; // a full state-tree page is 1,540 bytes

/** Stands for "no such key" in the cache (which keeps no null values); compared by identity. */
const ABSENT = new Uint8Array(0);

export class Database {
  private readonly cache: LRUCache<string, Uint8Array>;

  private constructor(
    private readonly level: ClassicLevel<Uint8Array, Uint8Array>,
    cacheLimitBytes: number,
  ) {
    this.cache = new LRUCache<string, Uint8Array>({ maxSize: cacheLimitBytes, sizeCalculation: (value, id) => id.length + value.length + ENTRY_OVERHEAD_BYTES });
  }

  static async open(path: string, options: { cacheBytes?: number } = {}): Promise<Database> {
    const level = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' });
    await level.open();
    return new Database(level, options.cacheBytes ?? CACHE_BYTES);
  }

  /** Size of the read cache (for diagnostics and tests). */
  cacheStats(): { entries: number; bytes: number } {
    return { entries: this.cache.size, bytes: this.cache.calculatedSize };
  }

  async get(key: Uint8Array, id = keyString(key)): Promise<Uint8Array | undefined> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached === ABSENT ? undefined : cached;
    const raw = await this.level.get(key);
    const value = raw === undefined ? undefined : new Uint8Array(raw);
    if (value === undefined || value.length <= CACHEABLE_VALUE_BYTES) this.remember(id, value ?? null);
    return value;
  }

  peek(id: string): Uint8Array | null | undefined {
    const cached = this.cache.get(id);
    return cached === ABSENT ? null : cached;
  }

  /** Loads many keys into the cache with one native call (a block's accounts before execution). */
  async prefetch(keys: Uint8Array[]): Promise<void> {
    const missing: { key: Uint8Array; id: string }[] = [];
    for (const key of keys) {
      const id = keyString(key);
      if (!this.cache.has(id)) missing.push({ key, id });
    }
    if (missing.length === 0) return;
    const values = await this.level.getMany(missing.map((m) => m.key));
    missing.forEach(({ id }, i) => {
      const value = values[i];
      if (value === undefined || value.length <= CACHEABLE_VALUE_BYTES) this.remember(id, value === undefined ? null : new Uint8Array(value));
    });
  }

  /**
   * A read-only view of the store as it is now, unchanged by later writes (a LevelDB snapshot): reads
   * of an older state can run beside imports. Uncached; close it when done.
   */
  snapshotReader(): { get(key: Uint8Array): Promise<Uint8Array | undefined>; close(): Promise<void> } {
    const snapshot = this.level.snapshot();
    return {
      get: async (key) => {
        const raw = await this.level.get(key, { snapshot });
        return raw === undefined ? undefined : new Uint8Array(raw);
      },
      close: () => snapshot.close(),
    };
  }

  /** Writes all changes atomically; `sync` waits for the OS to persist them (head updates). */
  async write(writes: BatchWrite[], sync = true): Promise<void> {
    // The chained form goes straight to the native batch; the array form validates and copies each op.
    const batch = this.level.batch();
    for (const w of writes) {
      if (w.value === null) batch.del(w.key);
      else batch.put(w.key, w.value);
    }
    await batch.write({ sync });
    for (const w of writes) {
      const id = w.id ?? keyString(w.key);
      if (w.value === null || w.value.length <= CACHEABLE_VALUE_BYTES) this.remember(id, w.value);
      else this.forget(id);
    }
  }

  private remember(id: string, value: Uint8Array | null): void {
    this.cache.set(id, value ?? ABSENT);
  }

  private forget(id: string): void {
    this.cache.delete(id);
  }

  /** Every key/value in a bucket, in key order (for inspection and rebuilding). */
  async *entries(bucket: number): AsyncGenerator<[Uint8Array, Uint8Array]> {
    const gte = new Uint8Array([bucket]);
    const lt = new Uint8Array([bucket + 1]);
    for await (const [key, value] of this.level.iterator({ gte, lt })) {
      yield [new Uint8Array(key), new Uint8Array(value)];
    }
  }

  /** LevelDB's estimate of the disk bytes under a key prefix (compressed, cheap: no scan). */
  approximateBytes(prefix: number): Promise<number> {
    return this.level.approximateSize(new Uint8Array([prefix]), new Uint8Array([prefix + 1]));
  }

  /** Exact count and logical size (keys plus values) under a key prefix: a full scan of it. */
  async measurePrefix(prefix: number): Promise<{ keys: number; bytes: number }> {
    let keys = 0;
    let bytes = 0;
    for await (const [key, value] of this.level.iterator({ gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) })) {
      keys++;
      bytes += key.length + value.length;
    }
    return { keys, bytes };
  }

  /** Compacts the whole store, so deleted entries leave the files (benchmarks, after pruning). */
  async compact(): Promise<void> {
    await this.level.compactRange(new Uint8Array([0x00]), new Uint8Array([0xff]));
  }

  /** Keys and bytes per named key prefix: exact logical sizes and LevelDB's on-disk estimate. */
  async bucketStats(): Promise<{ bucket: string; prefix: number; keys: number; bytes: number; diskBytes: number }[]> {
    const out = [];
    for (const [bucket, prefix] of Object.entries(KEY_PREFIXES)) out.push({ bucket, prefix, ...(await this.measurePrefix(prefix)), diskBytes: await this.approximateBytes(prefix) });
    return out;
  }

  /** Keys from `gte` (inclusive) to `lt` (exclusive), in key order. */
  async *keys(gte: Uint8Array, lt: Uint8Array): AsyncGenerator<Uint8Array> {
    for await (const key of this.level.keys({ gte, lt })) yield new Uint8Array(key);
  }

  async close(): Promise<void> {
    await this.level.close();
  }
}
