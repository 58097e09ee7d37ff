// Binary SHA-256 Merkle trees over 32-byte leaves, fixed depth. Levels are hashed whole, one batched
// native call per level (hashPairsInto), which is where the speed is. Large trees are never held in
// memory: the tree of a file keeps only the levels at and above `cacheLevel` (chunks of 2^cacheLevel
// leaves); a lower node is recomputed from its chunk when a proof needs it.
import { open, type FileHandle } from 'node:fs/promises';
import { hashPairsInto } from '../primitives/index.js';
import { LEAF_BYTES, isPowerOfTwo, treeDepth } from './params.js';

/** Where leaves come from: a buffer, or a file read by chunks. Reads past the end give zero leaves. */
export interface LeafSource {
  readonly leafCount: number;
  readLeaves(start: number, count: number, into?: Uint8Array): Promise<Uint8Array>;
}

export function bufferSource(data: Uint8Array, leafCount = paddedLeafCount(data.length)): LeafSource {
  return {
    leafCount,
    async readLeaves(start, count, into) {
      const out = into ?? new Uint8Array(count * LEAF_BYTES);
      const from = start * LEAF_BYTES;
      const available = Math.max(0, Math.min(count * LEAF_BYTES, data.length - from));
      out.set(data.subarray(from, from + available), 0);
      out.fill(0, available, count * LEAF_BYTES);
      return out.subarray(0, count * LEAF_BYTES);
    },
  };
}

/** A file as leaves, zero-padded to `leafCount` (default: the next power of two). */
/** Leaves read from a file (from byte `offset`: a piece inside a sector's data), zero past its end. */
export async function fileSource(path: string, leafCount?: number, offset = 0): Promise<LeafSource & { close(): Promise<void>; size: number }> {
  const handle: FileHandle = await open(path, 'r');
  const { size } = await handle.stat();
  const leaves = leafCount ?? paddedLeafCount(size - offset);
  return {
    leafCount: leaves,
    size,
    async readLeaves(start, count, into) {
      const out = into ?? new Uint8Array(count * LEAF_BYTES);
      const want = count * LEAF_BYTES;
      const { bytesRead } = await handle.read(out, 0, want, offset + start * LEAF_BYTES);
      if (bytesRead < want) out.fill(0, bytesRead, want);
      return out.subarray(0, want);
    },
    close: () => handle.close(),
  };
}

/** Leaves of a piece of `bytes` bytes: zero-padded to a power of two, at least 2 (a root is never raw data). */
export function paddedLeafCount(bytes: number): number {
  return nextPowerOfTwo(Math.max(2, Math.ceil(bytes / LEAF_BYTES)));
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Hashes a level (n*32 bytes, n even) into the next (n/2*32 bytes). */
export function hashLevel(level: Uint8Array, out = new Uint8Array(level.length / 2)): Uint8Array {
  hashPairsInto(level, out);
  return out;
}

/** All levels of a small tree, leaves first. */
export function buildLevels(leaves: Uint8Array): Uint8Array[] {
  const count = leaves.length / LEAF_BYTES;
  if (!isPowerOfTwo(count)) throw new RangeError('leaf count must be a power of two');
  const levels = [leaves];
  while (levels[levels.length - 1]!.length > LEAF_BYTES) levels.push(hashLevel(levels[levels.length - 1]!));
  return levels;
}

export function merkleRoot(leaves: Uint8Array): Uint8Array {
  const levels = buildLevels(leaves);
  return levels[levels.length - 1]!.slice();
}

/** Levels cached by a tree over a large source: `levels[j]` is tree level `cacheLevel + j`. */
export interface TreeCache {
  depth: number;
  cacheLevel: number;
  levels: Uint8Array[];
  root: Uint8Array;
}

export const DEFAULT_CACHE_LEVEL = 10;
const READ_LEAVES = 1 << 15; // 1 MiB of leaves per read: long levels per batched call

/**
 * Builds the tree of a source with memory bounded by one read buffer plus the cached upper levels
 * (for a 1 GiB source at cacheLevel 10: 2 MiB). `onProgress` gets the fraction done.
 */
export async function buildTreeCache(source: LeafSource, cacheLevel = DEFAULT_CACHE_LEVEL, onProgress?: (done: number) => void): Promise<TreeCache> {
  const total = source.leafCount;
  if (!isPowerOfTwo(total)) throw new RangeError('leaf count must be a power of two');
  const depth = treeDepth(total);
  const level = Math.min(cacheLevel, depth);
  const chunk = Math.max(1 << level, Math.min(READ_LEAVES, total));
  const cached = new Uint8Array((total >> level) * LEAF_BYTES);
  const buffer = new Uint8Array(chunk * LEAF_BYTES);
  const scratch = new Uint8Array(chunk * LEAF_BYTES / 2);
  for (let start = 0; start < total; start += chunk) {
    let current = await source.readLeaves(start, chunk, buffer);
    for (let l = 0; l < level; l++) {
      const next = l % 2 === 0 ? scratch.subarray(0, current.length / 2) : buffer.subarray(0, current.length / 2);
      hashPairsInto(current, next);
      current = next;
    }
    cached.set(current, (start >> level) * LEAF_BYTES);
    onProgress?.(Math.min(1, (start + chunk) / total));
  }
  const levels = buildLevels(cached);
  return { depth, cacheLevel: level, levels, root: levels[levels.length - 1]!.slice() };
}

/**
 * Node access for proofs: upper levels from the cache, lower ones recomputed per chunk of
 * 2^cacheLevel leaves (loaded with `load` before use).
 */
export class TreeReader {
  private readonly chunks = new Map<number, Uint8Array[]>();

  constructor(
    private readonly source: LeafSource,
    readonly cache: TreeCache,
  ) {}

  get depth(): number {
    return this.cache.depth;
  }

  /** A reader of the same source and cached levels with no leaf chunks loaded yet. */
  fresh(): TreeReader {
    return new TreeReader(this.source, this.cache);
  }

  async load(leafIndices: Iterable<number>): Promise<void> {
    const k = this.cache.cacheLevel;
    for (const index of leafIndices) {
      const chunk = index >>> k;
      if (this.chunks.has(chunk)) continue;
      const leaves = await this.source.readLeaves(chunk << k, 1 << k);
      this.chunks.set(chunk, buildLevels(leaves.slice()));
    }
  }

  node(level: number, index: number): Uint8Array {
    const k = this.cache.cacheLevel;
    if (level >= k) return this.cache.levels[level - k]!.subarray(index * LEAF_BYTES, index * LEAF_BYTES + LEAF_BYTES);
    const levels = this.chunks.get(index >>> (k - level));
    if (!levels) throw new Error(`chunk of node (${level}, ${index}) not loaded`);
    const local = index & ((1 << (k - level)) - 1);
    return levels[level]!.subarray(local * LEAF_BYTES, local * LEAF_BYTES + LEAF_BYTES);
  }
}

/** Node access over fully built levels (small trees). */
export function levelsReader(levels: Uint8Array[]): { depth: number; node(level: number, index: number): Uint8Array } {
  return {
    depth: levels.length - 1,
    node: (level, index) => levels[level]!.subarray(index * LEAF_BYTES, index * LEAF_BYTES + LEAF_BYTES),
  };
}
