// Merkle multiproofs: open many leaves of one fixed-depth tree, sending each needed sibling once,
// in a canonical order (level by level, left to right). The verifier is the node's hot loop: it
// runs many proofs in lockstep, one batched native hash call per tree level for all of them, with
// every copy a 32-byte word loop into preallocated buffers.
import { hashPairsInto } from '../primitives/index.js';
import { MAX_TREE_DEPTH, packJobs, type PackedJobs } from './jobWire.js';
import { LEAF_BYTES } from './params.js';

export interface NodeReader {
  depth: number;
  node(level: number, index: number): Uint8Array;
}

export interface Multiproof {
  /** Opened leaf values, in ascending index order (32 bytes each). */
  leaves: Uint8Array;
  /** Sibling hashes in canonical order (32 bytes each). */
  siblings: Uint8Array;
}

/** Sorted, de-duplicated leaf indices (challenges may repeat). */
export function uniqueSorted(indices: Iterable<number>): number[] {
  return [...new Set(indices)].sort((a, b) => a - b);
}

export function createMultiproof(tree: NodeReader, indices: number[]): Multiproof {
  const sorted = uniqueSorted(indices);
  const leaves = new Uint8Array(sorted.length * LEAF_BYTES);
  sorted.forEach((index, i) => leaves.set(tree.node(0, index), i * LEAF_BYTES));
  const siblings: Uint8Array[] = [];
  let known = sorted;
  for (let level = 0; level < tree.depth; level++) {
    const next: number[] = [];
    for (let k = 0; k < known.length; k++) {
      const index = known[k]!;
      if ((index & 1) === 0 && known[k + 1] === index + 1) k++;
      else siblings.push(tree.node(level, index ^ 1));
      next.push(index >>> 1);
    }
    known = next;
  }
  const flat = new Uint8Array(siblings.length * LEAF_BYTES);
  siblings.forEach((s, i) => flat.set(s, i * LEAF_BYTES));
  return { leaves, siblings: flat };
}

/** One multiproof to check: the tree's root and depth, the opened indices (ascending, unique). */
export interface MultiproofJob {
  root: Uint8Array;
  depth: number;
  indices: ArrayLike<number>;
  leaves: Uint8Array;
  siblings: Uint8Array;
}

let input = new Uint8Array(0);
let input32 = new Uint32Array(0);
let output = new Uint8Array(0);
let output32 = new Uint32Array(0);

function ensureScratch(pairs: number): void {
  if (input.length >= pairs * 64) return;
  input = new Uint8Array(pairs * 64);
  input32 = new Uint32Array(input.buffer);
  output = new Uint8Array(pairs * 32);
  output32 = new Uint32Array(output.buffer);
}

function words(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
}

/** Verifies many multiproofs at once (packs them first). */
export function verifyMultiproofs(jobs: MultiproofJob[]): boolean[] {
  return Array.from(verifyPacked(packJobs(jobs)), (v) => v === 1);
}

/**
 * Verifies jobs [from, to) of a packed batch in place; 1 = valid. A proof passes only if its
 * indices are strictly increasing and inside its tree, it consumes exactly its siblings, and it
 * reaches exactly its root at exactly its depth.
 */
