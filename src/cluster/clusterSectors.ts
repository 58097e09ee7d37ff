// The node's side of a cluster (`bcr node --cluster`): it schedules seals and proofs on the workers
// and trusts none of their answers unchecked. A PoSt part is verified against each sector's CommR
// here; a PoRep is verified by the sealing pipeline before its prove-commit. A worker whose proof
// does not verify is marked bad and its answers refused from then on. The node also frees the tasks
// of workers that stopped beating, so another worker retries them.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ClusterStatus, DueSector, RemoteSectors } from '../miner/remoteSectors.js';
import type { SkippedSector } from '../miner/windowPost.js';
import { errorMessage, fromHex, toHex } from '../primitives/index.js';
import { PROOF_PROFILES, checkPostSectors, decodePost, type PostKind, type ProofProfileName, type SectorPostProof } from '../proofs/index.js';
import type { Logger } from '../util/logger.js';
import { ClusterRegistry, RESULTS_CHANNEL, isHex32, type WorkerInfo } from './registry.js';
import { ClusterQueue } from './taskQueue.js';

/** How often dead workers' tasks are looked for and freed. */
const REAP_MS = 5_000;
/** Results nobody collected are kept this long (a node restarted mid-seal still finds its seal). */
const RESULT_KEEP_MS = 7 * 24 * 3600_000;
/** A remote seal refused from bad workers is asked again at most this many times. */
const SEAL_ATTEMPTS = 3;
/** A PoRep has until its pre-commit's prove window closes; this bounds the wait for one answer. */
const POREP_TIMEOUT_MS = 3600_000;

/** A failure to reach PostgreSQL at all (refused, reset, timed out, shutting down), not a query's error. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE)$/.test(code) || code.startsWith('08') || code === '57P01' || code === '57P03')) || /Connection terminated|connect ECONNREFUSED/.test(errorMessage(error));
}

export interface ClusterSectorsOptions {
  cluster: string;
  minerId: number;
  profile: ProofProfileName;
  log: Logger;
}

/** Waits for task results: woken by the workers' notifications, with a slow poll behind them. */
class ResultWaiter {
  private listener: pg.Client | null = null;
  private readonly wakers = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly cluster: string,
    private readonly registry: ClusterRegistry,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.cluster });
    client.on('notification', (message) => {
      for (const wake of this.wakers.get(message.payload ?? '') ?? []) wake();
    });
    client.on('error', (error) => {
      this.log.warn({ err: error.message }, 'Cluster result listener lost its connection: reconnecting');
      this.listener = null;
      this.retry();
    });
    await client.connect();
    await client.query(`listen ${RESULTS_CHANNEL}`);
    this.listener = client;
  }

  /** Reconnects every few seconds until it succeeds (results are polled meanwhile). */
  private retry(): void {
    if (this.closed) return;
    setTimeout(() => void this.start().catch(() => this.retry()), 3000).unref();
  }

  /** The result under `key` once a worker writes it; null after `timeoutMs`. */
  async wait(key: string, timeoutMs: number): Promise<{ worker: string; result: Record<string, unknown> } | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.registry.getResult(key).catch(() => null);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return null;
      await new Promise<void>((resolve) => {
        const wakers = this.wakers.get(key) ?? new Set();
        this.wakers.set(key, wakers);
        const done = () => {
          clearTimeout(timer);
          wakers.delete(done);
          if (wakers.size === 0) this.wakers.delete(key);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 1000));
        wakers.add(done);
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wakers of this.wakers.values()) for (const wake of wakers) wake();
    await this.listener?.end().catch(() => undefined);
  }
}

