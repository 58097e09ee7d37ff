// `npm run bench -- cluster [--sectors N] [--profile devnet|test] [--json]`: a miner cluster on a
// throwaway PostgreSQL. Sealing throughput through the node's side (ClusterSectors) with one and two
// `bcr worker` processes; a WindowPoSt of a deadline's sectors proven by one worker and spread over
// two; the queue itself: latency from schedule to start (idle workers woken by NOTIFY) and task
// claims per second with contending workers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zeroCommD } from '../src/chain/index.js';
import { ClusterSectors } from '../src/cluster/clusterSectors.js';
import { ClusterRegistry } from '../src/cluster/registry.js';
import { ClusterQueue, startTaskWorker } from '../src/cluster/taskQueue.js';
import { PROOF_PROFILES, type ProofProfileName } from '../src/proofs/index.js';
import { silentLogger } from '../src/util/logger.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { msSince, type BenchArea, type BenchRow } from './report.js';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** A `bcr worker` process; resolves once it has joined. */
function startWorker(url: string, name: string, storage: string[], children: ChildProcess[]): Promise<void> {
  for (const s of storage) mkdirSync(s, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--cluster', url, '--storage', storage.join(','), '--name', name, '--tasks', 'seal,prove'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('Worker joined the cluster')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}`)));
  });
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.splice(0).map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null) return resolve();
    c.removeAllListeners('exit');
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  })));
}

