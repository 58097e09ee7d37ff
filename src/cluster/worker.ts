// A cluster worker (`bcr worker`): joins the cluster with its disks, beats while it runs, and claims
// the tasks it was started for. Sealing writes the sector's files to the disk with the most free
// space and records where they are (the sector index) and the sealed commitments (the task's
// result) for the node, which checks them before it relies on them.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SectorStore } from '../miner/sectorStore.js';
import { fromHex, toHex } from '../primitives/index.js';
import { MAX_POST_SECTORS, PROOF_PROFILES, ScratchFiles, provePost, type PostKind, type ProofProfileName } from '../proofs/index.js';
import { sealProgressLogger } from '../miner/sealProgress.js';
import { provePartition, type ReplicaAccess } from '../miner/windowPost.js';
import type { Logger } from '../util/logger.js';
import { ClusterRegistry, isHex32, measureStorage, type StoragePath } from './registry.js';
import { ClusterQueue, startTaskWorker, type TaskHandler, type TaskKind } from './taskQueue.js';



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

/** A PoRep of a sector this worker holds, on the chain's seed. */
export interface PorepTask {
  key: string;
  miner: number;
  sector: number;
  profile: ProofProfileName;
  seed: string;
}

/** A WindowPoSt or WinningPoSt part over sectors this worker holds. */
export interface PostTask {
  key: string;
  miner: number;
  profile: ProofProfileName;
  kind: PostKind;
  randomness: string;
  sectors: { number: number; commR: string }[];
}

const sectorNumber = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** The payload as T when every field checks, else a clear error (the database is shared: never trust a row blindly). */
function parseTask<T>(kind: string, payload: unknown, check: (p: Record<string, unknown>) => boolean): T {
  const p = payload as Record<string, unknown> | null;
  if (!p || typeof p !== 'object' || typeof p.key !== 'string' || !sectorNumber(p.miner) || !(typeof p.profile === 'string' && p.profile in PROOF_PROFILES) || !check(p)) {
    throw new Error(`malformed ${kind} task: ${JSON.stringify(payload).slice(0, 200)}`);
  }
  return p as T;
}

const parseSealTask = (payload: unknown) => parseTask<SealTask>('seal', payload, (p) => sectorNumber(p.sector) && isHex32(p.sealRandomness) && isHex32(p.commD));
/** Files of a sector this worker holds that are no longer needed. */
export interface CleanupTask {
  key: string;
  miner: number;
  profile: ProofProfileName;
  sector: number;
  what: 'scratch' | 'sector';
}

const parseCleanupTask = (payload: unknown) => parseTask<CleanupTask>('cleanup', payload, (p) => sectorNumber(p.sector) && (p.what === 'scratch' || p.what === 'sector'));
const parsePorepTask = (payload: unknown) => parseTask<PorepTask>('porep', payload, (p) => sectorNumber(p.sector) && isHex32(p.seed));
const parsePostTask = (payload: unknown) =>
  parseTask<PostTask>('post', payload, (p) => (p.kind === 'window' || p.kind === 'winning') && isHex32(p.randomness) && Array.isArray(p.sectors) && p.sectors.length <= MAX_POST_SECTORS && p.sectors.every((s: { number?: unknown; commR?: unknown } | null) => s !== null && typeof s === 'object' && sectorNumber(s.number) && isHex32(s.commR)));

/** Where a miner's sectors sit on a storage path: PATH/miner-ID/sectors/N. */
export function minerDir(path: string, miner: number): string {
  return join(path, `miner-${miner}`);
}

/** The storage path with the most free space that fits `bytes` more. */
function pickPath(paths: StoragePath[], bytes: number): StoragePath {
  const fits = paths.filter((p) => p.freeBytes >= bytes).sort((a, b) => b.freeBytes - a.freeBytes);
  if (fits.length === 0) throw new Error(`no storage path has ${bytes} bytes free`);
  return fits[0]!;
}

/** The task kinds a worker can run (unseal and retrieve stay with the node for now). */
export const WORKER_TASKS: TaskKind[] = ['seal', 'porep', 'windowPost', 'winningPost'];

