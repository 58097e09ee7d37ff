// Merkle multiproofs: open many leaves of one fixed-depth tree, sending each needed sibling once,
// in a canonical order (level by level, left to right). The verifier is the node's hot loop: it
// runs many proofs in lockstep, one batched native hash call per tree level for all of them, with
// every copy a 32-byte word loop into preallocated buffers.
import { hashPairsInto } from '../primitives/index.js';
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

function validShape(job: MultiproofJob): boolean {
  const { depth, indices } = job;
  if (!Number.isInteger(depth) || depth < 0 || depth > 40 || job.root.length !== 32) return false;
  if (indices.length === 0 || job.leaves.length !== indices.length * LEAF_BYTES || job.siblings.length % LEAF_BYTES !== 0) return false;
  const size = 2 ** depth;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= size || (i > 0 && index <= indices[i - 1]!)) return false;
  }
  return true;
}

/** All jobs packed into flat word arrays, so the level loop touches only typed arrays. */
interface Packed {
  n: number;
  depth: Int32Array;
  known: Int32Array;
  knownOff: Int32Array;
  count: Int32Array;
  leaves: Uint32Array;
  sibs: Uint32Array;
  sibNext: Int32Array;
  sibEnd: Int32Array;
  roots: Uint32Array;
  ok: Uint8Array;
  totalLeaves: number;
  maxDepth: number;
}

function pack(jobs: MultiproofJob[]): Packed {
  const n = jobs.length;
  const ok = new Uint8Array(n);
  let totalLeaves = 0;
  let totalSibs = 0;
  for (let j = 0; j < n; j++) {
    const job = jobs[j]!;
    if (!validShape(job)) continue;
    ok[j] = 1;
    totalLeaves += job.indices.length;
    totalSibs += job.siblings.length / LEAF_BYTES;
  }
  const p: Packed = {
    n,
    depth: new Int32Array(n),
    known: new Int32Array(totalLeaves),
    knownOff: new Int32Array(n),
    count: new Int32Array(n),
    leaves: new Uint32Array(totalLeaves * 8),
    sibs: new Uint32Array(totalSibs * 8),
    sibNext: new Int32Array(n),
    sibEnd: new Int32Array(n),
    roots: new Uint32Array(n * 8),
    ok,
    totalLeaves,
    maxDepth: 0,
  };
  const leaves8 = new Uint8Array(p.leaves.buffer);
  const sibs8 = new Uint8Array(p.sibs.buffer);
  const roots8 = new Uint8Array(p.roots.buffer);
  let leafAt = 0;
  let sibAt = 0;
  for (let j = 0; j < n; j++) {
    if (!ok[j]) continue;
    const job = jobs[j]!;
    p.depth[j] = job.depth;
    if (job.depth > p.maxDepth) p.maxDepth = job.depth;
    p.knownOff[j] = leafAt;
    p.count[j] = job.indices.length;
    for (let i = 0; i < job.indices.length; i++) p.known[leafAt + i] = job.indices[i]!;
    leaves8.set(job.leaves, leafAt * LEAF_BYTES);
    leafAt += job.indices.length;
    p.sibNext[j] = sibAt;
    sibs8.set(job.siblings, sibAt * LEAF_BYTES);
    sibAt += job.siblings.length / LEAF_BYTES;
    p.sibEnd[j] = sibAt;
    roots8.set(job.root, j * LEAF_BYTES);
    if (job.depth === 0) ok[j] = p.sibNext[j] === p.sibEnd[j] && equal32(p.leaves, p.knownOff[j]! * 8, p.roots, j * 8) ? 1 : 0;
  }
  return p;
}

/**
 * Verifies many multiproofs at once. A proof passes only if it consumes exactly its siblings and
 * reaches exactly its root at exactly its depth.
 */
