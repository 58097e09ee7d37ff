// Temporary election rule until the storage-weighted VRF lottery lands: a fixed set of authority
// addresses (from genesis) may each produce one block per slot. Deterministic "VRF output" =
// sha256(slot || producer) keeps fork choice's tie-break well defined. Pure: no clock, no IO.
import { BcrError, bytesEqual, concatBytes, sha256, uintToBytesBE } from '../primitives/index.js';

export interface ElectionProof {
  vrfProof: Uint8Array;
  vrfOutput: Uint8Array;
}

export function authorityElectionProof(slot: number, producer: Uint8Array): ElectionProof {
  return { vrfProof: new Uint8Array(0), vrfOutput: sha256(concatBytes(uintToBytesBE(slot, 8), producer)) };
}

export function verifyAuthorityElection(
  authorities: Uint8Array[],
  header: { slot: number; producer: Uint8Array; vrfProof: Uint8Array; vrfOutput: Uint8Array },
): void {
  if (!authorities.some((a) => bytesEqual(a, header.producer))) {
    throw new BcrError('NOT_ELIGIBLE', 'producer is not an authority of this network');
  }
  const expected = authorityElectionProof(header.slot, header.producer);
  if (header.vrfProof.length !== 0 || !bytesEqual(header.vrfOutput, expected.vrfOutput)) {
    throw new BcrError('BAD_ELECTION_PROOF', 'election proof does not match slot and producer');
  }
}
