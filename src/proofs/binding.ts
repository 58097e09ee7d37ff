// Does a profile bind storage? The attacker of docs/proofs.md §6 keeps every replica leaf but the
// ones it deleted and, when a challenge hits a deleted leaf, must relabel it. With unlimited
// parallelism its time is the critical path through the labelling graph: every step of a label is
// a 64-byte SHA-256 (two compressions) that waits for the one before. This module measures that path
// on the real graph (at a smaller node count: the graph's depth scales linearly with it) and turns it
// into seconds for a given compression latency. Integer arithmetic only.
import { PARENT_SLOTS, labelSteps, parentTable } from './graph.js';
import { leafCount, type ProofParams } from './params.js';

export interface CriticalPath {
  nodes: number;
  /** Fewest sequential compressions to relabel any one leaf of the last layer. */
  minCompressions: number;
  /** The same, averaged over the last layer's leaves (what a random challenge costs). */
  meanCompressions: number;
}

/**
 * Critical paths of a `nodes`-node graph with the profile's layers and parents: the last layer's
 * other labels are known (the attacker stored them), every earlier layer must be recomputed.
 */
export function regenerationPath(params: ProofParams, nodes: number, replicaId: Uint8Array): CriticalPath {
  const table = parentTable(replicaId, nodes, params);
  let previous = new Float64Array(0);
  let minCompressions = Infinity;
  let total = 0;
  for (let layer = 1; layer <= params.layers; layer++) {
    const last = layer === params.layers;
    const current = new Float64Array(nodes);
    for (let node = 0; node < nodes; node++) {
      const slots = table.subarray(node * PARENT_SLOTS, (node + 1) * PARENT_SLOTS);
      let before = 0;
      // In the last layer, same-layer parents are stored leaves: they cost nothing.
      if (!last && node > 0) {
        before = current[node - 1]!;
        for (let j = 0; j < params.drgParents; j++) before = Math.max(before, current[slots[j]!]!);
      }
      if (layer > 1) for (let j = 0; j < params.expanderParents; j++) before = Math.max(before, previous[slots[params.drgParents + j]!]!);
      current[node] = before + 2 * labelSteps(layer, node, params);
      if (last) {
        minCompressions = Math.min(minCompressions, current[node]!);
        total += current[node]!;
      }
    }
    previous = current;
  }
  return { nodes, minCompressions, meanCompressions: total / nodes };
}

export interface Attacker {
  /** Latency of one SHA-256 compression on the attacker's fastest core, in picoseconds. */
  compressionPs: number;
}

export interface BindingReport {
  sectorNodes: number;
  /** Sequential compressions per sector node, from the scaled graph (min over leaves). */
  compressionsPerNode: number;
  /** Seconds the attacker needs to relabel the cheapest leaf of a full-size sector. */
  regenerationSeconds: number;
  /** Seconds from the challenge randomness being known to the proof's deadline. */
  windowSeconds: number;
  /** regenerationSeconds / windowSeconds. */
  margin: number;
}

/** Scales a measured critical path to the profile's sector and compares it with a window. */
export function bindingReport(params: ProofParams, path: CriticalPath, attacker: Attacker, windowSeconds: number): BindingReport {
  const sectorNodes = leafCount(params.sectorSize);
  const compressionsPerNode = path.minCompressions / path.nodes;
  const regenerationSeconds = (compressionsPerNode * sectorNodes * attacker.compressionPs) / 1e12;
  return { sectorNodes, compressionsPerNode, regenerationSeconds, windowSeconds, margin: regenerationSeconds / windowSeconds };
}

/**
 * The attacker of docs/proofs.md §6: a SHA-256 compression in 5 ns on the critical path, about 6x
 * the fastest SHA-NI core (~2.2 GB/s single stream, ~29 ns per 64-byte block).
 */
export const MAINNET_ATTACKER: Attacker = { compressionPs: 5000 };

/**
 * Slots by which the WindowPoSt randomness (the last block before a window opens) may precede the
 * window: at f = 1/20 a gap of 300 empty slots happens with probability 0.95^300 = 2e-7.
 */
export const WINDOW_LEAD_SLOTS = 300;
