// Proof of replication: after pre-commit and a seed delay, the seed picks `porepChallenges` nodes.
// The proof opens each in CommD (data) and CommRLast (replica), and opens the columns (labels of
// every layer) of the node and all its parents in CommC, so the verifier recomputes each challenged
// node's labels and the replica encoding itself.
import { bytes, bytesEqual, decode, encode, hashPairsInto, struct, varBytes } from '../primitives/index.js';
import { challengeIndices } from './challenges.js';
import { PARENT_SLOTS, computeLabel, labelScratch, nodeParents } from './graph.js';
import type { LeafSource, TreeReader } from './merkle.js';
import { createMultiproof, uniqueSorted, verifyMultiproofs } from './multiproof.js';
import { LEAF_BYTES, leafCount, treeDepth, type ProofParams } from './params.js';
import { commROf } from './seal.js';
import { observed } from './observer.js';

const MAX_PART = 16 * 1024 * 1024;
export const porepProofCodec = struct({
  commC: bytes(32),
  commRLast: bytes(32),
  dataLeaves: varBytes(MAX_PART),
  dataSiblings: varBytes(MAX_PART),
  replicaLeaves: varBytes(MAX_PART),
  replicaSiblings: varBytes(MAX_PART),
  columnLabels: varBytes(MAX_PART),
  columnSiblings: varBytes(MAX_PART),
});

export function porepChallenges(params: ProofParams, replicaId: Uint8Array, seed: Uint8Array): number[] {
  return uniqueSorted(challengeIndices('bcr/porep-challenge/v1', [replicaId, seed], params.porepChallenges, leafCount(params.sectorSize)));
}

/** The challenged nodes and every node their labels depend on (previous node and parents). */
export function columnSet(params: ProofParams, replicaId: Uint8Array, challenges: number[]): number[] {
  const nodes = leafCount(params.sectorSize);
  const parents = new Uint32Array(PARENT_SLOTS);
  const set: number[] = [];
  for (const c of challenges) {
    set.push(c);
    if (c > 0) set.push(c - 1);
    nodeParents(replicaId, c, nodes, params, parents);
    // Node 0 has no same-layer parents; expander parents matter from layer 2 on.
    for (let j = c === 0 ? params.drgParents : 0; j < params.drgParents; j++) set.push(parents[j]!);
    if (params.layers > 1) for (let j = 0; j < params.expanderParents; j++) set.push(parents[params.drgParents + j]!);
  }
  return uniqueSorted(set);
}

export interface PorepProver {
  params: ProofParams;
  replicaId: Uint8Array;
  commC: Uint8Array;
  commRLast: Uint8Array;
  data: TreeReader;
  replica: TreeReader;
  columns: TreeReader;
  /** Label layers 1..L as leaf sources. */
  layers: LeafSource[];
}

export async function provePorep(prover: PorepProver, seed: Uint8Array): Promise<Uint8Array> {
  const { params, replicaId } = prover;
  const challenges = porepChallenges(params, replicaId, seed);
  const nodesNeeded = columnSet(params, replicaId, challenges);
  await Promise.all([prover.data.load(challenges), prover.replica.load(challenges), prover.columns.load(nodesNeeded)]);
  const dataProof = createMultiproof(prover.data, challenges);
  const replicaProof = createMultiproof(prover.replica, challenges);
  const columnProof = createMultiproof(prover.columns, nodesNeeded);
  const columnLabels = new Uint8Array(nodesNeeded.length * params.layers * LEAF_BYTES);
  for (const [i, node] of nodesNeeded.entries()) {
    for (let l = 0; l < params.layers; l++) {
      columnLabels.set(await prover.layers[l]!.readLeaves(node, 1), (i * params.layers + l) * LEAF_BYTES);
    }
  }
  return encode(porepProofCodec, {
    commC: prover.commC,
    commRLast: prover.commRLast,
    dataLeaves: dataProof.leaves,
    dataSiblings: dataProof.siblings,
    replicaLeaves: replicaProof.leaves,
    replicaSiblings: replicaProof.siblings,
    columnLabels,
    columnSiblings: columnProof.siblings,
  });
}

export type PorepFailure = 'MALFORMED' | 'COMM_R_MISMATCH' | 'BAD_COLUMNS' | 'BAD_OPENING' | 'BAD_LABEL' | 'BAD_ENCODING';

