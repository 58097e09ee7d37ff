// Commitment to an ordered list of 32-byte hashes (tx ids, receipts): a binary SHA-256 tree padded
// with zero leaves to a power of two, bound to the count so padding cannot be confused with data.
import { hashPair, sha256Parts } from './hash.js';
import { uintToBytesBE } from './bytes.js';

export function listRoot(items: Uint8Array[]): Uint8Array {
  let level = items.length ? items.slice() : [new Uint8Array(32)];
  let width = 1;
  while (width < level.length) width <<= 1;
  while (level.length < width) level.push(new Uint8Array(32));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1]!));
    level = next;
  }
  return sha256Parts(uintToBytesBE(items.length, 4), level[0]!);
}
