// SHA-256 for ids, trees and randomness; Keccak-256 only for addresses.
// 64-byte pair hashing (Merkle nodes) goes through @chainsafe/hashtree (native SHA-NI, batched) when it
// loads, with node:crypto as the portable fallback; both are covered by the same tests.
import { createHash, hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { keccak_256 } from '@noble/hashes/sha3.js';

export type PairHasher = (input: Uint8Array, output: Uint8Array) => void;

export function sha256(data: Uint8Array): Uint8Array {
  const digest = hash('sha256', data, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, 32);
}

export function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

/** Portable pair hasher: hashes each 64-byte block of `input` into the matching 32 bytes of `output`. */
export const jsHashPairsInto: PairHasher = (input, output) => {
  const pairs = input.length >>> 6;
  for (let i = 0; i < pairs; i++) {
    const digest = createHash('sha256').update(input.subarray(i * 64, i * 64 + 64)).digest();
    output.set(digest, i * 32);
  }
};

function loadNativePairHasher(): PairHasher | null {
  if (process.env.BCR_HASH_BACKEND === 'js') return null;
  try {
    const require = createRequire(import.meta.url);
    const hashtree = require('@chainsafe/hashtree') as { hashInto: PairHasher };
    const probeIn = new Uint8Array(64);
    const probeOut = new Uint8Array(32);
    hashtree.hashInto(probeIn, probeOut);
    const expected = new Uint8Array(32);
    jsHashPairsInto(probeIn, expected);
    return Buffer.from(probeOut).equals(Buffer.from(expected)) ? hashtree.hashInto : null;
  } catch {
    return null;
  }
}

const nativePairHasher = loadNativePairHasher();

/** Which pair hasher is live: 'native' (hashtree) or 'js' (node:crypto). */
export const pairHashBackend: 'native' | 'js' = nativePairHasher ? 'native' : 'js';

/** Batched: input holds N 64-byte pairs, output receives N 32-byte digests. */
export const hashPairsInto: PairHasher = nativePairHasher ?? jsHashPairsInto;

const pairIn = new Uint8Array(64);
const pairOut = new Uint8Array(32);
export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  pairIn.set(left, 0);
  pairIn.set(right, 32);
  hashPairsInto(pairIn, pairOut);
  return pairOut.slice();
}
