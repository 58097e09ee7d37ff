// Sealing (proof-of-replication encoding): sequential labelling of `layers` layers over the
// replica's graph; replica leaf = data leaf XOR last-layer label. Commitments:
//   CommD     = root of the data,
//   CommC     = root of the column leaves c[i] = H64(...H64(H64(0 || label_1[i]) || label_2[i])... || label_L[i]),
//   CommRLast = root of the replica,
//   CommR     = H64(CommC || CommRLast).
// Labelling is inherently sequential (each label needs the previous one): that is what makes
// regenerating a deleted replica slow. Only two layers are held in memory at a time.
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPair, hashPairsInto } from '../primitives/index.js';
import { PARENT_SLOTS, computeLabel, labelInputBytes, parentTable } from './graph.js';
import { buildTreeCache, fileSource, merkleRoot, type TreeCache } from './merkle.js';
import { LEAF_BYTES, checkProofParams, leafCount, type ProofParams } from './params.js';

export interface SealProgress {
  phase: 'commd' | 'labels' | 'replica';
  layer?: number;
  /** Fraction of this phase done, 0..1. */
  done: number;
}

export interface Commitments {
  commD: Uint8Array;
  commC: Uint8Array;
  commRLast: Uint8Array;
  commR: Uint8Array;
}

export function commROf(commC: Uint8Array, commRLast: Uint8Array): Uint8Array {
  return hashPair(commC, commRLast);
}

function words(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
}

/**
 * Generates every layer's labels in order; `onLayer` receives each finished layer (before it is
 * dropped). Returns the column leaves and the last layer.
 */
export function generateLabels(
  params: ProofParams,
  replicaId: Uint8Array,
  onLayer?: (layer: number, labels: Uint8Array) => void,
  onProgress?: (p: SealProgress) => void,
): { columns: Uint8Array; lastLayer: Uint8Array } {
  const nodes = leafCount(params.sectorSize);
  const parents = parentTable(replicaId, nodes, params);
  const replicaId32 = words(replicaId.slice());
  const buf = new Uint8Array(labelInputBytes(params));
  const buf32 = words(buf);
  const columns = new Uint8Array(nodes * LEAF_BYTES);
  const interleaved = new Uint8Array(nodes * 64);
  const interleaved32 = words(interleaved);
  const columns32 = words(columns);
  let prev: Uint8Array = new Uint8Array(0);
  let prev32: Uint32Array = new Uint32Array(0);
  const progressEvery = Math.max(1, nodes >>> 6);
  for (let layer = 1; layer <= params.layers; layer++) {
    const current = new Uint8Array(nodes * LEAF_BYTES);
    const current32 = words(current);
    const get = (l: number, node: number, into: Uint32Array, at: number) => {
      const src = l === layer ? current32 : prev32;
      const s = node << 3;
      for (let w = 0; w < 8; w++) into[at + w] = src[s + w]!;
    };
    for (let node = 0; node < nodes; node++) {
      const label = computeLabel(replicaId32, layer, node, parents.subarray(node * PARENT_SLOTS, node * PARENT_SLOTS + PARENT_SLOTS), params, get, buf, buf32);
      current.set(label, node * LEAF_BYTES);
      if (onProgress && node % progressEvery === 0) onProgress({ phase: 'labels', layer, done: node / nodes });
    }
    // Fold this layer into the column leaves: c = H64(c || label), all nodes in one batched call.
    for (let node = 0; node < nodes; node++) {
      const d = node << 4;
      const s = node << 3;
      for (let w = 0; w < 8; w++) {
        interleaved32[d + w] = columns32[s + w]!;
        interleaved32[d + 8 + w] = current32[s + w]!;
      }
    }
    hashPairsInto(interleaved, columns);
    onLayer?.(layer, current);
    prev = current;
    prev32 = current32;
  }
  onProgress?.({ phase: 'labels', layer: params.layers, done: 1 });
  return { columns, lastLayer: prev };
}

export function xorInto(target: Uint8Array, a: Uint8Array, b: Uint8Array): Uint8Array {
  const t = words(target);
  const x = words(a);
  const y = words(b);
  for (let i = 0; i < t.length; i++) t[i] = x[i]! ^ y[i]!;
  return target;
}

export interface SealedInMemory extends Commitments {
  replicaId: Uint8Array;
  replica: Uint8Array;
  layers: Uint8Array[];
  columns: Uint8Array;
}

