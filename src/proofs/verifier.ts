// One interface for heavy proof verification, with a main-thread and a worker-pool implementation.
// The node owns one pool; large batches are split across its threads, small ones stay local.
import { availableParallelism } from 'node:os';
import { WorkerPool } from '../util/workerPool.js';
import { packJobs, type PackedJobs } from './jobWire.js';
import { verifyPacked, type MultiproofJob } from './multiproof.js';

export interface ProofVerifier {
  readonly name: string;
  verifyMultiproofs(jobs: MultiproofJob[]): Promise<boolean[]>;
  /** Verifies a packed batch (packed with shared buffers, workers read it without a copy); 1 = valid. */
  verifyPacked(jobs: PackedJobs): Promise<Uint8Array>;
  close(): Promise<void>;
}

function toBooleans(results: Uint8Array): boolean[] {
  return Array.from(results, (v) => v === 1);
}

export const mainThreadVerifier: ProofVerifier = {
  name: 'main-thread',
  verifyMultiproofs: async (jobs) => toBooleans(verifyPacked(packJobs(jobs))),
  verifyPacked: async (jobs) => verifyPacked(jobs),
  close: async () => undefined,
};

interface VerifyRequest {
  jobs: PackedJobs;
  from: number;
  to: number;
}

export class WorkerPoolVerifier implements ProofVerifier {
  readonly name: string;
  private readonly pool: WorkerPool<VerifyRequest, Uint8Array>;

  /** Batches below `minBatch` jobs are verified on the calling thread (a message costs ~50 us). */
  constructor(
    size = availableParallelism(),
    private readonly minBatch = 256,
  ) {
    this.name = `worker-pool(${size})`;
    this.pool = new WorkerPool(new URL('./verifierWorker.ts', import.meta.url), size);
  }

  async verifyMultiproofs(jobs: MultiproofJob[]): Promise<boolean[]> {
    if (jobs.length < this.minBatch || this.pool.size === 0) return toBooleans(verifyPacked(packJobs(jobs)));
    return toBooleans(await this.verifyPacked(packJobs(jobs, true)));
  }

  async verifyPacked(jobs: PackedJobs): Promise<Uint8Array> {
    if (jobs.count < this.minBatch || this.pool.size === 0) return verifyPacked(jobs);
    const workers = this.pool.size;
    const per = Math.ceil(jobs.count / workers);
    const parts = await Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const from = Math.min(jobs.count, w * per);
        const to = Math.min(jobs.count, from + per);
        return from === to ? Promise.resolve(new Uint8Array(0)) : this.pool.run({ jobs, from, to }, w);
      }),
    );
    const out = new Uint8Array(jobs.count);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
