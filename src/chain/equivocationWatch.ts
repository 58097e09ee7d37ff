// Remembers the first header each miner signed for each recent slot; a second, different header for
// the same slot (both signed by the miner's worker key) is equivocation evidence anyone may report.
import { bytesEqual, hexKey } from '../primitives/index.js';
import { encodeHeader, type BlockHeader } from './block.js';

export interface Equivocation {
  miner: number;
  slot: number;
  first: Uint8Array;
  second: Uint8Array;
}

/** Headers remembered at most: recent slots of every miner (a bound an attacker cannot grow). */
const MAX_REMEMBERED = 8192;

export class EquivocationWatch {
  private readonly firstHeaders = new Map<string, Uint8Array>();
  private readonly reported = new Set<string>();
  private readonly listeners: ((evidence: Equivocation) => void)[] = [];

  onEquivocation(listener: (evidence: Equivocation) => void): void {
    this.listeners.push(listener);
  }

  /** Notes a header whose signature by the miner's worker key was checked. */
  observe(header: BlockHeader): void {
    const key = `${header.miner}:${header.slot}`;
    const encoded = encodeHeader(header);
    const first = this.firstHeaders.get(key);
    if (!first) {
      if (this.firstHeaders.size >= MAX_REMEMBERED) this.firstHeaders.delete(this.firstHeaders.keys().next().value as string);
      this.firstHeaders.set(key, encoded);
      return;
    }
    if (bytesEqual(first, encoded) || this.reported.has(key)) return;
    this.reported.add(key);
    if (this.reported.size > MAX_REMEMBERED) this.reported.delete(this.reported.values().next().value as string);
    const evidence = { miner: header.miner, slot: header.slot, first, second: encoded };
    for (const listener of this.listeners) listener(evidence);
  }

  static describe(evidence: Equivocation): Record<string, string | number> {
    return { miner: evidence.miner, slot: evidence.slot, first: hexKey(evidence.first).slice(0, 16), second: hexKey(evidence.second).slice(0, 16) };
  }
}
