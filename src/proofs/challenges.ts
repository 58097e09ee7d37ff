// Challenge derivation: sha256(tag || inputs || j) read as a 64-bit integer, reduced mod n
// (bias below 2^-32 for n < 2^32). Pure and identical on every node.
import { concatBytes, sha256, uintToBytesBE, utf8 } from '../primitives/index.js';

export function challengeIndices(tag: string, inputs: Uint8Array[], count: number, n: number): number[] {
  const prefix = concatBytes(utf8(tag), new Uint8Array([0]), ...inputs);
  const out: number[] = [];
  const bigN = BigInt(n);
  for (let j = 0; j < count; j++) {
    const digest = sha256(concatBytes(prefix, uintToBytesBE(j, 4)));
    const value = new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0);
    out.push(Number(value % bigN));
  }
  return out;
}
