// One interface for heavy proof verification, with a main-thread and a worker-pool implementation.
// The node owns one pool; large batches are split across its threads, small ones stay local.
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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

interface Pending {
  resolve: (results: Uint8Array) => void;
  reject: (error: Error) => void;
}

/**
 * Starts the worker. When this module runs from TypeScript source (tsx, vitest), the worker first
 * registers tsx's loader, then imports the .ts worker; from compiled JS it loads the .js directly.
 */
function spawnWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './verifierWorker.ts' : './verifierWorker.js', import.meta.url);
  if (!fromSource) return new Worker(url);
  const tsxRoot = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true });
}

export class WorkerPoolVerifier implements ProofVerifier {
  readonly name: string;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /** Batches below `minBatch` jobs are verified on the calling thread (a message costs ~50 us). */
  constructor(
    size = availableParallelism(),
    private readonly minBatch = 256,
  ) {
    this.name = `worker-pool(${size})`;
    for (let i = 0; i < size; i++) {
      const worker = spawnWorker();
      worker.on('message', (m: { id: number; results: Uint8Array }) => {
        this.pending.get(m.id)?.resolve(m.results);
        this.pending.delete(m.id);
        // Idle workers must not keep the process alive; busy ones must.
        if (this.pending.size === 0) for (const w of this.workers) w.unref();
      });
      worker.on('error', (error) => {
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  async verifyMultiproofs(jobs: MultiproofJob[]): Promise<boolean[]> {
    if (jobs.length < this.minBatch || this.workers.length === 0) return toBooleans(verifyPacked(packJobs(jobs)));
    return toBooleans(await this.verifyPacked(packJobs(jobs, true)));
  }

  async verifyPacked(jobs: PackedJobs): Promise<Uint8Array> {
    if (jobs.count < this.minBatch || this.workers.length === 0) return verifyPacked(jobs);
    const per = Math.ceil(jobs.count / this.workers.length);
    const parts = await Promise.all(
      this.workers.map((worker, w) => {
        const from = Math.min(jobs.count, w * per);
        const to = Math.min(jobs.count, from + per);
        if (from === to) return Promise.resolve(new Uint8Array(0));
        const id = this.nextId++;
        return new Promise<Uint8Array>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          worker.ref();
          worker.postMessage({ id, jobs, from, to });
        });
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
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
