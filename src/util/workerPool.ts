// A fixed pool of worker threads running one module, with request/response by message id. Idle
// workers are unref'd so they never keep the process alive; busy ones are ref'd.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';

/**
 * Starts a worker. When the module runs from TypeScript source (tsx, vitest), the worker first
 * registers tsx's loader, then imports the .ts file; from compiled JS it loads the .js directly.
 */
export function spawnModuleWorker(tsUrl: URL, workerData?: unknown): Worker {
  const fromSource = tsUrl.href.endsWith('.ts') && import.meta.url.endsWith('.ts');
  const url = fromSource ? tsUrl : new URL(tsUrl.href.replace(/\.ts$/, '.js'));
  if (!fromSource) return new Worker(url, { workerData });
  const tsxRoot = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

interface Pending<Res> {
  resolve: (result: Res) => void;
  reject: (error: Error) => void;
}

/** The message shape both sides use: the worker answers `{ id, result }` or `{ id, error }`. */
export interface WorkerReply<Res> {
  id: number;
  result?: Res;
  error?: string;
}

export class WorkerPool<Req, Res> {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending<Res>>();
  private nextId = 0;
  private nextWorker = 0;

  constructor(moduleUrl: URL, size: number, workerData?: unknown) {
    for (let i = 0; i < size; i++) {
      const worker = spawnModuleWorker(moduleUrl, workerData);
      worker.on('message', (reply: WorkerReply<Res>) => {
        const pending = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (this.pending.size === 0) for (const w of this.workers) w.unref();
        if (!pending) return;
        if (reply.error !== undefined) pending.reject(new Error(reply.error));
        else pending.resolve(reply.result as Res);
      });
      worker.on('error', (error) => {
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Runs one request on worker `index` (round-robin when omitted). */
  run(request: Req, index?: number, transfer: TransferListItem[] = []): Promise<Res> {
    if (this.workers.length === 0) return Promise.reject(new Error('worker pool is closed'));
    const worker = this.workers[(index ?? this.nextWorker++) % this.workers.length]!;
    const id = this.nextId++;
    return new Promise<Res>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, request }, transfer);
    });
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
