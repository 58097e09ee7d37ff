// Recovery is the costliest check of a tx: a tx seen in the mempool is not recovered again in its
// block (nor at re-validation after a reorg). Keyed by tx id, which commits to the signature.
import { hexKey } from '../primitives/index.js';

const cache = new Map<string, Uint8Array>();
const LIMIT = 100_000;

export function cachedSender(id: Uint8Array, recover: () => Uint8Array): Uint8Array {
  const key = hexKey(id);
  const hit = cache.get(key);
  if (hit) return hit;
  const sender = recover();
  if (cache.size >= LIMIT) cache.clear();
  cache.set(key, sender);
  return sender;
}

/** Records a sender recovered elsewhere (a preverification worker) under its tx id. */
export function primeSender(id: Uint8Array, sender: Uint8Array): void {
  if (cache.size >= LIMIT) cache.clear();
  cache.set(hexKey(id), sender);
}

/** For benchmarks: forget recovered senders so every tx pays for its recovery. */
export function clearSenderCache(): void {
  cache.clear();
}
