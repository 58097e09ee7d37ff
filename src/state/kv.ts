// The small key-value interface the state machine runs on, and a write overlay over it.
// An overlay collects writes in memory; the chain turns them into one atomic LevelDB batch.
import { hexKey } from '../primitives/index.js';

export interface KvReader {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
}

export interface KvWrite {
  key: Uint8Array;
  value: Uint8Array | null;
}

export class Overlay implements KvReader {
  private readonly writes = new Map<string, KvWrite>();

  constructor(private readonly base: KvReader) {}

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const write = this.writes.get(hexKey(key));
    if (write) return write.value ?? undefined;
    return this.base.get(key);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(hexKey(key), { key, value });
  }

  del(key: Uint8Array): void {
    this.writes.set(hexKey(key), { key, value: null });
  }

  /** Every pending write, last value per key. */
  entries(): KvWrite[] {
    return [...this.writes.values()];
  }

  get size(): number {
    return this.writes.size;
  }
}

/** In-memory KV for tests, simulations and benchmarks. */
export class MemoryKv implements KvReader {
  readonly map = new Map<string, Uint8Array>();

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.map.get(hexKey(key));
  }

  apply(writes: KvWrite[]): void {
    for (const { key, value } of writes) {
      if (value === null) this.map.delete(hexKey(key));
      else this.map.set(hexKey(key), value);
    }
  }
}
