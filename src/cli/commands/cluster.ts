// A miner bigger than one machine: `bcr worker` joins a cluster (PostgreSQL) with its disks and runs
// tasks; `bcr cluster status` shows the workers, their disks and the task queue.
import type { Command } from 'commander';
import { ClusterRegistry, type WorkerInfo } from '../../cluster/registry.js';
import { TASK_KINDS, type TaskKind } from '../../cluster/taskQueue.js';
import { startClusterWorker } from '../../cluster/worker.js';
import { createLogger } from '../../util/logger.js';
import { UsageError, parseIntOption, printJson } from '../io.js';

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

function workerLine(w: WorkerInfo): string {
  const disks = w.storage.map((s) => `${s.path} ${gib(s.freeBytes)} free of ${gib(s.capacityBytes)}`).join('; ');
  return `${w.name} (${w.host})  ${w.alive ? 'up' : `down (last seen ${Math.round(w.lastSeenMs / 1000)} s ago)`}  tasks ${w.tasks.join(',')} x${w.concurrency}  ${disks}`;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('join a miner cluster with this machine\'s disks and run its tasks (sealing) until stopped')
    .requiredOption('--cluster <url>', 'the cluster database, postgres://user@host:port/db')
    .requiredOption('--storage <dirs>', 'comma-separated storage paths (each with its own capacity)')
    .option('--tasks <kinds>', `comma-separated task kinds to run (of ${TASK_KINDS.join(', ')})`, 'seal')
    .option('--name <name>', 'this worker\'s name in the cluster (default: host-pid)')
    .option('--concurrency <n>', 'tasks run at once (sealing is CPU-bound: one per core)', '1')
    .option('--log-level <level>', 'log level', 'info')
    .action(async (opts: { cluster: string; storage: string; tasks: string; name?: string; concurrency: string; logLevel: string }) => {
      const tasks = opts.tasks.split(',').map((t) => t.trim()) as TaskKind[];
      const unknown = tasks.filter((t) => !TASK_KINDS.includes(t));
      if (unknown.length) throw new UsageError(`--tasks: unknown kind ${unknown.join(', ')} (kinds: ${TASK_KINDS.join(', ')})`);
      const log = createLogger({ level: opts.logLevel });
      const worker = await startClusterWorker({ cluster: opts.cluster, storage: opts.storage.split(',').map((s) => s.trim()).filter(Boolean), tasks, concurrency: parseIntOption(opts.concurrency, '--concurrency'), log, ...(opts.name ? { name: opts.name } : {}) });
      log.info({ name: worker.name, tasks, storage: opts.storage }, 'Worker joined the cluster');
      await new Promise<void>((resolve) => {
        const stop = () => void worker.stop().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      log.info({ name: worker.name }, 'Worker stopped (running tasks finished)');
    });
}

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('a miner spread over machines: workers, their disks, the task queue');
  cluster
    .command('status')
    .description('workers (up or down), their disks and free space, and queued and running tasks')
    .requiredOption('--cluster <url>', 'the cluster database, postgres://user@host:port/db')
    .option('--json', 'machine-readable output')
    .action(async (opts: { cluster: string; json?: boolean }) => {
      const registry = await ClusterRegistry.open(opts.cluster);
      try {
        const [workers, tasks] = await Promise.all([registry.workers(), registry.taskCounts()]);
        if (opts.json) return printJson({ workers, tasks });
        console.log(workers.length === 0 ? 'no workers have joined' : workers.map(workerLine).join('\n'));
        for (const t of tasks) console.log(`task ${t.task}: ${t.queued} queued, ${t.running} running${t.failing ? `, ${t.failing} retrying after an error` : ''}`);
      } finally {
        await registry.close();
      }
    });
}
