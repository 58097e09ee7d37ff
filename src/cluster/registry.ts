// The cluster's own tables beside the task queue: the workers (alive while they beat), their storage
// paths with capacity and free space, and the sector index (which worker and path hold a sector),
// which is how a sector's proofs are sent to the machine whose disk has it.
import { statfs } from 'node:fs/promises';
import pg from 'pg';
import type { TaskKind } from './taskQueue.js';

/** A worker that has not beaten for this long is counted as down. */
export const WORKER_TIMEOUT_MS = 15_000;

const SCHEMA = `
create schema if not exists bcr_cluster;
create table if not exists bcr_cluster.workers (
  name text primary key,
  host text not null,
  tasks text[] not null,
  concurrency int not null,
  started_at timestamptz not null default now(),
  last_seen timestamptz not null default now()
);
create table if not exists bcr_cluster.storage (
  worker text not null references bcr_cluster.workers(name) on delete cascade,
  path text not null,
  capacity_bytes bigint not null,
  free_bytes bigint not null,
  primary key (worker, path)
);
create table if not exists bcr_cluster.sectors (
  miner bigint not null,
  sector bigint not null,
  worker text not null,
  path text not null,
  state text not null,
  updated_at timestamptz not null default now(),
  primary key (miner, sector)
);
create table if not exists bcr_cluster.results (
  key text primary key,
  worker text not null,
  result jsonb not null,
  finished_at timestamptz not null default now()
);
alter table bcr_cluster.workers add column if not exists bad_reason text;
create table if not exists bcr_cluster.running (
  job_id text primary key,
  worker text not null,
  locked_by text not null,
  task text not null,
  started_at timestamptz not null default now()
);
`;

/** Whether a value in a task's payload or result is 32 bytes of 0x-hex (rows are checked, never trusted). */
export const isHex32 = (value: unknown): value is string => typeof value === 'string' && /^0x[0-9a-fA-F]{64}$/.test(value);

/** The channel a finished task's key is announced on (the node waits on it). */
export const RESULTS_CHANNEL = 'bcr_cluster_results';

export interface StoragePath {
  path: string;
  capacityBytes: number;
  freeBytes: number;
}

export interface WorkerInfo {
  name: string;
  host: string;
  tasks: TaskKind[];
  concurrency: number;
  alive: boolean;
  lastSeenMs: number;
  /** Why the node refuses this worker's answers (a proof that did not verify); null while trusted. */
  badReason: string | null;
  storage: StoragePath[];
}

export interface SectorLocation {
  miner: number;
  sector: number;
  worker: string;
  path: string;
  state: string;
}

/** Capacity and free space of the file system under `path`. */
export async function measureStorage(path: string): Promise<StoragePath> {
  const fs = await statfs(path);
  return { path, capacityBytes: Number(fs.blocks) * Number(fs.bsize), freeBytes: Number(fs.bavail) * Number(fs.bsize) };
}

export class ClusterRegistry {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(connectionString: string): Promise<ClusterRegistry> {
    const pool = new pg.Pool({ connectionString, max: 4 });
    // A connection dropped by the server must not crash the process: queries fail and are retried.
    pool.on('error', () => undefined);
    // Processes joining at once would race on "create ... if not exists": one at a time.
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock(7523001)');
      await client.query(SCHEMA);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return new ClusterRegistry(pool);
  }

  /** Joins (or rejoins) the cluster with these task kinds and disks. */
  async register(worker: { name: string; host: string; tasks: TaskKind[]; concurrency: number }, storage: StoragePath[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `insert into bcr_cluster.workers (name, host, tasks, concurrency) values ($1, $2, $3, $4)
         on conflict (name) do update set host = $2, tasks = $3, concurrency = $4, started_at = now(), last_seen = now()`,
        [worker.name, worker.host, worker.tasks, worker.concurrency],
      );
      await client.query('delete from bcr_cluster.storage where worker = $1', [worker.name]);
      for (const s of storage) await client.query('insert into bcr_cluster.storage (worker, path, capacity_bytes, free_bytes) values ($1, $2, $3, $4)', [worker.name, s.path, s.capacityBytes, s.freeBytes]);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  }