/** Seals a sector held in memory (tests, small sectors). `data` must be exactly the sector size. */
export function sealInMemory(params: ProofParams, replicaId: Uint8Array, data: Uint8Array): SealedInMemory {
  checkProofParams(params);
  if (data.length !== params.sectorSize) throw new RangeError(`data must be exactly ${params.sectorSize} bytes`);
  const layers: Uint8Array[] = [];
  const { columns, lastLayer } = generateLabels(params, replicaId, (_l, labels) => layers.push(labels));
  const replica = xorInto(new Uint8Array(data.length), data, lastLayer);
  const commD = merkleRoot(data.slice());
  const commC = merkleRoot(columns);
  const commRLast = merkleRoot(replica.slice());
  return { replicaId, replica, layers, columns, commD, commC, commRLast, commR: commROf(commC, commRLast) };
}

/** Recovers the data from a replica: regenerates the last layer (as slow as sealing) and XORs. */
export function unseal(params: ProofParams, replicaId: Uint8Array, replica: Uint8Array): Uint8Array {
  const { lastLayer } = generateLabels(params, replicaId);
  return xorInto(new Uint8Array(replica.length), replica, lastLayer);
}

/** Files of a sealed sector in its directory. */
export const SectorFiles = {
  replica: 'replica.bin',
  columns: 'columns.bin',
  layer: (l: number) => `labels-${l}.bin`,
  meta: 'sector.json',
} as const;

export interface SealedSectorMeta {
  sectorSize: number;
  replicaId: string;
  commD: string;
  commC: string;
  commRLast: string;
  commR: string;
}

const CHUNK_LEAVES = 1 << 15;

/**
 * Seals a data file (zero-padded to the sector size) into `dir`: labels and columns for the PoRep,
 * the replica, and the replica's tree cache for PoSt. Data and replica are streamed by 1 MiB chunks.
 */
export async function sealFile(opts: {
  params: ProofParams;
  replicaId: Uint8Array;
  dataPath: string;
  dir: string;
  onProgress?: (p: SealProgress) => void;
}): Promise<Commitments & { replicaTree: TreeCache }> {
  const { params, replicaId, dir, onProgress } = opts;
  checkProofParams(params);
  const nodes = leafCount(params.sectorSize);
  await mkdir(dir, { recursive: true });
  const data = await fileSource(opts.dataPath, nodes);
  try {
    if (data.size > params.sectorSize) throw new RangeError(`data is ${data.size} bytes, above the sector size ${params.sectorSize}`);
    const commD = (await buildTreeCache(data, undefined, (done) => onProgress?.({ phase: 'commd', done }))).root;
    const layerWrites: Promise<void>[] = [];
    const { columns, lastLayer } = generateLabels(params, replicaId, (layer, labels) => layerWrites.push(writeFile(join(dir, SectorFiles.layer(layer)), labels)), onProgress);
    await Promise.all(layerWrites);
    await writeFile(join(dir, SectorFiles.columns), columns);
    const commC = merkleRoot(columns);
    const out = await open(join(dir, SectorFiles.replica), 'w');
    try {
      const chunk = new Uint8Array(Math.min(CHUNK_LEAVES, nodes) * LEAF_BYTES);
      for (let start = 0; start < nodes; start += CHUNK_LEAVES) {
        const count = Math.min(CHUNK_LEAVES, nodes - start);
        const leaves = await data.readLeaves(start, count, chunk);
        xorInto(leaves, leaves, lastLayer.subarray(start * LEAF_BYTES, (start + count) * LEAF_BYTES));
        await out.write(leaves, 0, leaves.length, start * LEAF_BYTES);
        onProgress?.({ phase: 'replica', done: (start + count) / nodes });
      }
    } finally {
      await out.close();
    }
    const replica = await fileSource(join(dir, SectorFiles.replica), nodes);
    const replicaTree = await buildTreeCache(replica);
    await replica.close();
    const commRLast = replicaTree.root;
    const commR = commROf(commC, commRLast);
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const meta: SealedSectorMeta = { sectorSize: params.sectorSize, replicaId: hex(replicaId), commD: hex(commD), commC: hex(commC), commRLast: hex(commRLast), commR: hex(commR) };
    await writeFile(join(dir, SectorFiles.meta), JSON.stringify(meta, null, 2));
    return { commD, commC, commRLast, commR, replicaTree };
  } finally {
    await data.close();
  }
}

