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

function words(bytes: Uint8Array): Uint32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >>> 2);
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

/**
 * Verifies many multiproofs at once. A proof passes only if it consumes exactly its siblings and
 * reaches exactly its root at exactly its depth.
 */
export function verifyMultiproofs(jobs: MultiproofJob[]): boolean[] {
  const n = jobs.length;
  const ok = jobs.map(validShape);
  const known: Int32Array[] = [];
  const counts = new Int32Array(n);
  const base = new Int32Array(n);
  const sibUsed = new Int32Array(n);
  const sibTotal = new Int32Array(n);
  const leafWords: Uint32Array[] = [];
  const sibWords: Uint32Array[] = [];
  let totalLeaves = 0;
  let maxDepth = 0;
  for (let j = 0; j < n; j++) {
    const job = jobs[j]!;
    if (!ok[j]) {
      known.push(new Int32Array(0));
      leafWords.push(new Uint32Array(0));
      sibWords.push(new Uint32Array(0));
      continue;
    }
    known.push(Int32Array.from(job.indices));
    counts[j] = job.indices.length;
    sibTotal[j] = job.siblings.length / LEAF_BYTES;
    leafWords.push(words(job.leaves));
    sibWords.push(words(job.siblings));
    totalLeaves += job.indices.length;
    if (job.depth > maxDepth) maxDepth = job.depth;
    if (job.depth === 0) ok[j] = sibTotal[j] === 0 && equal32(leafWords[j]!, 0, words(job.root), 0);
  }
  ensureScratch(Math.max(1, totalLeaves));
  const in32 = input32;
  for (let level = 0; level < maxDepth; level++) {
    let pairs = 0;
    const fromLeaves = level === 0;
    for (let j = 0; j < n; j++) {
      if (!ok[j] || jobs[j]!.depth <= level) continue;
      const src = fromLeaves ? leafWords[j]! : output32;
      const srcBase = fromLeaves ? 0 : base[j]! * 8;
      const sib = sibWords[j]!;
      const list = known[j]!;
      const count = counts[j]!;
      const start = pairs;
      let used = sibUsed[j]!;
      let kept = 0;
      for (let k = 0; k < count; k++) {
        const index = list[k]!;
        const dst = pairs * 16;
        const here = srcBase + k * 8;
        if ((index & 1) === 0 && k + 1 < count && list[k + 1] === index + 1) {
          for (let w = 0; w < 16; w++) in32[dst + w] = src[here + w]!;
          k++;
        } else {
          if (used >= sibTotal[j]!) {
            ok[j] = false;
            break;
          }
          const s = used * 8;
          const odd = (index & 1) << 3;
          const left = dst + odd;
          const right = dst + 8 - odd;
          for (let w = 0; w < 8; w++) {
            in32[left + w] = src[here + w]!;
            in32[right + w] = sib[s + w]!;
          }
          used++;
        }
        list[kept++] = index >>> 1;
        pairs++;
      }
      sibUsed[j] = used;
      counts[j] = kept;
      base[j] = start;
    }
    if (pairs === 0) break;
    hashPairsInto(input.subarray(0, pairs * 64), output.subarray(0, pairs * 32));
    for (let j = 0; j < n; j++) {
      if (ok[j] && jobs[j]!.depth === level + 1) {
        ok[j] = counts[j] === 1 && sibUsed[j] === sibTotal[j] && equal32(output32, base[j]! * 8, words(jobs[j]!.root), 0);
      }
    }
  }
  return ok;
}

function equal32(a: Uint32Array, aStart: number, b: Uint32Array, bStart: number): boolean {
  for (let w = 0; w < 8; w++) if (a[aStart + w] !== b[bStart + w]) return false;
  return true;
}

export function verifyMultiproof(job: MultiproofJob): boolean {
  return verifyMultiproofs([job])[0]!;
}
