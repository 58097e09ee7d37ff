// Multiproof jobs packed into a few flat buffers: the verifier's input format. Packed once (when
// proofs are decoded), a batch can be verified in place by any thread: with `shared` the buffers
// are SharedArrayBuffers that worker threads read without a copy.
import type { MultiproofJob } from './multiproof.js';

export interface PackedJobs {
  count: number;
  depths: Int32Array;
  /** End (exclusive) of job j's indices/leaves, in leaves. */
  indexEnds: Int32Array;
  indices: Uint32Array;
  leaves: Uint8Array;
  /** End (exclusive) of job j's siblings, in hashes. */
  siblingEnds: Int32Array;
  siblings: Uint8Array;
  roots: Uint8Array;
}

export const MAX_TREE_DEPTH = 32;

function alloc<T>(make: (buffer: ArrayBufferLike) => T, bytes: number, shared: boolean): T {
  return make(shared ? new SharedArrayBuffer(Math.max(bytes, 8)) : new ArrayBuffer(Math.max(bytes, 8)));
}

export function packJobs(jobs: MultiproofJob[], shared = false): PackedJobs {
  let indexCount = 0;
  let siblingBytes = 0;
  for (const job of jobs) {
    indexCount += job.indices.length;
    siblingBytes += job.siblings.length - (job.siblings.length % 32);
  }
  const n = jobs.length;
  const packed: PackedJobs = {
    count: n,
    depths: alloc((b) => new Int32Array(b, 0, n), n * 4, shared),
    indexEnds: alloc((b) => new Int32Array(b, 0, n), n * 4, shared),
    indices: alloc((b) => new Uint32Array(b, 0, indexCount), indexCount * 4, shared),
    leaves: alloc((b) => new Uint8Array(b, 0, indexCount * 32), indexCount * 32, shared),
    siblingEnds: alloc((b) => new Int32Array(b, 0, n), n * 4, shared),
    siblings: alloc((b) => new Uint8Array(b, 0, siblingBytes), siblingBytes, shared),
    roots: alloc((b) => new Uint8Array(b, 0, n * 32), n * 32, shared),
  };
  let i = 0;
  let s = 0;
  for (let j = 0; j < n; j++) {
    const job = jobs[j]!;
    let depth = job.depth;
    const ok = job.leaves.length === job.indices.length * 32 && job.root.length === 32 && job.siblings.length % 32 === 0;
    for (let k = 0; k < job.indices.length; k++) {
      const index = job.indices[k]!;
      // Out-of-range indices cannot be stored: the job is marked invalid instead.
      if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) depth = -1;
      else packed.indices[i + k] = index;
    }
    if (!ok) depth = -1;
    else {
      packed.leaves.set(job.leaves, i * 32);
      packed.siblings.set(job.siblings, s * 32);
      packed.roots.set(job.root, j * 32);
      s += job.siblings.length / 32;
    }
    packed.depths[j] = depth;
    i += job.indices.length;
    packed.indexEnds[j] = i;
    packed.siblingEnds[j] = s;
  }
  return packed;
}
