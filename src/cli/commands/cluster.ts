// A miner bigger than one machine: `bcr worker` joins a cluster (PostgreSQL) with its disks and runs
// tasks; `bcr cluster status` shows the workers, their disks and the task queue.
import type { Command } from 'commander';
import { ClusterRegistry, type WorkerInfo } from '../../cluster/registry.js';
import type { TaskKind } from '../../cluster/taskQueue.js';
import { WORKER_TASKS, startClusterWorker } from '../../cluster/worker.js';
import { createLogger } from '../../util/logger.js';
import { callRpc } from '../../client/rpc.js';
import { UsageError, clusterUrl, parseIntOption, printJson } from '../io.js';

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

function workerLine(w: WorkerInfo): string {
  const disks = w.storage.map((s) => `${s.path} ${gib(s.freeBytes)} free of ${gib(s.capacityBytes)}`).join('; ');
  return `${w.name} (${w.host})  ${w.alive ? 'up' : `down (last seen ${Math.round(w.lastSeenMs / 1000)} s ago)`}${w.badReason ? `  REFUSED: ${w.badReason}` : ''}  tasks ${w.tasks.join(',')} x${w.concurrency}  ${disks}`;
}

/** `seal,prove` as task kinds; `prove` is every proof of the sectors a worker holds. */
export function parseTaskKinds(text: string): TaskKind[] {
  const kinds = new Set<TaskKind>();
  for (const word of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    if (word === 'prove') for (const k of ['porep', 'windowPost', 'winningPost'] as const) kinds.add(k);
    else if ((WORKER_TASKS as string[]).includes(word)) kinds.add(word as TaskKind);
    else throw new UsageError(`--tasks: a worker cannot run '${word}' tasks (it runs: seal, prove = porep,windowPost,winningPost; unseal and retrieve stay with the node)`);
  }
  if (kinds.size === 0) throw new UsageError('--tasks: name at least one task kind');
  return [...kinds];
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('join a miner cluster with this machine\'s disks and run its tasks (sealing) until stopped')
    .requiredOption('--cluster <url>', 'the cluster database, postgres://user@host:port/db')
    .requiredOption('--storage <dirs>', 'comma-separated storage paths (each with its own capacity)')
    .option('--tasks <kinds>', `comma-separated task kinds to run: seal, prove (PoRep, WindowPoSt and WinningPoSt of the sectors on this worker's disks) or single kinds (${WORKER_TASKS.join(', ')})`, 'seal,prove')
    .option('--name <name>', 'this worker\'s name in the cluster (default: host-pid)')
    .option('--concurrency <n>', 'tasks run at once (sealing is CPU-bound: one per core)', '1')
    .option('--log-level <level>', 'log level', 'info')
    .action(async (opts: { cluster: string; storage: string; tasks: string; name?: string; concurrency: string; logLevel: string }) => {
      const tasks = parseTaskKinds(opts.tasks);
      const log = createLogger({ level: opts.logLevel });
      const worker = await startClusterWorker({ cluster: clusterUrl(opts.cluster), storage: opts.storage.split(',').map((s) => s.trim()).filter(Boolean), tasks, concurrency: parseIntOption(opts.concurrency, '--concurrency'), log, ...(opts.name ? { name: opts.name } : {}) });
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
    .option('--rpc <url>', 'also ask the cluster\'s node which worker proves the next proving windows')
    .option('--json', 'machine-readable output')
    .action(async (opts: { cluster: string; rpc?: string; json?: boolean }) => {
      const registry = await ClusterRegistry.open(clusterUrl(opts.cluster));
      try {
        const [workers, tasks, running, sectors] = await Promise.all([registry.workers(), registry.taskCounts(), registry.running(), registry.sectorCounts()]);
        const windows = opts.rpc ? (await callRpc<{ windows: { period: number; deadline: number; open: number; close: number; provers: { worker: string; sectors: number }[] }[] }>(opts.rpc, 'bcr_clusterStatus', [])).windows : undefined;
        if (opts.json) return printJson({ workers, tasks, running, sectors, ...(windows ? { windows } : {}) });
        for (const w of windows ?? []) console.log(`deadline ${w.deadline} of period ${w.period} (slots ${w.open}-${w.close - 1}): ${w.provers.map((p) => `${p.sectors} on ${p.worker === 'node' ? 'the node' : p.worker}`).join(', ') || 'no sectors'}`);
        console.log(workers.length === 0 ? 'no workers have joined' : workers.map(workerLine).join('\n'));
        for (const s of sectors) console.log(`miner ${s.miner}: ${s.sectors} sector(s) on ${s.worker}`);
        for (const r of running) console.log(`running ${r.task} on ${r.worker} for ${Math.round(r.runningMs / 1000)} s`);
        for (const t of tasks) console.log(`task ${t.task}: ${t.queued} queued, ${t.running} running${t.failing ? `, ${t.failing} retrying after an error` : ''}`);
      } finally {
        await registry.close();
      }
    });
}
