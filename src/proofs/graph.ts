// The labelling graph of a replica: node i of a layer depends on node i-1, on `drgParents` earlier
// nodes of the same layer drawn by bucket sampling (DRSample: a bucket of distance [2^(b-1), 2^b)
// chosen uniformly, then a distance inside it; this makes the graph depth-robust), and on
// `expanderParents` nodes of the previous layer. Parents derive from the replica id, so every
// replica has its own graph. Pure integer arithmetic: the verifier derives the same parents.
import { concatBytes, sha256, uintToBytesBE, utf8 } from '../primitives/index.js';
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

/** Length of a label's hash input: replica id, layer, node, previous label, parents. */
export function labelInputBytes(params: Pick<ProofParams, 'drgParents' | 'expanderParents'>): number {
  return 44 + 32 * (1 + params.drgParents + params.expanderParents);
}

/**
 * label(layer, i) = sha256(replicaId || layer (4 bytes) || i (8 bytes) || label(layer, i-1)
 *                          || labels of the DRG parents in this layer
 *                          || labels of the expander parents in layer-1 (from layer 2 on)).
 * Node 0 has no same-layer parents. `get(layer, node, into32, at)` copies a label's 8 words.
 */
export function computeLabel(
  replicaId32: Uint32Array,
  layer: number,
  node: number,
  parents: Uint32Array,
  params: Pick<ProofParams, 'drgParents' | 'expanderParents'>,
  get: (layer: number, node: number, into: Uint32Array, at: number) => void,
  buf: Uint8Array,
  buf32: Uint32Array,
): Uint8Array {
  for (let w = 0; w < 8; w++) buf32[w] = replicaId32[w]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setUint32(32, layer);
  view.setUint32(36, Math.floor(node / 2 ** 32));
  view.setUint32(40, node >>> 0);
  let at = 11;
  if (node > 0) {
    get(layer, node - 1, buf32, at);
    at += 8;
    for (let j = 0; j < params.drgParents; j++, at += 8) get(layer, parents[j]!, buf32, at);
  }
  if (layer > 1) for (let j = 0; j < params.expanderParents; j++, at += 8) get(layer - 1, parents[params.drgParents + j]!, buf32, at);
  return sha256(buf.subarray(0, at * 4));
}
