// The cluster's task queue on a real PostgreSQL: two workers claiming 400 tasks under contention run
// each exactly once; a task for one worker runs only there; WinningPoSt jumps the sealing queue;
// a task whose worker fails is retried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterQueue, startTaskWorker, type TaskHandler } from '../../src/cluster/taskQueue.js';
import { silentLogger } from '../../src/util/logger.js';
import { waitFor } from '../helpers/process.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
let queue: ClusterQueue;
beforeAll(async () => {
  pg = await startPostgres();
  queue = await ClusterQueue.open(pg.url, silentLogger);
}, 60_000);
afterAll(async () => {
  await queue?.close();
  await pg?.stop();
});

const worker = (name: string, handlers: Parameters<typeof startTaskWorker>[0]['handlers'], concurrency = 4) => startTaskWorker({ connectionString: pg.url, name, handlers, concurrency, log: silentLogger, pollIntervalMs: 50 });

describe('cluster task queue', () => {
  it('runs each of 400 tasks exactly once across two contending workers', async () => {
    const runs = new Map<number, string[]>();
    const seal = (name: string): TaskHandler => async (payload) => {
      const n = (payload as { n: number }).n;
      runs.set(n, [...(runs.get(n) ?? []), name]);
    };
    for (let n = 0; n < 400; n++) await queue.schedule('seal', { n });
    const [a, b] = await Promise.all([worker('w1', { seal: seal('w1') }), worker('w2', { seal: seal('w2') })]);
    try {
      await waitFor('400 tasks run', async () => runs.size === 400, 60_000, 50);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect([...runs.values()].every((r) => r.length === 1)).toBe(true);
    const byW1 = [...runs.values()].filter((r) => r[0] === 'w1').length;
    expect(byW1).toBeGreaterThan(0);
    expect(byW1).toBeLessThan(400);
  }, 90_000);

  it('runs a task for one worker only there, puts WinningPoSt before sealing, and retries a failed task', async () => {
    const order: string[] = [];
    let failures = 0;
    for (let n = 0; n < 5; n++) await queue.schedule('seal', { n });
    await queue.schedule('winningPost', { slot: 9 });
    await queue.schedule('windowPost', { deadline: 3 }, { worker: 'w2' });
    await queue.schedule('unseal', { sector: 1 }, { maxAttempts: 3 });
    // w1 alone, one task at a time: it sees the queue in priority order and never the task for w2.
    const w1 = await worker('w1', {
      seal: async (p) => void order.push(`seal ${(p as { n: number }).n}`),
      winningPost: async () => void order.push('winningPost'),
      windowPost: async () => void order.push('windowPost at w1'),
      unseal: async (_p, task) => {
        if (task.attempt === 1) {
          failures++;
          throw new Error('disk busy');
        }
        order.push(`unseal attempt ${task.attempt}`);
      },
    }, 1);
    try {
      await waitFor('w1 done with what it may run', async () => order.filter((o) => o.startsWith('seal')).length === 5 && order.includes('winningPost'), 30_000, 50);
    } finally {
      await w1.stop();
    }
    expect(order[0]).toBe('winningPost');
    expect(order).not.toContain('windowPost at w1');
    const w2 = await worker('w2', { windowPost: async (p) => void order.push(`windowPost ${(p as { deadline: number }).deadline} at w2`), unseal: async (_p, task) => void order.push(`unseal attempt ${task.attempt}`) }, 1);
    try {
      await waitFor('w2 proved its deadline and the unseal retried', async () => order.includes('windowPost 3 at w2') && order.some((o) => o.startsWith('unseal attempt')), 60_000, 50);
    } finally {
      await w2.stop();
    }
    expect(failures).toBe(1);
    expect(order.filter((o) => o.startsWith('unseal attempt'))).toEqual(['unseal attempt 2']);
  }, 120_000);
});
