// Chain randomness as seen by the state machine: each block records (slot, VRF output) at its height;
// entries older than the beacon window are dropped.
import { concatBytes, sha256, uintToBytesBE, utf8 } from '../../primitives/index.js';
import type { StateDb } from '../stateDb.js';
import { getBeacon, putBeacon, type BeaconEntry } from './records.js';

export async function recordBeacon(state: StateDb, height: number, entry: BeaconEntry, window: number): Promise<void> {
  await putBeacon(state, height, entry);
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