export async function startClusterWorker(opts: ClusterWorkerOptions): Promise<{ name: string; stop(): Promise<void> }> {
  const missing = opts.tasks.filter((t) => !WORKER_TASKS.includes(t));
  if (missing.length > 0) throw new Error(`a worker cannot run ${missing.join(', ')} tasks yet (it runs: ${WORKER_TASKS.join(', ')})`);
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  const registry = await ClusterRegistry.open(opts.cluster);
  const queue = await ClusterQueue.open(opts.cluster, opts.log);
  const measure = () => Promise.all(opts.storage.map(measureStorage));
  await registry.register({ name, host: hostname(), tasks: opts.tasks, concurrency: opts.concurrency }, await measure());
  // Tasks this worker held when it last died are free again for whoever can run them.
  await queue.unlock(await registry.takeOrphanedLocks(name));
  await queue.close();
  const stores = new Map<string, SectorStore>();
  /** A miner's sectors on one storage path (miners sharing a cluster never share a directory). */
  const storeAt = (path: string, miner: number, profile: ProofProfileName) => {
    const key = `${path}\0${miner}\0${profile}`;
    if (!stores.has(key)) stores.set(key, new SectorStore(minerDir(path, miner), PROOF_PROFILES[profile]));
    return stores.get(key)!;
  };
  /** The store on this worker's disks that holds the sector. */
  const holding = async (job: { miner: number; sector: number; profile: ProofProfileName }): Promise<SectorStore | null> => {
    for (const path of opts.storage) if (await storeAt(path, job.miner, job.profile).has(job.sector)) return storeAt(path, job.miner, job.profile);
    return null;
  };
  const heartbeat = setInterval(() => {
    void measure()
      .then((storage) => registry.beat(name, storage))
      .catch((error: unknown) => opts.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'Cluster heartbeat failed'));
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const seal: TaskHandler = async (payload, task) => {
    const job = parseSealTask(payload);
    const params = PROOF_PROFILES[job.profile];
    // A seal started before (this worker before a crash, or another on shared storage) resumes at its
    // last finished layer where its files are; else the path with room for labels, columns and replica.
    const disks = await measure();
    const started = disks.find((d) => existsSync(join(minerDir(d.path, job.miner), 'sectors', String(job.sector), ScratchFiles.progress)));
    const path = started ?? pickPath(disks, params.sectorSize * (params.layers + 4));
    opts.log.info({ miner: job.miner, sector: job.sector, path: path.path, attempt: task.attempt }, 'Sealing sector for the cluster');
    const store = storeAt(path.path, job.miner, job.profile);
    const sealed = await store.sealCommittedCapacity(job.miner, job.sector, fromHex(job.sealRandomness), fromHex(job.commD), sealProgressLogger(opts.log, job.sector));
    await registry.placeSector({ miner: job.miner, sector: job.sector, worker: name, path: path.path, state: 'sealed' });
    const hex = (text: string) => toHex(fromHex(text));
    await registry.putResult(job.key, name, { commR: hex(sealed.meta.commR), replicaId: hex(sealed.meta.replicaId), commC: hex(sealed.meta.commC), commRLast: hex(sealed.meta.commRLast), commD: hex(job.commD) });
    opts.log.info({ miner: job.miner, sector: job.sector, commR: sealed.meta.commR }, 'Sealed sector for the cluster');
  };

  const porep: TaskHandler = async (payload) => {
    const job = parsePorepTask(payload);
    const store = await holding(job);
    if (!store) throw new Error(`sector ${job.sector} is not on this worker's disks`);
    const proof = await store.provePorep(job.sector, fromHex(job.seed));
    await registry.putResult(job.key, name, { proof: toHex(proof) });
    opts.log.info({ miner: job.miner, sector: job.sector, proofBytes: proof.length }, 'Proved a sector\'s replication for the cluster');
  };

  const post: TaskHandler = async (payload) => {
    const job = parsePostTask(payload);
    const params = PROOF_PROFILES[job.profile];
    const located = new Map<number, SectorStore>();
    for (const s of job.sectors) {
      const store = await holding({ ...job, sector: s.number });
      if (store) located.set(s.number, store);
    }
    const replicas: ReplicaAccess = {
      has: async (sector) => located.has(sector),
      provable: (sector) => located.get(sector)!.provable(sector),
    };
    const result = await provePartition(params, fromHex(job.randomness), job.sectors.map((s) => ({ number: s.number, commR: fromHex(s.commR) })), replicas, provePost, job.kind);
    await registry.putResult(job.key, name, { proof: toHex(result.proof), proven: result.proven, skipped: result.skipped });
    opts.log.info({ miner: job.miner, kind: job.kind, sectors: result.proven, skipped: result.skipped }, 'Proved sectors for the cluster');
  };

  // The node's order to free this worker's disk: labels once a sector's activation is final, or the
  // whole sector once the chain no longer holds it.
  const cleanup: TaskHandler = async (payload) => {
    const job = parseCleanupTask(payload);
    const store = await holding(job);
    const freed = store ? (job.what === 'scratch' ? await store.deleteScratch(job.sector) : await store.remove(job.sector)) : 0;
    if (job.what === 'sector') await registry.removeSector(job.miner, job.sector, name);
    opts.log.info({ miner: job.miner, sector: job.sector, what: job.what, bytesFreed: freed }, 'Freed sector files for the cluster');
  };

  const all: Record<string, TaskHandler> = { seal, porep, windowPost: post, winningPost: post };
  // Every worker frees its own disk when told to, whatever else it runs.
  const handlers: Partial<Record<TaskKind, TaskHandler>> = { cleanup };
  for (const kind of opts.tasks) handlers[kind] = all[kind];
  const runner = await startTaskWorker({
    connectionString: opts.cluster,
    name,
    handlers,
    concurrency: opts.concurrency,
    log: opts.log,
    onStart: (task) => registry.taskStarted(task.id, name, task.lockedBy, task.identifier),
    onEnd: (task) => registry.taskEnded(task.id),
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
  });
  return {
    name,
    async stop() {
      clearInterval(heartbeat);
      await runner.stop();
      await Promise.all([...stores.values()].map((store) => store.close()));
      await registry.close();
    },
  };
}
