// The labelling graph of a replica: node i of a layer depends on node i-1, on `drgParents` earlier
// nodes of the same layer drawn by bucket sampling (DRSample: a bucket of distance [2^(b-1), 2^b)
// chosen uniformly, then a distance inside it; this makes the graph depth-robust), and on
// `expanderParents` nodes of the previous layer. Parents derive from the replica id, so every
// replica has its own graph. Pure integer arithmetic: the verifier derives the same parents.
import { concatBytes, hashPairsInto, sha256, uintToBytesBE, utf8 } from '../primitives/index.js';
import type { ProofParams } from './params.js';

export const PARENT_SLOTS = 8;

export function replicaIdOf(minerId: number, sectorNumber: number, sealRandomness: Uint8Array, commD: Uint8Array): Uint8Array {
  if (sealRandomness.length !== 32 || commD.length !== 32) throw new RangeError('seal randomness and CommD are 32 bytes');
  return sha256(concatBytes(utf8('bcr/replica-id/v1'), uintToBytesBE(minerId, 8), uintToBytesBE(sectorNumber, 8), sealRandomness, commD));
}

/** Fills out[0..D) with DRG parents and out[D..D+E) with expander parents of `node`. */
export function nodeParents(replicaId: Uint8Array, node: number, nodes: number, params: Pick<ProofParams, 'drgParents' | 'expanderParents'>, out: Uint32Array, seedBuf = new Uint8Array(40)): void {
  seedBuf.set(replicaId, 0);
  const view = new DataView(seedBuf.buffer, seedBuf.byteOffset, 40);
  view.setUint32(32, Math.floor(node / 2 ** 32));
  view.setUint32(36, node >>> 0);
  const digest = sha256(seedBuf);
  const words = new DataView(digest.buffer, digest.byteOffset, 32);
  const buckets = node >= 2 ? 31 - Math.clz32(node) : 0;
  for (let j = 0; j < params.drgParents; j++) {
    const r = words.getUint32(j * 4, true);
    if (node <= 1) {
      out[j] = 0;
      continue;
    }
    const bucket = 1 + (r % buckets);
    const low = 2 ** (bucket - 1);
    const distance = Math.min(node, low + ((r >>> 5) % low));
    out[j] = node - distance;
  }
  for (let j = 0; j < params.expanderParents; j++) out[params.drgParents + j] = words.getUint32((params.drgParents + j) * 4, true) % nodes;
}

/** Parents of every node (nodes x 8 words), computed once per replica and shared by all layers. */
export function parentTable(replicaId: Uint8Array, nodes: number, params: Pick<ProofParams, 'drgParents' | 'expanderParents'>): Uint32Array {
  const table = new Uint32Array(nodes * PARENT_SLOTS);
  const seedBuf = new Uint8Array(40);
  for (let node = 0; node < nodes; node++) nodeParents(replicaId, node, nodes, params, table.subarray(node * PARENT_SLOTS, node * PARENT_SLOTS + PARENT_SLOTS), seedBuf);
  return table;
}

/**
 * Label v2, a chain of 64-byte SHA-256 steps that a batched native call can take:
 *   c_0     = replicaId XOR (layer at bytes 20..23, node at bytes 24..31, big-endian)
 *   c_(j+1) = sha256(c_j || p_j)
 *   label   = the last c
 * over the parents p in this order: the previous node, the DRG parents (this layer), the expander
 * parents (previous layer, from layer 2 on); a node with none (node 0 of layer 1) hashes one zero
 * block. The previous label enters at the first step, so every step (two SHA-256 compressions) is
 * on the critical path of anyone regenerating the chain: docs/proofs.md §6.
 */
export function labelSteps(layer: number, node: number, params: Pick<ProofParams, 'drgParents' | 'expanderParents'>): number {
  const steps = (node > 0 ? 1 + params.drgParents : 0) + (layer > 1 ? params.expanderParents : 0);
  return Math.max(1, steps);
}

/** Writes c_0 of (layer, node) as 8 words at out[at..]. */
export function labelSeed(replicaId: Uint8Array, layer: number, node: number, out: Uint32Array, at: number, scratch: Uint8Array = new Uint8Array(32)): void {
  scratch.set(replicaId.subarray(0, 32));
  const view = new DataView(scratch.buffer, scratch.byteOffset, 32);
  view.setUint32(20, view.getUint32(20) ^ layer);
  view.setUint32(24, view.getUint32(24) ^ Math.floor(node / 2 ** 32));
  view.setUint32(28, view.getUint32(28) ^ (node >>> 0));
  const words = new Uint32Array(scratch.buffer, scratch.byteOffset, 8);
  for (let w = 0; w < 8; w++) out[at + w] = words[w]!;
}

/** The (layer, node) of step `j` of a label, or null for the zero block of a parentless node. */
export function stepParent(layer: number, node: number, j: number, parents: Uint32Array, params: Pick<ProofParams, 'drgParents' | 'expanderParents'>): [number, number] | null {
  let k = j;
  if (node > 0) {
    if (k === 0) return [layer, node - 1];
    if (k <= params.drgParents) return [layer, parents[k - 1]!];
    k -= 1 + params.drgParents;
  }
  if (layer > 1 && k < params.expanderParents) return [layer - 1, parents[params.drgParents + k]!];
  return null;
}

export interface LabelScratch {
  pair: Uint8Array;
  pair32: Uint32Array;
  out: Uint8Array;
  out32: Uint32Array;
  seed: Uint8Array;
}

export function labelScratch(): LabelScratch {
  const pair = new Uint8Array(64);
  const out = new Uint8Array(32);
  return { pair, pair32: new Uint32Array(pair.buffer), out, out32: new Uint32Array(out.buffer), seed: new Uint8Array(32) };
}

/**
 * One label, node by node (the verifier's path; sealing uses the batched labeller). `get(layer,
 * node, into32, at)` copies a label's 8 words.
 */
export function computeLabel(
  replicaId: Uint8Array,
  layer: number,
  node: number,
  parents: Uint32Array,
  params: Pick<ProofParams, 'drgParents' | 'expanderParents'>,
  get: (layer: number, node: number, into: Uint32Array, at: number) => void,
  scratch: LabelScratch = labelScratch(),
): Uint8Array {
  const { pair, pair32, out, out32 } = scratch;
  labelSeed(replicaId, layer, node, pair32, 0, scratch.seed);
  const steps = labelSteps(layer, node, params);
  for (let j = 0; j < steps; j++) {
    const parent = stepParent(layer, node, j, parents, params);
    if (parent) get(parent[0], parent[1], pair32, 8);
    else pair32.fill(0, 8, 16);
    hashPairsInto(pair, out);
    for (let w = 0; w < 8; w++) pair32[w] = out32[w]!;
  }
  return out.slice();
}