export const clusterBench: BenchArea = {
  name: 'cluster',
  async run(args) {
    const sectors = Number(option(args, '--sectors', '24'));
    const profile = option(args, '--profile', 'devnet') as ProofProfileName;
    const params = PROOF_PROFILES[profile];
    const pg = await startPostgres();
    const dir = mkdtempSync(join(tmpdir(), 'bcr-bench-cluster-'));
    const children: ChildProcess[] = [];
    const rows: BenchRow[] = [];
    const json: Record<string, number | string> = { profile, sectorBytes: params.sectorSize, sectors };
    try {
      const commD = zeroCommD(params.sectorSize);
      // Sealing: the same number of sectors through the node's side, with one worker and then two.
      const sealWith = async (miner: number, workers: string[]): Promise<number> => {
        for (const w of workers) await startWorker(pg.url, w, [join(dir, `${w}-disk`)], children);
        const node = await ClusterSectors.open({ cluster: pg.url, minerId: miner, profile, log: silentLogger });
        const start = process.hrtime.bigint();
        await Promise.all(Array.from({ length: sectors }, (_, n) => node.sealCommittedCapacity({ key: `seal:${miner}:${n}`, sector: n, sealRandomness: new Uint8Array(randomBytes(32)), commD })));
        const seconds = msSince(start) / 1000;
        await node.close();
        return (sectors / seconds) * 60;
      };
      const one = await sealWith(1, ['a1']);
      await stopWorkers(children);
      const two = await sealWith(2, ['b1', 'b2']);
      rows.push(
        { name: `seal ${sectors} sectors of ${params.sectorSize >> 10} KiB, 1 worker process`, value: one, unit: 'sectors/min' },
        { name: `seal ${sectors} sectors, 2 worker processes`, value: two, unit: 'sectors/min' },
        { name: '2 workers / 1 worker', value: two / one, unit: 'x', note: 'goal >= 1.7 on 2 cores' },
      );
      Object.assign(json, { sealOneWorkerPerMin: one, sealTwoWorkersPerMin: two, sealSpeedup: two / one });

      // WindowPoSt of miner 2's sectors: spread over b1 and b2 as sealed, then all asked of b1 alone
      // (b1 restarted with both disks, the index pointed at it). First answers build each replica's tree cache.
      const registry = await ClusterRegistry.open(pg.url);
      const node = await ClusterSectors.open({ cluster: pg.url, minerId: 2, profile, log: silentLogger });
      const placed = await registry.sectorsOf(2);
      const due = await Promise.all(placed.map(async (p) => ({ number: p.sector, commR: (await node.sealCommittedCapacity({ key: `seal:2:${p.sector}`, sector: p.sector, sealRandomness: new Uint8Array(32), commD })).commR })));
      const postMs = async () => {
        const start = process.hrtime.bigint();
        const { skipped } = await node.provePost('window', new Uint8Array(randomBytes(32)), due, 600_000);
        if (skipped.length > 0) throw new Error(`WindowPoSt skipped ${JSON.stringify(skipped)}`);
        return msSince(start);
      };
      const spreadCold = await postMs();
      const spreadWarm = await postMs();
      await stopWorkers(children);
      await startWorker(pg.url, 'b1', [join(dir, 'b1-disk'), join(dir, 'b2-disk')], children);
      for (const p of placed) await registry.placeSector({ ...p, worker: 'b1' });
      const oneCold = await postMs();
      const oneWarm = await postMs();
      rows.push(
        { name: `WindowPoSt of ${due.length} sectors, spread over 2 workers (first / again)`, value: spreadCold, unit: 'ms', note: `again ${spreadWarm.toFixed(0)} ms` },
        { name: `WindowPoSt of ${due.length} sectors, 1 worker (first / again)`, value: oneCold, unit: 'ms', note: `again ${oneWarm.toFixed(0)} ms` },
      );
      Object.assign(json, { windowPostSpreadMs: spreadCold, windowPostSpreadAgainMs: spreadWarm, windowPostOneMs: oneCold, windowPostOneAgainMs: oneWarm });
      await node.close();
      await registry.close();
      await stopWorkers(children);

      // The queue alone: an idle worker woken by NOTIFY, one task at a time (schedule -> start).
      const queue = await ClusterQueue.open(pg.url, silentLogger);
      let started: ((ms: number) => void) | null = null;
      const idle = await startTaskWorker({ connectionString: pg.url, name: 'idle', concurrency: 1, log: silentLogger, handlers: { seal: async (payload) => started?.(Date.now() - (payload as { t0: number }).t0) } });
      const latencies: number[] = [];
      for (let i = 0; i < 200; i++) {
        const done = new Promise<number>((resolve) => (started = resolve));
        await queue.schedule('seal', { t0: Date.now() });
        latencies.push(await done);
      }
      await idle.stop();
      latencies.sort((a, b) => a - b);
      rows.push(
        { name: 'task latency, schedule to start, idle worker (p50)', value: percentile(latencies, 50), unit: 'ms', note: '200 tasks one after another' },
        { name: 'task latency, schedule to start, idle worker (p99)', value: percentile(latencies, 99), unit: 'ms' },
      );
      Object.assign(json, { taskLatencyP50Ms: percentile(latencies, 50), taskLatencyP99Ms: percentile(latencies, 99) });

      // Claims per second: 2,000 queued no-op tasks drained by two contending workers of 4 slots each.
      const total = 2000;
      await Promise.all(Array.from({ length: total / 100 }, async (_, batch) => {
        for (let i = 0; i < 100; i++) await queue.schedule('seal', { n: batch * 100 + i });
      }));
      let ran = 0;
      let drained!: () => void;
      const allRan = new Promise<void>((resolve) => (drained = resolve));
      const noop = async () => {
        if (++ran === total) drained();
      };
      const start = process.hrtime.bigint();
      const runners = await Promise.all(['c1', 'c2'].map((name) => startTaskWorker({ connectionString: pg.url, name, concurrency: 4, log: silentLogger, handlers: { seal: noop } })));
      await allRan;
      const claims = total / (msSince(start) / 1000);
      await Promise.all(runners.map((r) => r.stop()));
      await queue.close();
      rows.push({ name: 'task claims, 2 workers x 4 slots contending', value: claims, unit: 'tasks/s', note: `${total} no-op tasks, each run once` });
      json.claimsPerSecond = claims;
    } finally {
      await stopWorkers(children);
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    return { rows, json };
  },
};
