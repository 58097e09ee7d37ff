// `bcr worker` processes on a real PostgreSQL: two workers join with their disks (seen by `bcr
// cluster status`), seal the sectors the queue hands them onto their own disks, record where each
// sector is and its commitments, and stop cleanly on SIGTERM.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroCommD } from '../../src/chain/index.js';
import { ClusterRegistry, type WorkerInfo } from '../../src/cluster/registry.js';
import { ClusterQueue } from '../../src/cluster/taskQueue.js';
import { SectorStore } from '../../src/miner/sectorStore.js';
import { minerDir, startClusterWorker } from '../../src/cluster/worker.js';
import { toHex } from '../../src/primitives/index.js';
import { PROOF_PROFILES, ScratchFiles, SectorFiles } from '../../src/proofs/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../helpers/chain.js';
import { CLI, runCli, waitFor } from '../helpers/process.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const dir = tempDir('bcr-cluster-');
let pg: TestPostgres;
let queue: ClusterQueue;
let registry: ClusterRegistry;
const workers: { child: ChildProcessWithoutNullStreams; out: string[] }[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  queue = await ClusterQueue.open(pg.url, silentLogger);
  registry = await ClusterRegistry.open(pg.url);
}, 60_000);
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await queue?.close();
  await registry?.close();
  await pg?.stop();
  dir.cleanup();
});

function startWorker(name: string, storage: string[]): { child: ChildProcessWithoutNullStreams; out: string[] } {
  for (const s of storage) mkdirSync(s, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--cluster', pg.url, '--storage', storage.join(','), '--name', name, '--tasks', 'seal']);
  const out: string[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
  const worker = { child, out };
  workers.push(worker);
  return worker;
}

describe('bcr worker', () => {
  it('joins with its disks, seals the sectors it claims onto them, records where they are, and stops on SIGTERM', async () => {
    const w1 = startWorker('w1', [join(dir.path, 'w1-a'), join(dir.path, 'w1-b')]);
    const w2 = startWorker('w2', [join(dir.path, 'w2-a')]);
    const status = async () => JSON.parse((await runCli(['cluster', 'status', '--cluster', pg.url, '--json'])).stdout) as { workers: WorkerInfo[] };
    const joined = await waitFor('both workers up', async () => {
      const s = await status();
      return s.workers.filter((w) => w.alive).length === 2 ? s : null;
    }, 60_000, 250);
    expect(joined.workers.map((w) => [w.name, w.tasks, w.storage.length])).toEqual([['w1', ['seal'], 2], ['w2', ['seal'], 1]]);
    expect(joined.workers.every((w) => w.storage.every((s) => s.capacityBytes > 0 && s.freeBytes > 0))).toBe(true);

    const params = PROOF_PROFILES.test;
    const commD = zeroCommD(params.sectorSize);
    const randomness = [1, 2, 3, 4].map(() => new Uint8Array(randomBytes(32)));
    for (let sector = 1; sector <= 4; sector++) {
      await queue.schedule('seal', { key: `seal/7/${sector}`, miner: 7, sector, profile: 'test', sealRandomness: toHex(randomness[sector - 1]!), commD: toHex(commD) }, { key: `seal/7/${sector}` });
    }
    const results = await waitFor('four sealed sectors', async () => {
      const all = await Promise.all([1, 2, 3, 4].map((s) => registry.getResult(`seal/7/${s}`)));
      return all.every(Boolean) ? all : null;
    }, 120_000, 250);

    // Each commitment is what sealing the same inputs here gives; each sector is where the index says.
    const local = new SectorStore(join(dir.path, 'check'), params);
    const placed = await registry.sectorsOf(7);
    for (let sector = 1; sector <= 4; sector++) {
      const sealed = await local.sealCommittedCapacity(7, sector, randomness[sector - 1]!, commD);
      expect(results[sector - 1]!.result.commR).toBe(`0x${sealed.meta.commR}`);
      const at = placed.find((p) => p.sector === sector)!;
      expect(at.worker).toBe(results[sector - 1]!.worker);
      expect(joined.workers.find((w) => w.name === at.worker)!.storage.map((s) => s.path)).toContain(at.path);
      expect(existsSync(join(minerDir(at.path, 7), 'sectors', String(sector)))).toBe(true);
    }
    await local.close();

    for (const w of [w1, w2]) w.child.kill('SIGTERM');
    const codes = await Promise.all([w1, w2].map((w) => new Promise<number | null>((resolve) => (w.child.exitCode !== null ? resolve(w.child.exitCode) : w.child.once('exit', resolve)))));
    expect(codes).toEqual([0, 0]);
    expect(w1.out.join('\n')).toMatch(/Worker stopped/);
  }, 180_000);

  it('resumes a seal at the last finished layer when its files are on one of its disks (a crash, or shared storage)', async () => {
    const params = PROOF_PROFILES.test;
    const commD = zeroCommD(params.sectorSize);
    const sealRandomness = new Uint8Array(randomBytes(32));
    const shared = join(dir.path, 'shared');
    // A seal that died after its first layer was made durable (the labelling stops at layer 2).
    const first = new SectorStore(minerDir(shared, 11), params);
    await expect(first.sealCommittedCapacity(11, 1, sealRandomness, commD, (p) => {
      if (p.phase === 'labels' && p.layer === 2) throw new Error('power cut');
    })).rejects.toThrow('power cut');
    await first.close();
    expect(existsSync(join(minerDir(shared, 11), 'sectors', '1', ScratchFiles.progress))).toBe(true);
    const layerOne = join(minerDir(shared, 11), 'sectors', '1', SectorFiles.layer(1));
    const layerOneWritten = statSync(layerOne).mtimeMs;

    const lines: { msg: string; layer?: number; sector?: number }[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as { msg: string }), done()) }));
    const worker = await startClusterWorker({ cluster: pg.url, name: 'resumer', storage: [join(dir.path, 'empty-disk'), shared].map((d) => (mkdirSync(d, { recursive: true }), d)), tasks: ['seal'], concurrency: 1, log, pollIntervalMs: 100 });
    try {
      await queue.schedule('seal', { key: 'seal/11/1', miner: 11, sector: 1, profile: 'test', sealRandomness: toHex(sealRandomness), commD: toHex(commD) }, { key: 'seal/11/1' });
      const result = await waitFor('the resumed seal', () => registry.getResult('seal/11/1'), 60_000, 100);
      const fresh = new SectorStore(join(dir.path, 'fresh'), params);
      expect(result.result.commR).toBe(`0x${(await fresh.sealCommittedCapacity(11, 1, sealRandomness, commD)).meta.commR}`);
      await fresh.close();
      expect((await registry.sectorsOf(11))[0]!.path).toBe(shared);
      // Layer 1 was not labelled again: its file is the one written before the cut.
      expect(statSync(layerOne).mtimeMs).toBe(layerOneWritten);
      expect(lines.some((l) => l.msg === 'Sealed sector for the cluster' && l.sector === 1)).toBe(true);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});

