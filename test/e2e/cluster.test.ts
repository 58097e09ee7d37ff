// A miner spread over three processes on a real PostgreSQL: `bcr node --cluster` and two `bcr worker`s.
// The node asks for 6 committed-capacity sectors; the workers seal them onto their own disks. One
// worker is SIGKILLed mid-seal: the node frees its task once it stops beating, and the other worker
// seals that sector. The killed worker rejoins under its name; from then on the node's WindowPoSts
// cover the sectors on both workers, each part proven by the worker whose disk holds the sector
// (verified by the node) and the node's own genesis sectors proven locally; power is exact. Without
// its database the node still proves its own sectors and skips the workers' (declared, not missed).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SectorLocation } from '../../src/cluster/registry.js';
import { ClusterRegistry } from '../../src/cluster/registry.js';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { tempDir } from '../helpers/chain.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { CLI, logEntries, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-cluster-e2e-');
let pg: TestPostgres;
let pgStopped = false;
let registry: ClusterRegistry;
let node: RunningNode | null = null;
const workers: Worker[] = [];

interface Worker {
  name: string;
  child: ChildProcessWithoutNullStreams;
  logs: Record<string, unknown>[];
}

beforeAll(async () => {
  pg = await startPostgres();
  registry = await ClusterRegistry.open(pg.url);
}, 60_000);
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  if (node) await stopProcess(node, 'SIGKILL');
  await registry?.close().catch(() => undefined);
  if (!pgStopped) await pg?.stop();
  dir.cleanup();
});

function startWorker(name: string): Worker {
  const storage = join(dir.path, `${name}-disk`);
  mkdirSync(storage, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--cluster', pg.url, '--storage', storage, '--name', name, '--tasks', 'seal,prove']);
  const worker: Worker = { name, child, logs: [] };
  let buffer = '';
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (process.env.BCR_TEST_LOGS) appendFileSync(join(process.env.BCR_TEST_LOGS, `worker-${name}-${child.pid}.log`), `${line}\n`);
      try {
        worker.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    if (process.env.BCR_TEST_LOGS) appendFileSync(join(process.env.BCR_TEST_LOGS, `worker-${name}-${child.pid}.log`), d.toString());
  });
  workers.push(worker);
  return worker;
}

/** [worker, alive, sectors held] per worker, from the sector index. */
const placedBy = (placed: SectorLocation[]) => ['w1', 'w2'].map((w) => [w, true, placed.filter((p) => p.worker === w).length]);

const SECTOR = 1n << 20n;
const PERIOD = 24;
const genesis = devnetGenesis({ miners: 1, sectors: [2], nowMs: Date.now(), startDelayMs: 3000, slotMs: 500, proofProfile: 'devnet', tag: 'cluster', minerParams: { provingPeriod: PERIOD, deadlines: 2, powerLookback: 2, randomnessLookback: 2 } });

type MinerJson = { power: string; sectors: { active: number } };
type SectorJson = { sector: number; state: string; deadline: number };

