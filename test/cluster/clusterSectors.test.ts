// The node's side of a cluster against a real PostgreSQL and a real worker: a committed-capacity seal
// and its PoRep come back from the worker and verify; a WindowPoSt over sectors on three holders takes
// the honest worker's part, skips a holder that is down, and refuses a lying worker (a proof it
// precomputed on other randomness): that sector is skipped with the reason, the worker marked bad,
// and its next answer refused without asking. A seal with a forged CommR fails the node's PoRep check
// and is sealed again on an honest worker. Tasks of a worker that stopped beating are freed.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroCommD } from '../../src/chain/index.js';
import { ClusterSectors } from '../../src/cluster/clusterSectors.js';
import { ClusterRegistry } from '../../src/cluster/registry.js';
import { startTaskWorker, type TaskHandler, type TaskKind } from '../../src/cluster/taskQueue.js';
import { minerDir, startClusterWorker } from '../../src/cluster/worker.js';
import { sealChecked } from '../../src/miner/remoteSectors.js';
import { SectorStore } from '../../src/miner/sectorStore.js';
import { fromHex, toHex } from '../../src/primitives/index.js';
import { PROOF_PROFILES, provePost, replicaIdOf, verifyPorep } from '../../src/proofs/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../helpers/chain.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/process.js';

const MINER = 9;
const params = PROOF_PROFILES.test;
const dir = tempDir('bcr-cluster-node-');
let pg: TestPostgres;
let registry: ClusterRegistry;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  registry = await ClusterRegistry.open(pg.url);
}, 60_000);
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await registry?.close();
  await pg?.stop();
  dir.cleanup();
});

/** A worker of the test's own making: handlers that answer as it likes (a liar, a forger). */
function fakeWorker(name: string, handlers: Partial<Record<TaskKind, TaskHandler>>) {
  return startTaskWorker({ connectionString: pg.url, name, concurrency: 1, log: silentLogger, pollIntervalMs: 50, handlers });
}

