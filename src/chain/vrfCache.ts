// ECVRF verification (2.4 ms) is the costliest step of a block import. Sync verifies the proofs of a
// downloaded batch on worker threads ahead of import and records the outputs here; import then finds
// them. Keyed by every input of the verification (key, input, proof), so a wrong guess of an input
// is only a miss, never a wrong answer.
import { concatBytes, hexKey } from '../primitives/index.js';
import { vrfVerify } from '../consensus/index.js';

const LIMIT = 20_000;
const cache = new Map<string, Uint8Array | null>();

function keyOf(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array): string {
  return hexKey(concatBytes(publicKey, alpha, proof));
}

/** vrfVerify, answered from the cache when a worker already verified these exact inputs. */
export function cachedVrfVerify(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array): Uint8Array | null {
  const key = keyOf(publicKey, alpha, proof);
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key); // each block is imported once
    return hit;
  }
  return vrfVerify(publicKey, alpha, proof);
}

export function primeVrf(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array, output: Uint8Array | null): void {
  if (cache.size >= LIMIT) cache.clear();
  cache.set(keyOf(publicKey, alpha, proof), output);
}

export function vrfCacheSize(): number {
  return cache.size;
}