export class ClusterSectors implements RemoteSectors {
  private reaper: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly opts: ClusterSectorsOptions,
    readonly registry: ClusterRegistry,
    private readonly queue: ClusterQueue,
    private readonly results: ResultWaiter,
  ) {}

  static async open(opts: ClusterSectorsOptions): Promise<ClusterSectors> {
    const registry = await ClusterRegistry.open(opts.cluster);
    const queue = await ClusterQueue.open(opts.cluster, opts.log);
    const results = new ResultWaiter(opts.cluster, registry, opts.log);
    await results.start();
    const sectors = new ClusterSectors(opts, registry, queue, results);
    sectors.reaper = setInterval(() => void sectors.reap(), REAP_MS);
    sectors.reaper.unref();
    opts.log.info({ miner: opts.minerId }, 'Cluster connected: sealing and proving on its workers');
    return sectors;
  }

  private get params() {
    return PROOF_PROFILES[this.opts.profile];
  }

  /** Frees the tasks of workers that stopped beating (another worker retries them) and old results. */
  async reap(): Promise<void> {
    try {
      const locks = await this.registry.takeOrphanedLocks();
      if (locks.length > 0) {
        await this.queue.unlock(locks);
        this.opts.log.warn({ locks: locks.length }, 'Freed the tasks of workers that stopped: others retry them');
      }
      await this.registry.pruneResults(RESULT_KEEP_MS);
    } catch (error) {
      this.opts.log.warn({ err: errorMessage(error) }, 'Cluster housekeeping failed (database unreachable?)');
    }
  }

  async status(): Promise<ClusterStatus> {
    const [workers, tasks, running, sectors] = await Promise.all([this.registry.workers(), this.registry.taskCounts(), this.registry.running(), this.registry.sectorsOf(this.opts.minerId)]);
    return {
      workers: workers.map((w) => ({ name: w.name, host: w.host, alive: w.alive, badReason: w.badReason, tasks: w.tasks, lastSeenMs: w.lastSeenMs, storage: w.storage })),
      tasks,
      running: running.map((r) => ({ worker: r.worker, task: r.task, runningMs: r.runningMs })),
      sectors: sectors.map((s) => ({ sector: s.sector, worker: s.worker, path: s.path })),
    };
  }

  async holderOf(sector: number): Promise<string | null> {
    return (await this.registry.sectorLocation(this.opts.minerId, sector))?.worker ?? null;
  }

  private async workerStates(): Promise<Map<string, WorkerInfo>> {
    return new Map((await this.registry.workers()).map((w) => [w.name, w]));
  }

  async sealCommittedCapacity(request: { key: string; sector: number; sealRandomness: Uint8Array; commD: Uint8Array }): Promise<{ commR: Uint8Array; holder: string }> {
    for (let attempt = 0; attempt < SEAL_ATTEMPTS; attempt++) {
      const key = attempt === 0 ? request.key : `${request.key}#${attempt}`;
      let answer = await this.untilReachable(() => this.registry.getResult(key));
      if (!answer) {
        await this.untilReachable(() => this.queue.schedule('seal', { key, miner: this.opts.minerId, sector: request.sector, profile: this.opts.profile, sealRandomness: toHex(request.sealRandomness), commD: toHex(request.commD) }, { key, maxAttempts: 25 }));
        answer = await this.results.wait(key, Number.MAX_SAFE_INTEGER);
        if (!answer) throw new Error('the cluster connection closed while sealing');
      }
      const worker = (await this.untilReachable(() => this.workerStates())).get(answer.worker);
      if (worker?.badReason) {
        this.opts.log.warn({ sector: request.sector, worker: answer.worker, reason: worker.badReason }, 'Seal answered by a worker marked bad: asking again');
        continue;
      }
      const commR = answer.result.commR;
      if (!isHex32(commR)) throw new Error(`worker ${answer.worker} answered the seal of sector ${request.sector} without a CommR`);
      return { commR: fromHex(commR), holder: answer.worker };
    }
    throw new Error(`sector ${request.sector}: ${SEAL_ATTEMPTS} seals answered by workers marked bad`);
  }

  async provePorep(request: { key: string; holder: string; sector: number; seed: Uint8Array }): Promise<Uint8Array> {
    const worker = (await this.untilReachable(() => this.workerStates())).get(request.holder);
    if (worker?.badReason) throw new Error(`the holder ${request.holder} of sector ${request.sector} is marked bad (${worker.badReason})`);
    const answer = (await this.untilReachable(() => this.registry.getResult(request.key))) ?? (await this.untilReachable(() => this.ask('porep', request.holder, request.key, { sector: request.sector, seed: toHex(request.seed) }, POREP_TIMEOUT_MS)));
    if (!answer) throw new Error(`worker ${request.holder} gave no PoRep of sector ${request.sector} within ${POREP_TIMEOUT_MS / 60_000} min`);
    const proof = answer.result.proof;
    if (typeof proof !== 'string' || !/^0x[0-9a-fA-F]*$/.test(proof)) throw new Error(`worker ${request.holder} answered without a proof`);
    return fromHex(proof);
  }

  /**
   * Sealing waits out a lost database instead of failing: it retries every few seconds (a WindowPoSt
   * never waits here: it skips what it cannot reach and proves the node's own sectors).
   */
  private async untilReachable<T>(operation: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (this.closed || !isConnectionError(error)) throw error;
        if (attempt === 0) this.opts.log.warn({ err: errorMessage(error) }, 'Cluster database unreachable: sealing waits for it');
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
    }
  }

  /** Schedules a task for one worker and waits for its answer (null after `timeoutMs`, the task dropped if unclaimed). */
  private async ask(kind: 'porep' | 'windowPost' | 'winningPost', worker: string, key: string, fields: Record<string, unknown>, timeoutMs: number): Promise<{ worker: string; result: Record<string, unknown> } | null> {
    const jobId = await this.queue.schedule(kind, { key, miner: this.opts.minerId, profile: this.opts.profile, ...fields }, { worker, key, maxAttempts: 3 });
    const answer = await this.results.wait(key, timeoutMs);
    if (!answer) await this.queue.cancel(jobId).catch(() => undefined);
    return answer;
  }

  async provePost(kind: PostKind, randomness: Uint8Array, sectors: DueSector[], timeoutMs: number): Promise<{ proofs: Map<number, SectorPostProof>; skipped: SkippedSector[] }> {
    const proofs = new Map<number, SectorPostProof>();
    const skipped: SkippedSector[] = [];
    const skip = (list: DueSector[], reason: string) => list.forEach((s) => skipped.push({ sector: s.number, reason }));
    let workers: Map<string, WorkerInfo>;
    const byHolder = new Map<string, DueSector[]>();
    try {
      workers = await this.workerStates();
      const holders = new Map((await this.registry.sectorLocations(this.opts.minerId, sectors.map((s) => s.number))).map((s) => [s.sector, s.worker]));
      for (const sector of sectors) {
        const holder = holders.get(sector.number) ?? null;
        if (holder === null) skipped.push({ sector: sector.number, reason: 'no worker holds its replica' });
        else byHolder.set(holder, [...(byHolder.get(holder) ?? []), sector]);
      }
    } catch (error) {
      skip(sectors, `cluster database unreachable (${errorMessage(error)})`);
      return { proofs, skipped };
    }
    await Promise.all(
      [...byHolder].map(async ([holder, due]) => {
        const info = workers.get(holder);
        if (!info?.alive) return skip(due, `its holder ${holder} is down`);
        if (info.badReason) return skip(due, `its holder ${holder} is marked bad (${info.badReason})`);
        try {
          const key = `post:${kind}:${randomUUID()}`;
          const answer = await this.ask(kind === 'window' ? 'windowPost' : 'winningPost', holder, key, { kind, randomness: toHex(randomness), sectors: due.map((s) => ({ number: s.number, commR: toHex(s.commR) })) }, timeoutMs);
          if (!answer) return skip(due, `its holder ${holder} did not answer within ${timeoutMs} ms`);
          await this.registry.deleteResult(key).catch(() => undefined);
          const verified = await this.checkPostAnswer(kind, randomness, holder, due, answer.result);
          for (const sector of due) {
            const proof = verified.proofs.get(sector.number);
            if (proof) proofs.set(sector.number, proof);
            else skipped.push({ sector: sector.number, reason: verified.reasons.get(sector.number) ?? `its holder ${holder} did not prove it` });
          }
        } catch (error) {
          skip(due, `asking ${holder} failed: ${errorMessage(error)}`);
        }
      }),
    );
    return { proofs, skipped };
  }

  /** The parts of a worker's PoSt answer that verify; a part that does not marks the worker bad. */
  private async checkPostAnswer(kind: PostKind, randomness: Uint8Array, holder: string, due: DueSector[], result: Record<string, unknown>): Promise<{ proofs: Map<number, SectorPostProof>; reasons: Map<number, string> }> {
    const reasons = new Map<number, string>();
    for (const s of Array.isArray(result.skipped) ? (result.skipped as { sector?: unknown; reason?: unknown }[]) : []) {
      if (typeof s?.sector === 'number' && typeof s.reason === 'string') reasons.set(s.sector, `${holder}: ${s.reason.slice(0, 200)}`);
    }
    const proven = Array.isArray(result.proven) ? result.proven : [];
    const sectors = proven.map((n) => due.find((s) => s.number === n));
    let parts: SectorPostProof[] = [];
    let bad: string | null = null;
    try {
      if (typeof result.proof !== 'string' || sectors.some((s) => s === undefined)) throw new Error('an answer naming sectors it was not asked for');
      parts = decodePost(fromHex(result.proof));
      if (parts.length !== sectors.length) throw new Error(`${parts.length} proofs for ${sectors.length} sectors`);
    } catch (error) {
      bad = `a malformed PoSt answer (${errorMessage(error)})`;
    }
    const proofs = new Map<number, SectorPostProof>();
    if (!bad) {
      const valid = checkPostSectors(this.params, kind, randomness, sectors.map((s) => ({ sectorNumber: s!.number, commR: s!.commR })), parts);
      valid.forEach((ok, i) => (ok ? proofs.set(sectors[i]!.number, parts[i]!) : reasons.set(sectors[i]!.number, `${holder} returned a proof that does not verify`)));
      if (valid.some((ok) => !ok)) bad = `a ${kind} PoSt part that does not verify`;
    }
    if (bad) {
      await this.reportBad(holder, bad);
      for (const s of due) if (!proofs.has(s.number) && !reasons.has(s.number)) reasons.set(s.number, `${holder}: ${bad}`);
    }
    return { proofs, reasons };
  }

  async release(request: { holder: string; sector: number; what: 'scratch' | 'sector' }): Promise<void> {
    const key = `cleanup:${this.opts.minerId}:${request.sector}:${request.what}`;
    await this.queue.schedule('cleanup', { key, miner: this.opts.minerId, profile: this.opts.profile, sector: request.sector, what: request.what }, { worker: request.holder, key, maxAttempts: 10 });
  }

  async reportBad(worker: string, reason: string): Promise<void> {
    this.opts.log.error({ worker, reason }, 'Cluster worker answered with a proof that does not verify: its answers are refused from now on');
    await this.registry.markBad(worker, reason).catch((error: unknown) => this.opts.log.warn({ err: errorMessage(error) }, 'Marking the worker bad failed'));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reaper) clearInterval(this.reaper);
    await this.results.close();
    await this.queue.close();
    await this.registry.close();
  }
}