  /** A heartbeat with the disks' current free space. */
  async beat(name: string, storage: StoragePath[]): Promise<void> {
    await this.pool.query('update bcr_cluster.workers set last_seen = now() where name = $1', [name]);
    for (const s of storage) await this.pool.query('update bcr_cluster.storage set free_bytes = $3, capacity_bytes = $4 where worker = $1 and path = $2', [name, s.path, s.freeBytes, s.capacityBytes]);
  }

  async workers(): Promise<WorkerInfo[]> {
    const rows = await this.pool.query<{ name: string; host: string; tasks: TaskKind[]; concurrency: number; age_ms: string; bad_reason: string | null }>(
      `select name, host, tasks, concurrency, bad_reason, (extract(epoch from now() - last_seen) * 1000)::bigint as age_ms from bcr_cluster.workers order by name`,
    );
    const disks = await this.pool.query<{ worker: string; path: string; capacity_bytes: string; free_bytes: string }>('select worker, path, capacity_bytes, free_bytes from bcr_cluster.storage order by worker, path');
    return rows.rows.map((w) => ({
      name: w.name,
      host: w.host,
      tasks: w.tasks,
      concurrency: w.concurrency,
      alive: Number(w.age_ms) < WORKER_TIMEOUT_MS,
      lastSeenMs: Number(w.age_ms),
      badReason: w.bad_reason,
      storage: disks.rows.filter((d) => d.worker === w.name).map((d) => ({ path: d.path, capacityBytes: Number(d.capacity_bytes), freeBytes: Number(d.free_bytes) })),
    }));
  }

  /** Records where a sector's files are (its sealing worker's disk). */
  async placeSector(location: SectorLocation): Promise<void> {
    await this.pool.query(
      `insert into bcr_cluster.sectors (miner, sector, worker, path, state) values ($1, $2, $3, $4, $5)
       on conflict (miner, sector) do update set worker = $3, path = $4, state = $5, updated_at = now()`,
      [location.miner, location.sector, location.worker, location.path, location.state],
    );
  }

  /** Where a sector's replica is, or null when no worker holds it. */
  async sectorLocation(miner: number, sector: number): Promise<SectorLocation | null> {
    const rows = await this.pool.query<{ worker: string; path: string; state: string }>('select worker, path, state from bcr_cluster.sectors where miner = $1 and sector = $2', [miner, sector]);
    const row = rows.rows[0];
    return row ? { miner, sector, worker: row.worker, path: row.path, state: row.state } : null;
  }

  /** Where each of these sectors is (one query for a whole partition); sectors no worker holds are left out. */
  async sectorLocations(miner: number, sectors: number[]): Promise<SectorLocation[]> {
    const rows = await this.pool.query<{ sector: string; worker: string; path: string; state: string }>('select sector, worker, path, state from bcr_cluster.sectors where miner = $1 and sector = any($2::bigint[])', [miner, sectors]);
    return rows.rows.map((r) => ({ miner, sector: Number(r.sector), worker: r.worker, path: r.path, state: r.state }));
  }

  /** The sector's files are gone from its worker (the chain no longer holds it). */
  async removeSector(miner: number, sector: number, worker: string): Promise<void> {
    await this.pool.query('delete from bcr_cluster.sectors where miner = $1 and sector = $2 and worker = $3', [miner, sector, worker]);
  }

  async sectorsOf(miner: number): Promise<SectorLocation[]> {
    const rows = await this.pool.query<{ miner: string; sector: string; worker: string; path: string; state: string }>('select miner, sector, worker, path, state from bcr_cluster.sectors where miner = $1 order by sector', [miner]);
    return rows.rows.map((r) => ({ miner: Number(r.miner), sector: Number(r.sector), worker: r.worker, path: r.path, state: r.state }));
  }

  /** A finished task's result under its key (a retried task overwrites its earlier result). */
  async putResult(key: string, worker: string, result: Record<string, unknown>): Promise<void> {
    await this.pool.query(
      `insert into bcr_cluster.results (key, worker, result) values ($1, $2, $3)
       on conflict (key) do update set worker = $2, result = $3, finished_at = now()`,
      [key, worker, JSON.stringify(result)],
    );
    await this.pool.query('select pg_notify($1, $2)', [RESULTS_CHANNEL, key]);
  }