export function verifyMultiproofs(jobs: MultiproofJob[]): boolean[] {
  const p = pack(jobs);
  if (p.totalLeaves === p.n && p.n > 1 && p.depth.every((d) => d === p.maxDepth)) return verifySinglePaths(p);
  const { n, depth, known, knownOff, count, sibs, sibNext, sibEnd, ok } = p;
  const base = new Int32Array(n); // where each job's current-level hashes start, in words
  for (let j = 0; j < n; j++) base[j] = knownOff[j]! * 8;
  ensureScratch(Math.max(1, p.totalLeaves));
  const in32 = input32;
  for (let level = 0; level < p.maxDepth; level++) {
    const src = level === 0 ? p.leaves : output32;
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
        in32[h] = src[here]!;
        in32[h + 1] = src[here + 1]!;
        in32[h + 2] = src[here + 2]!;
        in32[h + 3] = src[here + 3]!;
        in32[h + 4] = src[here + 4]!;
        in32[h + 5] = src[here + 5]!;
        in32[h + 6] = src[here + 6]!;
        in32[h + 7] = src[here + 7]!;
        in32[g] = sibs[b]!;
        in32[g + 1] = sibs[b + 1]!;
        in32[g + 2] = sibs[b + 2]!;
        in32[g + 3] = sibs[b + 3]!;
        in32[g + 4] = sibs[b + 4]!;
        in32[g + 5] = sibs[b + 5]!;
        in32[g + 6] = sibs[b + 6]!;
        in32[g + 7] = sibs[b + 7]!;
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
          in32[h] = src[here]!;
          in32[h + 1] = src[here + 1]!;
          in32[h + 2] = src[here + 2]!;
          in32[h + 3] = src[here + 3]!;
          in32[h + 4] = src[here + 4]!;
          in32[h + 5] = src[here + 5]!;
          in32[h + 6] = src[here + 6]!;
          in32[h + 7] = src[here + 7]!;
          in32[g] = sibs[b]!;
          in32[g + 1] = sibs[b + 1]!;
          in32[g + 2] = sibs[b + 2]!;
          in32[g + 3] = sibs[b + 3]!;
          in32[g + 4] = sibs[b + 4]!;
          in32[g + 5] = sibs[b + 5]!;
          in32[g + 6] = sibs[b + 6]!;
          in32[g + 7] = sibs[b + 7]!;
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
        ok[j] = count[j] === 1 && sibNext[j] === sibEnd[j] && equal32(output32, base[j]!, p.roots, j * 8) ? 1 : 0;
      }
    }
  }
  return Array.from(ok, (v) => v === 1);
}

/**
 * Fast path: every job opens one leaf at the same depth, so job p's sibling for level l sits at word
 * (p * depth + l) * 8 and the only per-job state is its index.
 */
function verifySinglePaths(p: Packed): boolean[] {
  const { n, known, sibs, ok, sibNext, sibEnd } = p;
  const depth = p.maxDepth;
  for (let j = 0; j < n; j++) if (ok[j] === 1 && sibEnd[j]! - sibNext[j]! !== depth) ok[j] = 0;
  ensureScratch(n);
  const in32 = input32;
  const out32 = output32;
  const leaves = p.leaves;
  for (let level = 0; level < depth; level++) {
    const src = level === 0 ? leaves : out32;
    for (let j = 0; j < n; j++) {
      const odd = ((known[j]! >>> level) & 1) << 3;
      const d = j << 4;
      const s = j << 3;
      const b = (j * depth + level) << 3;
      const h = d + odd;
      const g = d + 8 - odd;
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
    hashPairsInto(input.subarray(0, n * 64), output.subarray(0, n * 32));
  }
  const result: boolean[] = new Array(n);
  for (let j = 0; j < n; j++) result[j] = ok[j] === 1 && equal32(out32, j << 3, p.roots, j << 3);
  return result;
}

function equal32(a: Uint32Array, aStart: number, b: Uint32Array, bStart: number): boolean {
  for (let w = 0; w < 8; w++) if (a[aStart + w] !== b[bStart + w]) return false;
  return true;
}

export function verifyMultiproof(job: MultiproofJob): boolean {
  return verifyMultiproofs([job])[0]!;
}
