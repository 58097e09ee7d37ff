// ECVRF verification (2.4 ms) is the costliest step of a block import. Sync verifies the proofs of a
// downloaded batch on worker threads ahead of import and records the outputs here; import then finds
// them. Keyed by every input of the verification (key, input, proof), so a wrong guess of an input
// is only a miss, never a wrong answer.
import { LRUCache } from 'lru-cache';
import { concatBytes, hexKey } from '../primitives/index.js';
import { vrfVerify } from '../consensus/index.js';

// A failed verification is cached as `false` (lru-cache keeps no null values).
const cache = new LRUCache<string, Uint8Array | false>({ max: 20_000 });

function keyOf(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array): string {
  return hexKey(concatBytes(publicKey, alpha, proof));
}

/** vrfVerify, answered from the cache when a worker already verified these exact inputs. */
export function cachedVrfVerify(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array): Uint8Array | null {
  const key = keyOf(publicKey, alpha, proof);
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key); // each block is imported once
    return hit === false ? null : hit;
  }
  return vrfVerify(publicKey, alpha, proof);
}

export function primeVrf(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array, output: Uint8Array | null): void {
  cache.set(keyOf(publicKey, alpha, proof), output ?? false);
}

export function vrfCacheSize(): number {
  return cache.size;
}
