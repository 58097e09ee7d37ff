// Recovery is the costliest check of a tx: a tx seen in the mempool is not recovered again in its
// block (nor at re-validation after a reorg). Keyed by tx id, which commits to the signature.
import { LRUCache } from 'lru-cache';
import { hexKey } from '../primitives/index.js';

// Least recently used out first: a flood of fresh txs cannot empty the cache of the pool's own.
const cache = new LRUCache<string, Uint8Array>({ max: 100_000 });

export function cachedSender(id: Uint8Array, recover: () => Uint8Array): Uint8Array {
  const key = hexKey(id);
  const hit = cache.get(key);
  if (hit) return hit;
  const sender = recover();
  cache.set(key, sender);
  return sender;
}

/** Records a sender recovered elsewhere (a preverification worker) under its tx id. */
export function primeSender(id: Uint8Array, sender: Uint8Array): void {
  cache.set(hexKey(id), sender);
}

/** For benchmarks: forget recovered senders so every tx pays for its recovery. */
export function clearSenderCache(): void {
  cache.clear();
}
