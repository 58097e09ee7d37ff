// The cluster's task queue: PostgreSQL through graphile-worker (jobs claimed with SELECT … FOR
// UPDATE SKIP LOCKED, retried with backoff, lower priority number first), as Curio coordinates its
// machines through one database. The node schedules; workers on any host claim what they can do.
// A task is either for any worker able to do it (`seal`) or for one worker (`windowPost@w2`: the
// worker whose disk holds the sectors), so replicas never cross the network.
import { Logger, makeWorkerUtils, run, type LogFunctionFactory, type Runner, type TaskList, type WorkerUtils } from 'graphile-worker';
import type { Logger as PinoLogger } from '../util/logger.js';

export const TASK_KINDS = ['winningPost', 'windowPost', 'porep', 'seal', 'cleanup', 'unseal', 'retrieve'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/**
 * Lower runs first: a block's WinningPoSt, then open WindowPoSt deadlines, then PoReps (a pre-commit's
 * deposit burns if its prove-commit is late), then the rest; deleting files last.
 */
export const TASK_PRIORITY: Record<TaskKind, number> = { winningPost: -30, windowPost: -20, porep: -15, retrieve: -10, unseal: -5, seal: 0, cleanup: 5 };

/** The graphile-worker task identifier of `kind`, for one worker or for any that can do it. */
export function taskIdentifier(kind: TaskKind, worker?: string): string {
  return worker === undefined ? kind : `${kind}@${worker}`;
}

export interface ScheduleOptions {
  /** Only this worker may run it (it holds the sectors). */
  worker?: string;
  /** At most one queued task per key: scheduling again replaces the queued one. */
  key?: string;
  maxAttempts?: number;
}

/** Routes graphile-worker's log lines to pino (debug and info quiet at `info`). */
function loggerFor(log: PinoLogger): Logger {
  const factory: LogFunctionFactory = (scope) => (level, message, meta) => {
    // graphile-worker passes whole client objects as `error`: keep their message only.
    const { error, ...rest } = (meta ?? {}) as { error?: unknown };
    const fields = { ...scope, ...rest, ...(error !== undefined ? { err: error instanceof Error ? error.message : String(error) } : {}) };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else log.debug(fields, message);
  };
  return new Logger(factory);
}

/** The scheduling side (the node): adds tasks, and reads the queue for status. */
export class ClusterQueue {
  private constructor(
    private readonly utils: WorkerUtils,
  ) {}

  /** Connects and creates or upgrades the queue's schema (idempotent). */
  static async open(connectionString: string, log: PinoLogger): Promise<ClusterQueue> {
    const utils = await makeWorkerUtils({ connectionString, logger: loggerFor(log) });
    await utils.migrate();
    return new ClusterQueue(utils);
  }

  async schedule(kind: TaskKind, payload: Record<string, unknown>, opts: ScheduleOptions = {}): Promise<string> {
    const job = await this.utils.addJob(taskIdentifier(kind, opts.worker), payload, {
      priority: TASK_PRIORITY[kind],
      maxAttempts: opts.maxAttempts ?? 5,
      ...(opts.key !== undefined ? { jobKey: opts.key } : {}),
    });
    return job.id;
  }

  /** Frees the tasks locked by processes that died, so other workers retry them. */
  async unlock(lockIds: string[]): Promise<void> {
    if (lockIds.length > 0) await this.utils.forceUnlockWorkers(lockIds);
  }

  /** Drops a task nobody claimed yet (its answer is no longer wanted); a running one finishes unheeded. */
  async cancel(jobId: string): Promise<void> {
    await this.utils.completeJobs([jobId]);
  }

  async close(): Promise<void> {
    await this.utils.release();
  }
}

export interface TaskInfo {
  id: string;
  attempt: number;
  /** The queue's id of the process holding the task's lock. */
  lockedBy: string;
  identifier: string;
}

export type TaskHandler = (payload: unknown, task: TaskInfo) => Promise<void>;

export interface WorkerOptions {
  connectionString: string;
  /** This worker's name in the cluster (its targeted tasks end in `@name`). */
  name: string;
  handlers: Partial<Record<TaskKind, TaskHandler>>;
  /** Tasks run at once (sealing is CPU-bound: one per core). */
  concurrency: number;
  log: PinoLogger;
  /** How often an idle worker looks for work when no notification arrives (ms). */
  pollIntervalMs?: number;
  /** Around every task (the cluster records which process runs what, to free a dead one's tasks). */
  onStart?: (task: TaskInfo) => Promise<void>;
  onEnd?: (task: TaskInfo) => Promise<void>;
}

/** Starts claiming and running tasks; `stop()` lets running tasks finish first. */
export async function startTaskWorker(opts: WorkerOptions): Promise<Runner> {
  const taskList: TaskList = {};
  for (const [kind, handler] of Object.entries(opts.handlers) as [TaskKind, TaskHandler][]) {
    const task = async (payload: unknown, helpers: { job: { id: string; attempts: number; locked_by: string | null; task_identifier: string } }) => {
      const info: TaskInfo = { id: helpers.job.id, attempt: helpers.job.attempts, lockedBy: helpers.job.locked_by ?? '', identifier: helpers.job.task_identifier };
      await opts.onStart?.(info);
      try {
        await handler(payload, info);
      } finally {
        await opts.onEnd?.(info);
      }
    };
    taskList[taskIdentifier(kind)] = task;
    taskList[taskIdentifier(kind, opts.name)] = task;
  }
  return run({
    connectionString: opts.connectionString,
    concurrency: opts.concurrency,
    taskList,
    noHandleSignals: true,
    pollInterval: opts.pollIntervalMs ?? 1000,
    logger: loggerFor(opts.log),
  });
}
