// Equivocation evidence: two different headers for the same slot, signed by the same miner's worker.
import { bytesEqual, isBcrError } from '../../primitives/index.js';
import { decodeHeader, headerSigner, type BlockHeader } from '../../consensus/index.js';

export function verifyEquivocation(chainId: number, first: Uint8Array, second: Uint8Array): { miner: number; slot: number; signer: Uint8Array } | string {
  let a: BlockHeader;
  let b: BlockHeader;
  try {
    a = decodeHeader(first);
    b = decodeHeader(second);
  } catch (error) {
    return `undecodable header: ${isBcrError(error) ? error.message : String(error)}`;
  }
  if (bytesEqual(first, second)) return 'the two headers are the same';
  if (a.miner !== b.miner || a.slot !== b.slot) return 'headers are for different miners or slots';
  let signerA: Uint8Array;
  let signerB: Uint8Array;
  try {
    signerA = headerSigner(chainId, a);
    signerB = headerSigner(chainId, b);
  } catch {
    return 'a header signature is invalid';
  }
  if (!bytesEqual(signerA, signerB)) return 'headers have different signers';
  return { miner: a.miner, slot: a.slot, signer: signerA };
}
