// Sealing (proof-of-replication encoding): sequential labelling of `layers` layers over the
// replica's graph; replica leaf = data leaf XOR last-layer label. Commitments:
//   CommD     = root of the data,
//   CommC     = root of the column leaves c[i] = H64(...H64(H64(0 || label_1[i]) || label_2[i])... || label_L[i]),
//   CommRLast = root of the replica,
//   CommR     = H64(CommC || CommRLast).
// Labelling is inherently sequential (each label needs the previous one): that is what makes
// regenerating a deleted replica slow. sealFile holds one layer in memory and streams the rest.
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPair } from '../primitives/index.js';
import { PARENT_SLOTS, nodeParents, parentTable } from './graph.js';
import { writeFileDurable, writeFileDurableStreamed } from '../util/durableFile.js';
import { LockstepLabeller, foldColumns, gatherExpanders, type LabelLane } from './labeller.js';
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

const CHUNK_NODES = 1 << 15;

/**
 * Labels K replicas in lockstep, in memory (tests, small sectors, the bench): `onLayer` receives
 * each finished layer of each lane before it is dropped. Returns each lane's column leaves and
 * last layer.
 */
export function generateLabelsMany(
  params: ProofParams,
  replicaIds: Uint8Array[],
  onLayer?: (lane: number, layer: number, labels: Uint8Array) => void,
  onProgress?: (p: SealProgress) => void,
  /** Parent tables computed beforehand (the bench times labelling alone). */
  tables: Uint32Array[] = replicaIds.map((id) => parentTable(id, leafCount(params.sectorSize), params)),
): { columns: Uint8Array; lastLayer: Uint8Array }[] {
  const nodes = leafCount(params.sectorSize);
  const labeller = new LockstepLabeller(params, replicaIds.length);
  const chunk = Math.min(nodes, CHUNK_NODES);
  const expanderBuffers = replicaIds.map(() => new Uint32Array(chunk * params.expanderParents * 8));
  const columns = replicaIds.map(() => new Uint8Array(nodes * LEAF_BYTES));
  const foldScratch = new Uint8Array(chunk * 64);
  let previous: Uint32Array[] = [];
  for (let layer = 1; layer <= params.layers; layer++) {
    const current = replicaIds.map(() => new Uint32Array(nodes * 8));
    for (let start = 0; start < nodes; start += chunk) {
      const count = Math.min(chunk, nodes - start);
      const lanes: LabelLane[] = replicaIds.map((replicaId, k) => {
        const parents = tables[k]!.subarray(start * PARENT_SLOTS, (start + count) * PARENT_SLOTS);
        return { replicaId, current: current[k]!, parents, expanders: layer > 1 ? gatherExpanders(previous[k]!, parents, count, params, expanderBuffers[k]!) : null };
      });
      labeller.labelChunk(layer, start, count, lanes);
      onProgress?.({ phase: 'labels', layer, done: (start + count) / nodes });
    }
    for (let k = 0; k < replicaIds.length; k++) {
      const columns32 = words(columns[k]!);
      for (let start = 0; start < nodes; start += chunk) {
        const count = Math.min(chunk, nodes - start);
        foldColumns(columns32.subarray(start * 8, (start + count) * 8), current[k]!.subarray(start * 8, (start + count) * 8), count, foldScratch);
      }
      onLayer?.(k, layer, new Uint8Array(current[k]!.buffer));
    }
    previous = current;
  }
  return replicaIds.map((_, k) => ({ columns: columns[k]!, lastLayer: new Uint8Array(previous[k]!.buffer) }));
}

/** One replica's labels in memory: see generateLabelsMany. */
export function generateLabels(
  params: ProofParams,
  replicaId: Uint8Array,
  onLayer?: (layer: number, labels: Uint8Array) => void,
  onProgress?: (p: SealProgress) => void,
): { columns: Uint8Array; lastLayer: Uint8Array } {
  return generateLabelsMany(params, [replicaId], onLayer && ((_k, layer, labels) => onLayer(layer, labels)), onProgress)[0]!;
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

/** Scratch files of a sealing in progress (deleted when the sector is sealed). */
export const ScratchFiles = {
  parents: 'parents.bin',
  expanders: 'expanders.bin',
  progress: 'labelling.json',
  columnsAfter: (l: number) => `columns-${l}.bin`,
} as const;

interface LabellingProgress {
  replicaId: string;
  layersDone: number;
}

async function fileSize(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => -1);
}

