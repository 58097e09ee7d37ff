// Multiproof jobs packed into a few flat buffers, so a batch crosses a thread boundary as
// transferable bytes (no structured clone of thousands of small arrays).
import type { MultiproofJob } from './multiproof.js';

export interface PackedJobs {
  depths: Int32Array;
  indexEnds: Int32Array;
  indices: Float64Array;
  leaves: Uint8Array;
  siblingEnds: Int32Array;
  siblings: Uint8Array;
  roots: Uint8Array;
}

export function packJobs(jobs: MultiproofJob[]): PackedJobs {
  let indexCount = 0;
  let siblingBytes = 0;
  for (const job of jobs) {
    indexCount += job.indices.length;
    siblingBytes += job.siblings.length;
  }
  const packed: PackedJobs = {
    depths: new Int32Array(jobs.length),
    indexEnds: new Int32Array(jobs.length),
    indices: new Float64Array(indexCount),
    leaves: new Uint8Array(indexCount * 32),
    siblingEnds: new Int32Array(jobs.length),
    siblings: new Uint8Array(siblingBytes),
    roots: new Uint8Array(jobs.length * 32),
  };
  let i = 0;
  let s = 0;
  jobs.forEach((job, j) => {
    packed.depths[j] = job.depth;
    // Malformed jobs keep their shape errors: a leaf buffer of the wrong size is recorded as empty.
    const shapeOk = job.leaves.length === job.indices.length * 32 && job.root.length === 32;
    for (let k = 0; k < job.indices.length; k++) packed.indices[i + k] = job.indices[k]!;
    if (shapeOk) packed.leaves.set(job.leaves, i * 32);
    else packed.depths[j] = -1;
    i += job.indices.length;
    packed.indexEnds[j] = i;
    packed.siblings.set(job.siblings, s);
    s += job.siblings.length;
    packed.siblingEnds[j] = s;
    if (job.root.length === 32) packed.roots.set(job.root, j * 32);
  });
  return packed;
}

export function unpackJobs(p: PackedJobs): MultiproofJob[] {
  const jobs: MultiproofJob[] = [];
  let i = 0;
  let s = 0;
  for (let j = 0; j < p.depths.length; j++) {
    const iEnd = p.indexEnds[j]!;
    const sEnd = p.siblingEnds[j]!;
    jobs.push({
      depth: p.depths[j]!,
      indices: p.indices.subarray(i, iEnd),
      leaves: p.leaves.subarray(i * 32, iEnd * 32),
      siblings: p.siblings.subarray(s, sEnd),
      root: p.roots.subarray(j * 32, j * 32 + 32),
    });
    i = iEnd;
    s = sEnd;
  }
  return jobs;
}

export function transferList(p: PackedJobs): ArrayBuffer[] {
  return [p.depths, p.indexEnds, p.indices, p.leaves, p.siblingEnds, p.siblings, p.roots].map((a) => a.buffer as ArrayBuffer);
}
