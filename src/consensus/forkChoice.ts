// Fork choice, the one comparison the chain and the simulation share: the chain with more blocks
// wins; at equal length the tip with the smaller VRF output wins (a tie-break no producer can grind
// after the fact, and the same on every node).
import { bytesToBigint } from '../primitives/index.js';

export interface ForkTip {
  height: number;
  /** The tip's VRF output read as an integer (the simulation uses its top 64 bits). */
  ticket: bigint;
}

/** True when `a` is strictly preferred to `b` (an equal tip keeps the one we have). */
export function isHeavierTip(a: ForkTip, b: ForkTip): boolean {
  if (a.height !== b.height) return a.height > b.height;
  return a.ticket < b.ticket;
}

export function tipOf(header: { height: number; vrfOutput: Uint8Array }): ForkTip {
  return { height: header.height, ticket: bytesToBigint(header.vrfOutput.subarray(0, 32)) };
}

/** The height at and below which blocks are final, for a head at `headHeight`. */
export function finalizedHeightOf(headHeight: number, finality: number): number {
  return Math.max(0, headHeight - finality);
}

/**
 * Whether a branch may replace canonical blocks: its first block off the canonical chain must be
 * above the finalized height. A heavier branch that forks deeper is refused whatever its weight.
 */
export function branchAllowed(firstBranchHeight: number, finalizedHeight: number): boolean {
  return firstBranchHeight > finalizedHeight;
}
