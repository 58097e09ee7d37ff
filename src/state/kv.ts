// The small key-value interface the state machine runs on, and a write overlay over it.
// An overlay collects writes in memory; the chain turns them into one atomic LevelDB batch.
import { keyString } from '../primitives/index.js';

export interface KvReader {
  /** `id` is `keyString(key)` when the caller has it already (the map key all the way down). */
  get(key: Uint8Array, id?: string): Promise<Uint8Array | undefined>;
  /** Synchronous answer when the value is in memory: bytes, null for a known absence, undefined if unknown. */
  peek?(id: string): Uint8Array | null | undefined;
}

export interface KvWrite {
  key: Uint8Array;
  value: Uint8Array | null;
  /** keyString(key) */
  id?: string;
}

export class Overlay implements KvReader {
  private readonly writes = new Map<string, KvWrite>();

  constructor(private readonly base: KvReader) {}

  async get(key: Uint8Array, id = keyString(key)): Promise<Uint8Array | undefined> {
    const write = this.writes.get(id);
    if (write) return write.value ?? undefined;
    return this.base.get(key, id);
  }

  peek(id: string): Uint8Array | null | undefined {
    const write = this.writes.get(id);
    if (write) return write.value;
    return this.base.peek?.(id);
  }

  put(key: Uint8Array, value: Uint8Array, id = keyString(key)): void {
    this.writes.set(id, { key, value, id });
  }

  del(key: Uint8Array, id = keyString(key)): void {
    this.writes.set(id, { key, value: null, id });
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

  async get(key: Uint8Array, id = keyString(key)): Promise<Uint8Array | undefined> {
    return this.map.get(id);
  }

  peek(id: string): Uint8Array | null {
    return this.map.get(id) ?? null;
  }

  apply(writes: KvWrite[]): void {
    for (const { key, value, id = keyString(key) } of writes) {
      if (value === null) this.map.delete(id);
      else this.map.set(id, value);
    }
  }
}