describe('a miner on a cluster of workers', () => {
  it('seals 6 sectors over two workers, finishes a killed worker\'s seal on the other, and proves each sector on its holder', async () => {
    const dataDir = join(dir.path, 'node');
    const w1 = startWorker('w1');
    startWorker('w2');
    node = await startNodeProcess([...prepareDevnetNode({ dataDir, genesisJson: devnetGenesisJson(genesis), index: 0, miners: 1, rpcPort: 0, p2pPort: 0, bootstrap: [] }), '--cluster', pg.url, '--metrics-port', '0'], 60_000);
    const url = node.rpcUrl;
    await waitFor('mining started', async () => logEntries(node!, 'Mining started').length > 0, 60_000);
    await waitFor('both workers up', async () => (await registry.workers()).filter((w) => w.alive).length === 2, 60_000, 100);

    const seal = await runCli(['miner', 'seal', '--count', '6', '--rpc', url, '--data-dir', dataDir]);
    expect(seal.code, seal.stderr).toBe(0);
    const numbers = [...seal.stdout.matchAll(/\d+/g)].map((m) => Number(m[0])).slice(0, 6);
    expect(numbers).toHaveLength(6);

    // w1 dies in the middle of its second seal (its first is done and stays on its disk).
    const claimed = await waitFor('w1 sealing its second sector', async () => w1.logs.filter((l) => l.msg === 'Sealing sector for the cluster')[1], 60_000, 2);
    w1.child.kill('SIGKILL');
    const killedSector = claimed.sector as number;
    const finished = await waitFor('the killed seal finished by w2', async () => (await registry.sectorsOf(1)).find((s) => s.sector === killedSector && s.worker === 'w2'), 120_000, 200);
    expect(finished.state).toBe('sealed');
    expect(logEntries(node, 'Freed the tasks of workers that stopped: others retry them').length).toBeGreaterThan(0);

    // w1 rejoins under its name with its disk (the sectors it sealed before dying are still there).
    const w1again = startWorker('w1');
    await waitFor('all 6 sectors on workers', async () => ((await registry.sectorsOf(1)).length === 6 ? true : null), 120_000, 200);
    await waitFor('8 sectors proven', async () => {
      const miner = await rpc<MinerJson>(url, 'bcr_getMiner', [1]);
      return BigInt(miner.power) === 8n * SECTOR && miner.sectors.active === 8;
    }, 180_000, 250);
    const placed = await registry.sectorsOf(1);
    expect(placed.map((p) => p.sector).sort((a, b) => a - b)).toEqual(numbers.sort((a, b) => a - b));
    expect(new Set(placed.map((p) => p.worker))).toEqual(new Set(['w1', 'w2']));

    // A proving period from now every cluster sector has been in a WindowPoSt part its holder proved,
    // and the node's WindowPoSts skipped nothing.
    const from = (await rpc<{ slot: number }>(url, 'bcr_chainHead')).slot;
    const windowParts = (w: Worker) => w.logs.filter((l) => l.msg === 'Proved sectors for the cluster' && l.kind === 'window');
    const before = new Map(workers.map((w) => [w, windowParts(w).length]));
    await waitFor('a proving period of WindowPoSts', async () => (await rpc<{ slot: number }>(url, 'bcr_chainHead')).slot > from + PERIOD + 2, 120_000, 250);
    const provenBy = new Map<number, string>();
    for (const w of [w1again, workers[1]!]) for (const l of windowParts(w).slice(before.get(w))) for (const n of l.sectors as number[]) provenBy.set(n, w.name);
    for (const p of placed) expect([p.sector, provenBy.get(p.sector)]).toEqual([p.sector, p.worker]);
    const sectors = await rpc<SectorJson[]>(url, 'bcr_getSectors', [1]);
    expect(sectors.filter((s) => s.state === 'active')).toHaveLength(8);
    const miner = await rpc<MinerJson>(url, 'bcr_getMiner', [1]);
    expect(BigInt(miner.power)).toBe(8n * SECTOR);
    const submitted = logEntries<{ sectors: number; skipped: number; slot?: number }>(node, 'Submitted WindowPoSt');
    expect(submitted.length).toBeGreaterThan(0);
    expect(logEntries(node, 'Cluster worker answered with a proof that does not verify: its answers are refused from now on')).toHaveLength(0);

    const status = JSON.parse((await runCli(['cluster', 'status', '--cluster', pg.url, '--json'])).stdout) as { workers: { name: string; alive: boolean }[]; sectors: { worker: string; sectors: number }[] };
    expect(status.workers.map((w) => [w.name, w.alive])).toEqual([['w1', true], ['w2', true]]);
    expect(status.sectors.reduce((n, s) => n + s.sectors, 0)).toBe(6);
    const text = (await runCli(['cluster', 'status', '--cluster', pg.url, '--rpc', url])).stdout;
    expect(text).toMatch(/^w1 \(.*\)  up  tasks seal,porep,windowPost,winningPost/m);
    expect(text).toMatch(/^deadline \d of period \d+ \(slots \d+-\d+\): .*1 on the node/m);

    // The same from the node: its RPC, Prometheus metrics and the explorer's miner page.
    const viaRpc = await rpc<{ workers: { name: string; alive: boolean; sectors: number }[]; windows: { provers: { worker: string; sectors: number }[] }[] }>(url, 'bcr_clusterStatus');
    expect(viaRpc.workers.map((w) => [w.name, w.alive, w.sectors])).toEqual(placedBy(placed));
    expect(viaRpc.windows.flatMap((w) => w.provers).reduce((n, p) => n + p.sectors, 0)).toBe(8);
    const metricsUrl = await waitFor('the metrics address', async () => logEntries<{ url: string }>(node!, 'Metrics listening')[0]?.url);
    const families = parsePrometheus(await (await fetch(metricsUrl)).text());
    const sample = (name: string, labels: Record<string, string>) => Number(families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => (m as { labels?: Record<string, string> }).labels?.[k] === v))?.value ?? Number.NaN);
    expect(sample('bcr_cluster_workers', { state: 'up' })).toBe(2);
    expect(sample('bcr_cluster_sectors', { worker: 'w1' }) + sample('bcr_cluster_sectors', { worker: 'w2' })).toBe(6);
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${url}explorer/#/miner/1`);
      const workersTable = page.getByTestId('cluster-workers');
      await workersTable.waitFor({ timeout: 30_000 });
      expect(await workersTable.innerText()).toMatch(/w1\s+up[\s\S]*w2\s+up/);
      expect(await page.getByTestId('cluster-windows').innerText()).toMatch(/this node: 1/);
      expect(await page.getByTestId('miner-sectors').innerText()).toMatch(/held by/);
    } finally {
      await browser.close();
    }

    // The database goes away: the node keeps proving its own sectors; the workers' are skipped, not missed.
    const submittedBefore = logEntries(node, 'Submitted WindowPoSt').length;
    await registry.close();
    await pg.stop();
    pgStopped = true;
    const degraded = await waitFor('a WindowPoSt without the cluster', async () => logEntries<{ sectors: number; skipped: number }>(node!, 'Submitted WindowPoSt').slice(submittedBefore).find((e) => e.skipped > 0), 60_000, 250);
    expect(degraded.sectors).toBeGreaterThanOrEqual(1); // the node's genesis sector of that deadline
    expect(degraded.sectors + degraded.skipped).toBe(4);
    expect(node.process.exitCode).toBeNull();
  }, 420_000);
});