  async deleteResult(key: string): Promise<void> {
    await this.pool.query('delete from bcr_cluster.results where key = $1', [key]);
  }

  /** The node refuses this worker's answers from now on (it returned a proof that does not verify). */
  async markBad(name: string, reason: string): Promise<void> {
    await this.pool.query('update bcr_cluster.workers set bad_reason = $2 where name = $1', [name, reason]);
  }

  /** A task a worker started, with the queue's lock id of the process running it. */
  async taskStarted(jobId: string, worker: string, lockedBy: string, task: string): Promise<void> {
    await this.pool.query('insert into bcr_cluster.running (job_id, worker, locked_by, task) values ($1, $2, $3, $4) on conflict (job_id) do update set worker = $2, locked_by = $3, task = $4, started_at = now()', [jobId, worker, lockedBy, task]);
  }

  async taskEnded(jobId: string): Promise<void> {
    await this.pool.query('delete from bcr_cluster.running where job_id = $1', [jobId]);
  }

  /**
   * Lock ids of tasks held by workers that stopped beating (or, with `worker`, by that worker's
   * earlier life), removed from the running list: the caller unlocks them so another worker retries them.
   */
  async takeOrphanedLocks(worker?: string): Promise<string[]> {
    const rows = worker === undefined
      ? await this.pool.query<{ locked_by: string }>(
          `delete from bcr_cluster.running r using bcr_cluster.workers w
           where r.worker = w.name and w.last_seen < now() - make_interval(secs => $1) returning r.locked_by`,
          [WORKER_TIMEOUT_MS / 1000],
        )
      : await this.pool.query<{ locked_by: string }>('delete from bcr_cluster.running where worker = $1 returning locked_by', [worker]);
    return [...new Set(rows.rows.map((r) => r.locked_by))];
  }

  /** How many sectors each worker holds, by miner (for status). */
  async sectorCounts(): Promise<{ miner: number; worker: string; sectors: number }[]> {
    const rows = await this.pool.query<{ miner: string; worker: string; n: string }>('select miner, worker, count(*) as n from bcr_cluster.sectors group by miner, worker order by miner, worker');
    return rows.rows.map((r) => ({ miner: Number(r.miner), worker: r.worker, sectors: Number(r.n) }));
  }

  /** Tasks running now, by worker (for status). */
  async running(): Promise<{ jobId: string; worker: string; task: string; runningMs: number }[]> {
    const rows = await this.pool.query<{ job_id: string; worker: string; task: string; ms: string }>(`select job_id, worker, task, (extract(epoch from now() - started_at) * 1000)::bigint as ms from bcr_cluster.running order by started_at`);
    return rows.rows.map((r) => ({ jobId: r.job_id, worker: r.worker, task: r.task, runningMs: Number(r.ms) }));
  }

  /** Results nobody collected (an answer after its deadline) older than `ms`. */
  async pruneResults(ms: number): Promise<void> {
    await this.pool.query('delete from bcr_cluster.results where finished_at < now() - make_interval(secs => $1)', [ms / 1000]);
  }

  async getResult(key: string): Promise<{ worker: string; result: Record<string, unknown> } | null> {
    const rows = await this.pool.query<{ worker: string; result: Record<string, unknown> }>('select worker, result from bcr_cluster.results where key = $1', [key]);
    return rows.rows[0] ?? null;
  }

  /** Queued and running tasks by task identifier (from graphile-worker's jobs view). */
  async taskCounts(): Promise<{ task: string; queued: number; running: number; failing: number }[]> {
    const exists = await this.pool.query<{ present: boolean }>(`select to_regclass('graphile_worker.jobs') is not null as present`);
    if (!exists.rows[0]?.present) return [];
    const rows = await this.pool.query<{ task: string; queued: string; running: string; failing: string }>(
      `select task_identifier as task,
              count(*) filter (where locked_at is null) as queued,
              count(*) filter (where locked_at is not null) as running,
              count(*) filter (where last_error is not null) as failing
       from graphile_worker.jobs group by task_identifier order by task_identifier`,
    );
    return rows.rows.map((r) => ({ task: r.task, queued: Number(r.queued), running: Number(r.running), failing: Number(r.failing) }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
