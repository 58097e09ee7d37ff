// Chain randomness as seen by the state machine: each block records (slot, VRF output, mix) at its
// height; entries older than the beacon window are dropped. The mix folds in every block's VRF
// output, so a producer knows the mix at a height only once the last block before it that another
// producer made has arrived: proof challenges (PoRep seed, WindowPoSt, WinningPoSt) come from it.
// The election keeps the plain VRF output far back (it needs no freshness, only no grinding).
import { concatBytes, sha256, uintToBytesBE, utf8 } from '../../primitives/index.js';
import type { StateDb } from '../stateDb.js';
import { getBeacon, putBeacon, type BeaconEntry } from './records.js';

/** mix_h = sha256("bcr/beacon-mix/v1" || mix_(h-1) || vrfOutput_h), with 32 zero bytes before genesis. */
export function nextMix(previousMix: Uint8Array, vrfOutput: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8('bcr/beacon-mix/v1'), previousMix, vrfOutput));
}

export function genesisBeaconEntry(vrfOutput: Uint8Array): BeaconEntry {
  return { slot: 0, vrfOutput, mix: nextMix(new Uint8Array(32), vrfOutput) };
}

export async function recordBeacon(state: StateDb, height: number, slot: number, vrfOutput: Uint8Array, window: number): Promise<void> {
  // The parent's entry is always there on a chain (the window keeps at least the last one); a bare
  // state without genesis starts from the zero mix.
  const previous = await getBeacon(state, height - 1);
  await putBeacon(state, height, { slot, vrfOutput, mix: nextMix(previous?.mix ?? new Uint8Array(32), vrfOutput) });
  if (height - window >= 0) await putBeacon(state, height - window, null);
}

/** The latest beacon entry strictly before `slot`, searching down from `height - 1`. */
export async function beaconBefore(state: StateDb, height: number, slot: number): Promise<BeaconEntry | null> {
  for (let h = height - 1; h >= 0; h--) {
    const entry = await getBeacon(state, h);
    if (!entry) return null;
    if (entry.slot < slot) return entry;
  }
  return null;
}

export function derivedRandomness(tag: string, beacon: Uint8Array, ...numbers: number[]): Uint8Array {
  return sha256(concatBytes(utf8(`bcr/${tag}/v1`), beacon, ...numbers.map((n) => uintToBytesBE(n, 8))));
}