describe('ClusterSectors (the node side)', () => {
  it('takes verified seals and proofs from an honest worker, skips a holder that is down, and refuses a liar', async () => {
    const node = await ClusterSectors.open({ cluster: pg.url, minerId: MINER, profile: 'test', log: silentLogger });
    stops.push(() => node.close());
    const honestDisk = join(dir.path, 'honest');
    mkdirSync(honestDisk, { recursive: true });
    const honest = await startClusterWorker({ cluster: pg.url, name: 'honest', storage: [honestDisk], tasks: ['seal', 'porep', 'windowPost', 'winningPost'], concurrency: 1, log: silentLogger, pollIntervalMs: 100 });
    let honestStopped = false;
    stops.push(() => (honestStopped ? Promise.resolve() : honest.stop()));

    // A seal through the queue; the PoRep of the sealed sector on a chain seed verifies.
    const commD = zeroCommD(params.sectorSize);
    const sealRandomness = new Uint8Array(randomBytes(32));
    const sealed = await node.sealCommittedCapacity({ key: 'seal:9:1:0', sector: 1, sealRandomness, commD });
    expect(sealed.holder).toBe('honest');
    expect(await node.holderOf(1)).toBe('honest');
    const seed = new Uint8Array(randomBytes(32));
    const porep = await node.provePorep({ key: 'porep:9:1:x', holder: 'honest', sector: 1, seed });
    expect(verifyPorep({ params, replicaId: replicaIdOf(MINER, 1, sealRandomness, commD), commD, commR: sealed.commR, seed }, porep)).toBeNull();

    // The liar holds a real replica of sector 2 but answers with a proof it made on other randomness.
    const liarStore = new SectorStore(join(dir.path, 'liar'), params);
    const liarSector = await liarStore.sealCommittedCapacity(MINER, 2, new Uint8Array(32).fill(2), commD);
    await registry.register({ name: 'liar', host: 'elsewhere', tasks: ['windowPost'], concurrency: 1 }, []);
    await registry.placeSector({ miner: MINER, sector: 2, worker: 'liar', path: liarStore.dir, state: 'sealed' });
    let liarAsked = 0;
    const liar = await fakeWorker('liar', {
      windowPost: async (payload) => {
        liarAsked++;
        const { key } = payload as { key: string };
        const stale = await provePost(params, 'window', new Uint8Array(32), [await liarStore.provable(2)]);
        await registry.putResult(key, 'liar', { proof: toHex(stale), proven: [2], skipped: [] });
      },
    });
    stops.push(() => liar.stop(), () => liarStore.close());
    // Sector 3 is on a worker that never joined (down).
    await registry.placeSector({ miner: MINER, sector: 3, worker: 'gone', path: '/nowhere', state: 'sealed' });

    const randomness = new Uint8Array(randomBytes(32));
    const due = [
      { number: 1, commR: sealed.commR },
      { number: 2, commR: fromHex(liarSector.meta.commR) },
      { number: 3, commR: new Uint8Array(32).fill(3) },
    ];
    const first = await node.provePost('window', randomness, due, 30_000);
    expect([...first.proofs.keys()]).toEqual([1]);
    expect(first.skipped.map((s) => [s.sector, s.reason]).sort()).toEqual([
      [2, 'liar returned a proof that does not verify'],
      [3, 'its holder gone is down'],
    ]);
    const liarInfo = (await registry.workers()).find((w) => w.name === 'liar')!;
    expect(liarInfo.badReason).toMatch(/does not verify/);

    // Refused from now on, without being asked.
    const second = await node.provePost('window', randomness, due.slice(1, 2), 30_000);
    expect(second.proofs.size).toBe(0);
    expect(second.skipped[0]!.reason).toMatch(/^its holder liar is marked bad/);
    expect(liarAsked).toBe(1);

    // The node frees the honest worker's disk: sealing scratch first, then (the chain done with it) the sector.
    const sectorDir = join(minerDir(honestDisk, MINER), 'sectors', '1');
    expect(readdirSync(sectorDir).some((f) => /^labels-\d+\.bin$/.test(f))).toBe(true);
    await node.release({ holder: 'honest', sector: 1, what: 'scratch' });
    await waitFor('the labels deleted', async () => !readdirSync(sectorDir).some((f) => /^labels-\d+\.bin$/.test(f)), 30_000, 50);
    expect(existsSync(join(sectorDir, 'replica.bin'))).toBe(true);
    await node.release({ holder: 'honest', sector: 1, what: 'sector' });
    await waitFor('the sector deleted and out of the index', async () => !existsSync(sectorDir) && (await node.holderOf(1)) === null, 30_000, 50);
    honestStopped = true;
    await honest.stop();
  }, 120_000);

  it('checks a seal with a fresh PoRep before relying on it: a forged CommR marks its worker bad and the sector is sealed again elsewhere', async () => {
    const node = await ClusterSectors.open({ cluster: pg.url, minerId: MINER, profile: 'test', log: silentLogger });
    stops.push(() => node.close());
    // The forger answers seals at once with a made-up CommR, and PoReps with bytes of no proof.
    let forged = 0;
    const forger = await fakeWorker('forger', {
      seal: async (payload) => {
        // One forgery; a later seal it happens to claim before it stops goes back to the queue.
        if (forged > 0) throw new Error('the forger takes no more seals');
        forged++;
        await registry.putResult((payload as { key: string }).key, 'forger', { commR: toHex(new Uint8Array(randomBytes(32))) });
      },
      porep: async (payload) => registry.putResult((payload as { key: string }).key, 'forger', { proof: toHex(new Uint8Array(randomBytes(200))) }),
    });
    stops.push(() => forger.stop());
    await registry.register({ name: 'forger', host: 'elsewhere', tasks: ['seal', 'porep'], concurrency: 1 }, []);
    const commD = zeroCommD(params.sectorSize);
    const sealRandomness = new Uint8Array(randomBytes(32));
    const sealing = sealChecked(node, params, MINER, { key: 'seal:9:5:0', sector: 5, sealRandomness, commD });
    // The node asks the forger for its PoRep check, and marks it bad when that fails to verify.
    await waitFor('the forger marked bad', async () => forged > 0 && (await registry.workers()).find((w) => w.name === 'forger')?.badReason, 30_000, 20);
    await forger.stop();
    const honestDisk = join(dir.path, 'honest2');
    mkdirSync(honestDisk, { recursive: true });
    const honest = await startClusterWorker({ cluster: pg.url, name: 'honest2', storage: [honestDisk], tasks: ['seal', 'porep'], concurrency: 1, log: silentLogger, pollIntervalMs: 100 });
    stops.push(() => honest.stop());
    const sealed = await sealing;
    expect(sealed.holder).toBe('honest2');
    const local = new SectorStore(join(dir.path, 'check'), params);
    expect(toHex(sealed.commR)).toBe(`0x${(await local.sealCommittedCapacity(MINER, 5, sealRandomness, commD)).meta.commR}`);
    await local.close();
    expect((await registry.workers()).find((w) => w.name === 'forger')!.badReason).toMatch(/fails a PoRep check \(MALFORMED\)/);
    expect(await node.holderOf(5)).toBe('honest2');
  }, 120_000);

  it('frees the tasks a worker held when it stopped beating', async () => {
    const registryLocks = await registry.takeOrphanedLocks();
    expect(registryLocks).toEqual([]);
    await registry.register({ name: 'crashed', host: 'h', tasks: ['seal'], concurrency: 1 }, []);
    await registry.taskStarted('job-1', 'crashed', 'worker-abc', 'seal');
    expect(await registry.takeOrphanedLocks()).toEqual([]); // still beating
    expect(await registry.takeOrphanedLocks('crashed')).toEqual(['worker-abc']); // rejoining under its name
    expect(await registry.running()).toEqual([]);
  });
});