export interface PorepStatement {
  params: ProofParams;
  replicaId: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
  seed: Uint8Array;
}

/** Verifies a PoRep; returns null when valid, else the reason. Pure: no IO, no clock. */
export function verifyPorep(statement: PorepStatement, proofBytes: Uint8Array): PorepFailure | null {
  return observed('porep', () => verifyPorepUnobserved(statement, proofBytes));
}

function verifyPorepUnobserved(statement: PorepStatement, proofBytes: Uint8Array): PorepFailure | null {
  const { params, replicaId } = statement;
  let proof;
  try {
    proof = decode(porepProofCodec, proofBytes, 'porep proof');
  } catch {
    return 'MALFORMED';
  }
  if (!bytesEqual(commROf(proof.commC, proof.commRLast), statement.commR)) return 'COMM_R_MISMATCH';
  const nodes = leafCount(params.sectorSize);
  const depth = treeDepth(nodes);
  const layers = params.layers;
  const challenges = porepChallenges(params, replicaId, statement.seed);
  const needed = columnSet(params, replicaId, challenges);
  if (proof.columnLabels.length !== needed.length * layers * LEAF_BYTES) return 'BAD_COLUMNS';

  // Column leaves, folded layer by layer in batched calls: c = H64(c || label_l).
  const columnLeaves = new Uint8Array(needed.length * LEAF_BYTES);
  const pairs = new Uint8Array(needed.length * 64);
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < needed.length; i++) {
      pairs.set(columnLeaves.subarray(i * 32, i * 32 + 32), i * 64);
      pairs.set(proof.columnLabels.subarray((i * layers + l) * 32, (i * layers + l) * 32 + 32), i * 64 + 32);
    }
    hashPairsInto(pairs, columnLeaves);
  }
  const openings = verifyMultiproofs([
    { root: statement.commD, depth, indices: challenges, leaves: proof.dataLeaves, siblings: proof.dataSiblings },
    { root: proof.commRLast, depth, indices: challenges, leaves: proof.replicaLeaves, siblings: proof.replicaSiblings },
    { root: proof.commC, depth, indices: needed, leaves: columnLeaves, siblings: proof.columnSiblings },
  ]);
  if (!openings.every(Boolean)) return 'BAD_OPENING';

  const position = new Map(needed.map((node, i) => [node, i]));
  const labels32 = new Uint32Array(proof.columnLabels.slice().buffer);
  const get = (layer: number, node: number, into: Uint32Array, at: number) => {
    const s = (position.get(node)! * layers + (layer - 1)) * 8;
    for (let w = 0; w < 8; w++) into[at + w] = labels32[s + w]!;
  };
  const scratch = labelScratch();
  const parents = new Uint32Array(PARENT_SLOTS);
  for (const [k, c] of challenges.entries()) {
    nodeParents(replicaId, c, nodes, params, parents);
    const at = position.get(c)!;
    for (let layer = 1; layer <= layers; layer++) {
      const label = computeLabel(replicaId, layer, c, parents, params, get, scratch);
      const opened = proof.columnLabels.subarray((at * layers + layer - 1) * 32, (at * layers + layer) * 32);
      if (!bytesEqual(label, opened)) return 'BAD_LABEL';
    }
    const last = proof.columnLabels.subarray((at * layers + layers - 1) * 32, (at * layers + layers) * 32);
    for (let b = 0; b < 32; b++) {
      if ((proof.dataLeaves[k * 32 + b]! ^ last[b]!) !== proof.replicaLeaves[k * 32 + b]) return 'BAD_ENCODING';
    }
  }
  return null;
}

/**
 * An upper bound on a PoRep's size: every opened leaf with a full path (a multiproof sends fewer
 * siblings), plus the varint framing of the eight fields.
 */
export function maxPorepBytes(params: ProofParams): number {
  const depth = treeDepth(leafCount(params.sectorSize));
  const c = params.porepChallenges;
  const columns = c * (2 + params.drgParents + params.expanderParents);
  const framing = 8 * 5;
  return 64 + 2 * c * LEAF_BYTES * (1 + depth) + columns * LEAF_BYTES * (params.layers + depth) + framing;
}
