// A cluster worker (`bcr worker`): joins the cluster with its disks, beats while it runs, and claims
// the tasks it was started for. Sealing writes the sector's files to the disk with the most free
// space and records where they are (the sector index) and the sealed commitments (the task's
// result) for the node, which checks them before it relies on them.
import { hostname } from 'node:os';
import { SectorStore } from '../miner/sectorStore.js';
import { fromHex, toHex } from '../primitives/index.js';
import { PROOF_PROFILES, type ProofProfileName } from '../proofs/index.js';
import type { Logger } from '../util/logger.js';
import { ClusterRegistry, measureStorage, type StoragePath } from './registry.js';
import { startTaskWorker, type TaskHandler, type TaskKind } from './taskQueue.js';

/** How often a worker beats (its disks' free space with it). */
const HEARTBEAT_MS = 5_000;

export interface ClusterWorkerOptions {
  cluster: string;
  name?: string;
  storage: string[];
  tasks: TaskKind[];
  concurrency: number;
  log: Logger;
  pollIntervalMs?: number;
}

/** What a seal task carries: the node computed every input from the chain. */
export interface SealTask {
  key: string;
  miner: number;
  sector: number;
  profile: ProofProfileName;
  sealRandomness: string;
  commD: string;
}

function parseSealTask(payload: unknown): SealTask {
  const p = payload as Partial<SealTask> | null;
  const hex32 = (v: unknown) => typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v);
  if (!p || typeof p.key !== 'string' || !Number.isSafeInteger(p.miner) || !Number.isSafeInteger(p.sector) || !(typeof p.profile === 'string' && p.profile in PROOF_PROFILES) || !hex32(p.sealRandomness) || !hex32(p.commD)) {
    throw new Error(`malformed seal task: ${JSON.stringify(payload).slice(0, 200)}`);
  }
  return p as SealTask;
}

/** The storage path with the most free space that fits `bytes` more. */
function pickPath(paths: StoragePath[], bytes: number): StoragePath {
  const fits = paths.filter((p) => p.freeBytes >= bytes).sort((a, b) => b.freeBytes - a.freeBytes);
  if (fits.length === 0) throw new Error(`no storage path has ${bytes} bytes free`);
  return fits[0]!;
}

/** The task kinds a worker can run so far. */
export const WORKER_TASKS: TaskKind[] = ['seal'];

export async function startClusterWorker(opts: ClusterWorkerOptions): Promise<{ name: string; stop(): Promise<void> }> {
  const missing = opts.tasks.filter((t) => !WORKER_TASKS.includes(t));
  if (missing.length > 0) throw new Error(`a worker cannot run ${missing.join(', ')} tasks yet (it runs: ${WORKER_TASKS.join(', ')})`);
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  const registry = await ClusterRegistry.open(opts.cluster);
  const measure = () => Promise.all(opts.storage.map(measureStorage));
  await registry.register({ name, host: hostname(), tasks: opts.tasks, concurrency: opts.concurrency }, await measure());
  const heartbeat = setInterval(() => {
    void measure()
      .then((storage) => registry.beat(name, storage))
      .catch((error: unknown) => opts.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'Cluster heartbeat failed'));
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const seal: TaskHandler = async (payload, task) => {
    const job = parseSealTask(payload);
    const params = PROOF_PROFILES[job.profile];
    // Labels, columns and the replica: several sector sizes of scratch.
    const path = pickPath(await measure(), params.sectorSize * (params.layers + 4));
    opts.log.info({ miner: job.miner, sector: job.sector, path: path.path, attempt: task.attempt }, 'Sealing sector for the cluster');
    const store = new SectorStore(path.path, params);
    try {
      const sealed = await store.sealCommittedCapacity(job.miner, job.sector, fromHex(job.sealRandomness), fromHex(job.commD));
      await registry.placeSector({ miner: job.miner, sector: job.sector, worker: name, path: path.path, state: 'sealed' });
      await registry.putResult(job.key, name, { commR: sealed.meta.commR, replicaId: sealed.meta.replicaId, commC: sealed.meta.commC, commRLast: sealed.meta.commRLast, commD: toHex(fromHex(job.commD)) });
      opts.log.info({ miner: job.miner, sector: job.sector, commR: sealed.meta.commR }, 'Sealed sector for the cluster');
    } finally {
      await store.close();
    }
  };
  const handlers: Partial<Record<TaskKind, TaskHandler>> = {};
  if (opts.tasks.includes('seal')) handlers.seal = seal;
  const runner = await startTaskWorker({ connectionString: opts.cluster, name, handlers, concurrency: opts.concurrency, log: opts.log, ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}) });
  return {
    name,
    async stop() {
      clearInterval(heartbeat);
      await runner.stop();
      await registry.close();
    },
  };
}