/** Reads the whole of `path` into `into` (a layer of labels). */
async function readInto(path: string, into: Uint8Array): Promise<void> {
  const handle = await open(path, 'r');
  try {
    for (let at = 0; at < into.length; ) {
      const { bytesRead } = await handle.read(into, at, Math.min(1 << 24, into.length - at), at);
      if (bytesRead === 0) throw new Error(`${path} is shorter than ${into.length} bytes`);
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** The parent table on disk (nodes × 32 bytes), written once per sealing and streamed by every layer. */
async function ensureParents(path: string, params: ProofParams, replicaId: Uint8Array, nodes: number, reuse: boolean): Promise<void> {
  if (reuse && (await fileSize(path)) === nodes * PARENT_SLOTS * 4) return;
  const slots = new Uint32Array(CHUNK_NODES * PARENT_SLOTS);
  const seedBuf = new Uint8Array(40);
  await writeFileDurableStreamed(path, async (write) => {
    for (let start = 0; start < nodes; start += CHUNK_NODES) {
      const count = Math.min(CHUNK_NODES, nodes - start);
      for (let i = 0; i < count; i++) nodeParents(replicaId, start + i, nodes, params, slots.subarray(i * PARENT_SLOTS, (i + 1) * PARENT_SLOTS), seedBuf);
      await write(new Uint8Array(slots.buffer, 0, count * PARENT_SLOTS * 4));
    }
  });
}

/**
 * Labels one replica into `dir` holding a single layer in memory (1x the sector size): DRG parents
 * are read from that layer, the previous layer's expander parents are gathered into a file before
 * it is overwritten, and the parent table and the column leaves are streamed from disk. Every
 * finished layer is made durable (labels, columns, then `labelling.json`), so a restart resumes at
 * the next layer. Returns the last layer.
 */
async function labelToDisk(params: ProofParams, replicaId: Uint8Array, dir: string, onProgress?: (p: SealProgress) => void): Promise<Uint8Array> {
  const nodes = leafCount(params.sectorSize);
  const E = params.expanderParents;
  const idHex = Buffer.from(replicaId).toString('hex');
  const progressPath = join(dir, ScratchFiles.progress);
  const saved = await readFile(progressPath, 'utf8').then((t) => JSON.parse(t) as LabellingProgress, () => null);
  const layer0 = new Uint8Array(nodes * LEAF_BYTES);
  let done = 0;
  if (saved && saved.replicaId === idHex && saved.layersDone >= 1 && saved.layersDone <= params.layers) {
    const [labelsSize, columnsSize] = await Promise.all([fileSize(join(dir, SectorFiles.layer(saved.layersDone))), fileSize(join(dir, ScratchFiles.columnsAfter(saved.layersDone)))]);
    if (labelsSize === layer0.length && columnsSize === layer0.length) done = saved.layersDone;
  }
  const parentsPath = join(dir, ScratchFiles.parents);
  await ensureParents(parentsPath, params, replicaId, nodes, done > 0);
  if (done > 0) {
    await readInto(join(dir, SectorFiles.layer(done)), layer0);
    onProgress?.({ phase: 'labels', layer: done, done: 1 });
  }
  const labels32 = words(layer0);
  const chunk = Math.min(nodes, CHUNK_NODES);
  const parentBytes = new Uint8Array(chunk * PARENT_SLOTS * 4);
  const parents32 = words(parentBytes);
  const expanderBytes = new Uint8Array(chunk * E * LEAF_BYTES);
  const expanders32 = words(expanderBytes);
  const columnBytes = new Uint8Array(chunk * LEAF_BYTES);
  const foldScratch = new Uint8Array(chunk * 64);
  const labeller = new LockstepLabeller(params, 1);
  const parentsFile = await open(parentsPath, 'r');
  try {
    const readParents = async (start: number, count: number) => {
      await parentsFile.read(parentBytes, 0, count * PARENT_SLOTS * 4, start * PARENT_SLOTS * 4);
      return parents32.subarray(0, count * PARENT_SLOTS);
    };
    for (let layer = done + 1; layer <= params.layers; layer++) {
      const expandersPath = join(dir, ScratchFiles.expanders);
      if (layer > 1 && E > 0) {
        // The previous layer is about to be overwritten: keep what this layer needs of it.
        await writeFileDurableStreamed(expandersPath, async (write) => {
          for (let start = 0; start < nodes; start += chunk) {
            const count = Math.min(chunk, nodes - start);
            gatherExpanders(labels32, await readParents(start, count), count, params, expanders32);
            await write(expanderBytes.subarray(0, count * E * LEAF_BYTES));
          }
        });
      }
      const expandersFile = layer > 1 && E > 0 ? await open(expandersPath, 'r') : null;
      try {
        for (let start = 0; start < nodes; start += chunk) {
          const count = Math.min(chunk, nodes - start);
          const parents = await readParents(start, count);
          if (expandersFile) await expandersFile.read(expanderBytes, 0, count * E * LEAF_BYTES, start * E * LEAF_BYTES);
          labeller.labelChunk(layer, start, count, [{ replicaId, current: labels32, parents, expanders: expandersFile ? expanders32.subarray(0, count * E * 8) : null }]);
          onProgress?.({ phase: 'labels', layer, done: (start + count) / nodes });
        }
      } finally {
        await expandersFile?.close();
      }
      await writeFileDurable(join(dir, SectorFiles.layer(layer)), layer0);
      const before = layer > 1 ? await open(join(dir, ScratchFiles.columnsAfter(layer - 1)), 'r') : null;
      try {
        await writeFileDurableStreamed(join(dir, ScratchFiles.columnsAfter(layer)), async (write) => {
          const columns32 = words(columnBytes);
          for (let start = 0; start < nodes; start += chunk) {
            const count = Math.min(chunk, nodes - start);
            if (before) await before.read(columnBytes, 0, count * LEAF_BYTES, start * LEAF_BYTES);
            else columnBytes.fill(0);
            foldColumns(columns32.subarray(0, count * 8), labels32.subarray(start * 8, (start + count) * 8), count, foldScratch);
            await write(columnBytes.subarray(0, count * LEAF_BYTES));
          }
        });
      } finally {
        await before?.close();
      }
      await writeFileDurable(progressPath, JSON.stringify({ replicaId: idHex, layersDone: layer } satisfies LabellingProgress));
      if (layer > 1) await rm(join(dir, ScratchFiles.columnsAfter(layer - 1)), { force: true });
    }
  } finally {
    await parentsFile.close();
  }
  await rename(join(dir, ScratchFiles.columnsAfter(params.layers)), join(dir, SectorFiles.columns));
  return layer0;
}

const CHUNK_LEAVES = 1 << 15;

/**
 * Seals a data file (zero-padded to the sector size) into `dir`: labels and columns for the PoRep,
 * the replica, and the replica's tree cache for PoSt. Peak memory is one layer (the sector size)
 * plus 1 MiB chunks; an interrupted sealing resumes at the first layer not yet on disk.
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
    const lastLayer = await labelToDisk(params, replicaId, dir, onProgress);
    const columnsSource = await fileSource(join(dir, SectorFiles.columns), nodes);
    const commC = (await buildTreeCache(columnsSource)).root;
    await columnsSource.close();
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
      await out.sync();
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
    await writeFileDurable(join(dir, SectorFiles.meta), JSON.stringify(meta, null, 2));
    await Promise.all([ScratchFiles.parents, ScratchFiles.expanders, ScratchFiles.progress].map((f) => rm(join(dir, f), { force: true })));
    return { commD, commC, commRLast, commR, replicaTree };
  } finally {
    await data.close();
  }
}