export function verifyPacked(p: PackedJobs, from = 0, to = p.count): Uint8Array {
  const n = to - from;
  const ok = new Uint8Array(n);
  const depth = new Int32Array(n);
  const knownOff = new Int32Array(n);
  const count = new Int32Array(n);
  const base = new Int32Array(n);
  const sibNext = new Int32Array(n);
  const sibEnd = new Int32Array(n);
  const firstLeaf = from === 0 ? 0 : p.indexEnds[from - 1]!;
  const lastLeaf = to === 0 ? 0 : p.indexEnds[to - 1]!;
  const known = Int32Array.from(p.indices.subarray(firstLeaf, lastLeaf));
  let maxDepth = 0;
  let singlePaths = true;
  for (let j = 0; j < n; j++) {
    const g = from + j;
    const start = (g === 0 ? 0 : p.indexEnds[g - 1]!) - firstLeaf;
    const end = p.indexEnds[g]! - firstLeaf;
    const d = p.depths[g]!;
    depth[j] = d;
    knownOff[j] = start;
    count[j] = end - start;
    base[j] = (start + firstLeaf) * 8;
    sibNext[j] = g === 0 ? 0 : p.siblingEnds[g - 1]!;
    sibEnd[j] = p.siblingEnds[g]!;
    let valid = d >= 0 && d <= MAX_TREE_DEPTH && end > start;
    for (let k = start; valid && k < end; k++) {
      const index = p.indices[firstLeaf + k]!;
      if (index >= 2 ** d || (k > start && index <= p.indices[firstLeaf + k - 1]!)) valid = false;
    }
    ok[j] = valid ? 1 : 0;
    if (d > maxDepth) maxDepth = d;
    if (end - start !== 1 || sibEnd[j]! - sibNext[j]! !== d) singlePaths = false;
  }
  const leaves = words(p.leaves);
  const sibs = words(p.siblings);
  const roots = words(p.roots);
  for (let j = 0; j < n; j++) {
    if (ok[j] === 1 && depth[j] === 0) ok[j] = sibNext[j] === sibEnd[j] && equal32(leaves, base[j]!, roots, (from + j) * 8) ? 1 : 0;
  }
  if (singlePaths && n > 1 && depth.every((d) => d === maxDepth)) return verifySinglePaths(n, maxDepth, known, leaves, firstLeaf, sibs, sibNext[0]!, roots, from, ok);
  ensureScratch(Math.max(1, lastLeaf - firstLeaf));
  const in32 = input32;
  for (let level = 0; level < maxDepth; level++) {
    const src = level === 0 ? leaves : output32;
    let pairs = 0;
    for (let j = 0; j < n; j++) {
      if (ok[j] === 0 || depth[j]! <= level) continue;
      const off = knownOff[j]!;
      const c = count[j]!;
      const start = pairs;
      let here = base[j]!;
      let next = sibNext[j]!;
      const end = sibEnd[j]!;
      if (c === 1) {
        // One path left (single-leaf proofs, and every proof near its root): no pairing to look for.
        if (next >= end) {
          ok[j] = 0;
          continue;
        }
        const index = known[off]!;
        const d = pairs << 4;
        const odd = (index & 1) << 3;
        const h = d + odd;
        const g = d + 8 - odd;
        const b = next << 3;
        putPair(in32, h, src, here, g, sibs, b);
        known[off] = index >>> 1;
        sibNext[j] = next + 1;
        base[j] = d >>> 1;
        pairs++;
        continue;
      }
      let kept = 0;
      for (let k = 0; k < c; k++) {
        const index = known[off + k]!;
        const d = pairs << 4;
        if ((index & 1) === 0 && k + 1 < c && known[off + k + 1] === index + 1) {
          for (let w = 0; w < 16; w++) in32[d + w] = src[here + w]!;
          here += 16;
          k++;
        } else {
          if (next >= end) {
            ok[j] = 0;
            break;
          }
          const odd = (index & 1) << 3;
          const h = d + odd;
          const g = d + 8 - odd;
          const b = next << 3;
          for (let w = 0; w < 8; w++) {
            in32[h + w] = src[here + w]!;
            in32[g + w] = sibs[b + w]!;
          }
          here += 8;
          next++;
        }
        known[off + kept++] = index >>> 1;
        pairs++;
      }
      sibNext[j] = next;
      count[j] = kept;
      base[j] = start << 3;
    }
    if (pairs === 0) break;
    hashPairsInto(input.subarray(0, pairs * 64), output.subarray(0, pairs * 32));
    for (let j = 0; j < n; j++) {
      if (ok[j] === 1 && depth[j] === level + 1) {
        ok[j] = count[j] === 1 && sibNext[j] === sibEnd[j] && equal32(output32, base[j]!, roots, (from + j) * 8) ? 1 : 0;
      }
    }
  }
  return ok;
}

/**
 * Fast path: every job opens one leaf at the same depth, so job j's sibling for level l sits at
 * hash (firstSibling + j * depth + l) and the only per-job state is its index.
 */
function verifySinglePaths(n: number, depth: number, known: Int32Array, leaves: Uint32Array, firstLeaf: number, sibs: Uint32Array, firstSibling: number, roots: Uint32Array, from: number, ok: Uint8Array): Uint8Array {
  ensureScratch(n);
  const in32 = input32;
  const out32 = output32;
  for (let level = 0; level < depth; level++) {
    const src = level === 0 ? leaves : out32;
    const srcBase = level === 0 ? firstLeaf * 8 : 0;
    for (let j = 0; j < n; j++) {
      const odd = ((known[j]! >>> level) & 1) << 3;
      const d = j << 4;
      const s = srcBase + (j << 3);
      const b = (firstSibling + j * depth + level) << 3;
      const h = d + odd;
      const g = d + 8 - odd;
      putPair(in32, h, src, s, g, sibs, b);
    }
    hashPairsInto(input.subarray(0, n * 64), output.subarray(0, n * 32));
  }
  for (let j = 0; j < n; j++) if (ok[j] === 1) ok[j] = equal32(out32, j << 3, roots, (from + j) << 3) ? 1 : 0;
  return ok;
}

/** Writes a computed hash (8 words at src[s]) and a sibling (8 words at sibs[b]) into a pair slot. */
function putPair(in32: Uint32Array, h: number, src: Uint32Array, s: number, g: number, sibs: Uint32Array, b: number): void {
  in32[h] = src[s]!;
  in32[h + 1] = src[s + 1]!;
  in32[h + 2] = src[s + 2]!;
  in32[h + 3] = src[s + 3]!;
  in32[h + 4] = src[s + 4]!;
  in32[h + 5] = src[s + 5]!;
  in32[h + 6] = src[s + 6]!;
  in32[h + 7] = src[s + 7]!;
  in32[g] = sibs[b]!;
  in32[g + 1] = sibs[b + 1]!;
  in32[g + 2] = sibs[b + 2]!;
  in32[g + 3] = sibs[b + 3]!;
  in32[g + 4] = sibs[b + 4]!;
  in32[g + 5] = sibs[b + 5]!;
  in32[g + 6] = sibs[b + 6]!;
  in32[g + 7] = sibs[b + 7]!;
}

function equal32(a: Uint32Array, aStart: number, b: Uint32Array, bStart: number): boolean {
  for (let w = 0; w < 8; w++) if (a[aStart + w] !== b[bStart + w]) return false;
  return true;
}

export function verifyMultiproof(job: MultiproofJob): boolean {
  return verifyMultiproofs([job])[0]!;
}
