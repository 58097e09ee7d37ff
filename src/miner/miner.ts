// The miner loop: a slot clock; in each slot, try to win the election (VRF ticket + WinningPoSt from
// the local replicas) and make a block; watch the miner's deadlines and submit each WindowPoSt in its
// window. Consensus rules live in chain/ and state/; this is scheduling and IO.
import { slotAt, slotStart } from '../consensus/index.js';
import { claimSlot, zeroCommD, type ChainStore, type GenesisMiner } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { addressOf, bytesEqual, encode, errorMessage, hexKey, isBcrError } from '../primitives/index.js';
import { provePost } from '../proofs/index.js';
import { genesisSealRandomness } from '../chain/index.js';
import { SectorState, allProven, currentDeadline, deadlineSectors, declareRecoveriesKind, getMiner, getSector, byPartition, provableSectors, sectorListPayload, signTx, submitWindowPostKind, submitWindowPostPayload, windowPostRandomness, type ProvableSectorRef } from '../state/index.js';
import type { BlockIndex } from './blockIndex.js';
import type { PieceIndex } from './pieceIndex.js';
import { SealingPipeline } from './sealing.js';
import { submitLocalTx } from './localTx.js';
import type { SectorStore } from './sectorStore.js';
import type { MinerEvent } from './events.js';
import { SectorProver, type RemoteSectors } from './remoteSectors.js';
import { DeadlineWatchdog, defaultWatchdogSettings, type WatchdogSettings } from './watchdog.js';
import type { Metrics } from '../metrics/index.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

export interface MinerOptions {
  chain: ChainStore;
  mempool: Mempool;
  store: SectorStore;
  /** Where the pieces of this miner's deals sit (for retrieval). */
  pieces: PieceIndex;
  /** Where the IPFS blocks of the CARs among those pieces sit (for the gateway; none in benches). */
  blocks?: BlockIndex | null;
  minerId: number;
  workerKey: Uint8Array;
  vrfSecret: Uint8Array;
  clock: Clock;
  log: Logger;
  metrics?: Metrics | null;
  /** Computes a PoSt (default: provePost); a test may slow it down to play a slow disk. */
  prover?: typeof provePost;
  /** Sectors sealed and held by a cluster's workers (bcr node --cluster); none by default. */
  remote?: RemoteSectors | null;
  watchdog?: Partial<WatchdogSettings>;
}

export class MinerService {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private inFlight: Promise<void> = Promise.resolve();
  /** The WindowPoSt tx this node sent per "period:deadline" window, to watch until it lands. */
  private readonly submitted = new Map<string, { txId: Uint8Array; randomness: Uint8Array; nonce: number; gasPrice: bigint }>();
  readonly worker: Uint8Array;
  readonly sealing: SealingPipeline;
  readonly pieces: PieceIndex;
  readonly blocks: BlockIndex | null;
  private readonly listeners: ((event: MinerEvent) => void)[] = [];
  readonly watchdog: DeadlineWatchdog;
  /** The WindowPoSt being computed, off the slot loop (one at a time). */
  private proving: Promise<void> | null = null;
  /** Proves sectors where their replicas are: the local store or a cluster worker. */
  readonly prover: SectorProver;

  /** Won slots, WindowPoSts, faults and recoveries, for subscribers. */
  onEvent(listener: (event: MinerEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(kind: MinerEvent['kind'], fields: Record<string, unknown>): void {
    for (const listener of this.listeners) listener({ miner: this.opts.minerId, kind, ...fields });
  }

  constructor(private readonly opts: MinerOptions) {
    this.worker = addressOf(opts.workerKey);
    this.pieces = opts.pieces;
    this.blocks = opts.blocks ?? null;
    this.sealing = new SealingPipeline(opts.chain, opts.mempool, opts.store, opts.pieces, opts.minerId, opts.workerKey, opts.log, opts.remote ?? null);
    this.prover = new SectorProver(opts.store.params, opts.store, opts.remote ?? null, opts.prover ?? provePost);
    this.watchdog = new DeadlineWatchdog({
      chain: opts.chain,
      minerId: opts.minerId,
      checkReplica: (sector) => this.prover.check(sector, this.windowMs()),
      emit: (kind, fields) => this.emit(kind, fields),
      metrics: opts.metrics ?? null,
      log: opts.log,
      settings: { ...defaultWatchdogSettings(opts.chain.params.miners), ...opts.watchdog },
    });
  }

  /** How long a remote holder has to answer a WindowPoSt (half a deadline window). */
  private windowMs(): number {
    const { params } = this.opts.chain;
    return Math.max(params.slotMs, Math.floor((params.miners.provingPeriod / params.miners.deadlines / 2) * params.slotMs));
  }

  /** The cluster of workers this miner seals and proves on (bcr node --cluster), if any. */
  get remote(): RemoteSectors | null {
    return this.opts.remote ?? null;
  }

  get minerId(): number {
    return this.opts.minerId;
  }

  /** The worker key this miner signs blocks and proofs with. */
  get workerKey(): Uint8Array {
    return this.opts.workerKey;
  }

  /** Regenerates the genesis miner's sectors from its seed (first start) and checks their CommRs. */
  async ensureGenesisSectors(genesis: GenesisMiner): Promise<void> {
    const { store, minerId, log } = this.opts;
    const commD = zeroCommD(store.params.sectorSize);
    for (const [number, expected] of genesis.sectors.entries()) {
      if (await store.has(number)) continue;
      log.info({ sector: number, of: genesis.sectors.length, bytes: store.params.sectorSize }, 'Sealing genesis sector');
      const sealed = await store.sealCommittedCapacity(minerId, number, genesisSealRandomness(genesis.seed, number), commD);
      if (sealed.meta.commR !== hexKey(expected.commR)) throw new Error(`genesis sector ${number} regenerated to another CommR: wrong seed for this genesis`);
    }
  }

  start(): void {
    this.stopped = false;
    this.scheduleNext();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
    await this.proving;
    await this.sealing.flushed();
    await this.opts.store.close();
    await this.opts.remote?.close();
    this.opts.blocks?.close();
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const { chain, clock } = this.opts;
    const now = clock.now();
    const nextSlot = Math.max(slotAt(chain.params, now) + 1, chain.head.header.slot + 1);
    const delay = Math.max(0, slotStart(chain.params, nextSlot) - now);
    this.timer = setTimeout(() => {
      this.inFlight = this.onSlot(nextSlot).finally(() => this.scheduleNext());
    }, delay);
  }

  async onSlot(slot: number): Promise<void> {
    await this.tryProduce(slot);
    await this.proveDeadline(slot);
    await this.watchdog.onSlot(slot).catch((error: unknown) => this.opts.log.warn({ err: errorMessage(error) }, 'Deadline watchdog failed'));
    await this.declareRecoveries(slot);
    await this.sealing.tick();
    await this.watchPower();
    if (slot % 10 === 0) await this.removeDeadSectors().catch((error: unknown) => this.opts.log.warn({ err: errorMessage(error) }, 'Removing dead sectors failed'));
  }

  /** Height at which each local sector was first seen terminated or expired (deleted a finality later). */
  private readonly deadSince = new Map<number, number>();

  /**
   * Files of sectors the chain terminated or let expire are deleted once that is final: nothing
   * will prove them again. A sector still sealing or waiting for its pre-commit is never touched.
   */
  private async removeDeadSectors(): Promise<void> {
    const { chain, store, log, minerId } = this.opts;
    const state = chain.headState();
    const miner = await getMiner(state, minerId);
    if (!miner) return;
    const height = chain.head.header.height;
    const remote = this.opts.remote ? (await this.opts.remote.status()).sectors : [];
    const holders = new Map(remote.map((s) => [s.sector, s.worker]));
    for (const number of [...(await store.list()), ...holders.keys()]) {
      const job = this.sealing.jobs.get(number);
      const sector = await getSector(state, minerId, number);
      const gone = sector ? sector.state === SectorState.terminated : number < miner.nextSector && (!job || job.status === 'failed' || job.status === 'active');
      if (!gone) {
        this.deadSince.delete(number);
        continue;
      }
      const since = this.deadSince.get(number) ?? height;
      this.deadSince.set(number, since);
      if (height - since < chain.params.finality) continue;
      const holder = holders.get(number);
      if (holder !== undefined && !(await store.has(number))) {
        await this.opts.remote!.release({ holder, sector: number, what: 'sector' });
        this.deadSince.delete(number);
        log.info({ sector: number, holder, reason: sector ? 'terminated' : 'expired' }, 'Sector files to be deleted on their worker: the chain no longer holds the sector');
        continue;
      }
      const freed = await store.remove(number);
      this.deadSince.delete(number);
      log.info({ sector: number, bytesFreed: freed, reason: sector ? 'terminated' : 'expired' }, 'Deleted the files of a sector the chain no longer holds');
    }
  }

  private lastPower: bigint | null = null;

  /** Tells the operator when proven power changes (faults, recoveries, new sectors). */
  private async watchPower(): Promise<void> {
    const miner = await getMiner(this.opts.chain.headState(), this.opts.minerId);
    if (!miner) return;
    if (this.lastPower !== null && miner.power !== this.lastPower) {
      const fields = { from: this.lastPower.toString(), to: miner.power.toString(), height: this.opts.chain.head.header.height };
      if (miner.power < this.lastPower) {
        this.opts.log.warn(fields, 'Proven power dropped: sectors faulty or terminated');
        this.emit('fault', fields);
      } else {
        this.opts.log.info(fields, 'Proven power grew');
        this.emit('recovery', fields);
      }
    }
    this.lastPower = miner.power;
  }

  /** Makes a block for `slot` if this miner wins it on the current head. */
  async tryProduce(slot: number): Promise<boolean> {
    const { chain, mempool, store, clock, log, minerId } = this.opts;
    if (chain.head.header.slot >= slot) return false;
    const parentId = chain.head.id;
    try {
      const ticket = await claimSlot(chain.headState(), chain.params, minerId, this.opts.vrfSecret, chain.head.header.height, slot);
      if (!ticket) return false;
      const winningPost = this.opts.remote ? await this.proveWinningAnywhere(ticket.postRandomness, ticket.sectors) : await provePost(store.params, 'winning', ticket.postRandomness, await Promise.all(ticket.sectors.map((s) => store.provable(s.sectorNumber))));
      const candidates = await mempool.selectForBlock(chain.params.maxTxsPerBlock);
      const start = slotStart(chain.params, slot);
      const timestamp = Math.max(start, Math.min(clock.now(), start + chain.params.slotMs - 1));
      const { block, rejected } = await chain.buildBlock(parentId, { workerKey: this.opts.workerKey, minerId, slot, timestamp, ticket, winningPost, candidates });
      for (const { tx, error } of rejected) {
        if (error.code === 'EXECUTION_FAILED') log.error({ tx: hexKey(tx.id), kind: tx.kind.name, err: error.message }, 'A tx handler failed unexpectedly: tx left out of the block');
        else log.debug({ tx: hexKey(tx.id), code: error.code }, 'Skipped tx while packing');
      }
      const outcome = await chain.importBlock(block, clock.now());
      if (outcome.status === 'head') {
        log.info({ height: block.header.height, slot, txs: block.txs.length }, 'Won slot, produced block');
        this.emit('wonSlot', { slot, height: block.header.height, txs: block.txs.length });
      }
      return outcome.status === 'head';
    } catch (error) {
      // A block arrived while this one was prepared: the slot is tried again on the new head.
      if (isBcrError(error) && error.code === 'HEAD_MOVED') {
        log.debug({ slot }, 'Head moved while producing: not built');
        return false;
      }
      log.warn({ slot, err: errorMessage(error) }, 'Block production failed');
      return false;
    }
  }

  /** A WinningPoSt whose sectors may sit on cluster workers: every part verified, none may be missing. */
  private async proveWinningAnywhere(randomness: Uint8Array, sectors: { sectorNumber: number; commR: Uint8Array }[]): Promise<Uint8Array> {
    const { proof, skipped } = await this.prover.prove('winning', randomness, sectors.map((s) => ({ number: s.sectorNumber, commR: s.commR })), Math.floor(this.opts.chain.params.slotMs / 2));
    if (skipped.length > 0) throw new Error(`WinningPoSt: ${skipped.map((s) => `sector ${s.sector} ${s.reason}`).join('; ')}`);
    return proof;
  }

  private recoveryTx: Uint8Array | null = null;
  /** Faulty sectors whose replica failed its recovery check, by the slot of the check. */
  private readonly failedChecks = new Map<number, number>();

  /** Whether a faulty sector's replica answers a fresh challenge; a failed one is checked again a proving period later. */
  private async replicaRecovered(slot: number, number: number, commR: Uint8Array): Promise<boolean> {
    const { log, chain } = this.opts;
    const last = this.failedChecks.get(number);
    if (last !== undefined && slot < last + chain.params.miners.provingPeriod) return false;
    const failure = await this.prover.check({ number, commR }, this.windowMs());
    if (!failure) {
      this.failedChecks.delete(number);
      return true;
    }
    if (last === undefined) log.warn({ sector: number, reason: failure }, 'Faulty sector not declared recovering: its replica still fails a fresh challenge');
    this.failedChecks.set(number, slot);
    return false;
  }
  /**
   * Sectors the chain marked faulty (a missed WindowPoSt: this node was down or cut off) whose
   * replicas this node still holds and which answer a fresh random challenge are declared
   * recovering, so the next WindowPoSt restores them. A replica still corrupt is not declared:
   * it would only be skipped again.
   */
  async declareRecoveries(slot: number): Promise<void> {
    const { chain, mempool, log, minerId } = this.opts;
    if (this.recoveryTx && mempool.has(this.recoveryTx)) return;
    const state = chain.headState();
    const recoverable: number[] = [];
    for (let d = 0; d < chain.params.miners.deadlines; d++) {
      for (const number of await deadlineSectors(state, minerId, d)) {
        const sector = (await getSector(state, minerId, number))!;
        if (sector.state !== SectorState.faulty || sector.recovering || !(await this.prover.holds(number))) continue;
        if (await this.replicaRecovered(slot, number, sector.commR)) recoverable.push(number);
      }
    }
    if (recoverable.length === 0) return;
    try {
      this.recoveryTx = (await submitLocalTx(chain, mempool, this.opts.workerKey, declareRecoveriesKind, sectorListPayload, { miner: minerId, sectors: recoverable })).id;
      log.info({ sectors: recoverable }, 'Declared faulty sectors recovering');
    } catch (error) {
      log.warn({ err: isBcrError(error) ? `${error.code}: ${error.message}` : errorMessage(error) }, 'Declaring recoveries failed');
    }
  }

  /**
   * Submits the WindowPoSts of the open deadline, one per partition, and submits one again while the
   * window is open if it has not landed: its tx was dropped, failed, or a reorg changed the challenge
   * randomness (then the pooled tx is replaced, same nonce, higher price). One proof is computed at a
   * time; the next partition's waits for the next slot.
   */
  async proveDeadline(slot: number): Promise<void> {
    // A proof still being computed is waited for off the loop: blocks and the watchdog go on.
    if (this.proving) return;
    const { chain, mempool, log, minerId } = this.opts;
    const state = chain.headState();
    const miner = await getMiner(state, minerId);
    if (!miner) return;
    const window = currentDeadline(chain.params.miners, miner, slot);
    if (!window) return;
    const randomness = await windowPostRandomness(state, chain.head.header.height + 1, minerId, window.period, window.deadline, window.open);
    if (!randomness) return;
    const provable = await provableSectors(state, minerId, window.deadline);
    for (const [partition, sectors] of byPartition(chain.params.miners, provable)) {
      if (await allProven(state, minerId, sectors, window.period)) continue;
      const key = `${window.period}:${window.deadline}:${partition}`;
      const prior = this.submitted.get(key);
      const priorPooled = prior !== undefined && mempool.has(prior.txId);
      if (prior && priorPooled && bytesEqual(prior.randomness, randomness)) continue; // in flight
      if (prior) log.info({ period: window.period, deadline: window.deadline, partition, reason: priorPooled ? 'randomness changed by a reorg' : 'tx dropped or failed' }, 'Resubmitting WindowPoSt');
      this.proving = this.proveAndSubmit(key, { ...window, partition }, randomness, sectors, prior, priorPooled).finally(() => (this.proving = null));
      return;
    }
  }

  private async proveAndSubmit(key: string, window: { period: number; deadline: number; partition: number; open: number; close: number }, randomness: Uint8Array, sectors: ProvableSectorRef[], prior: { nonce: number; gasPrice: bigint } | undefined, priorPooled: boolean): Promise<void> {
    const { chain, mempool, log, minerId } = this.opts;
    try {
      const started = performance.now();
      const timeoutMs = Math.max(this.opts.chain.params.slotMs, (window.close - slotAt(chain.params, this.opts.clock.now()) - 1) * chain.params.slotMs);
      const { proof, proven, skipped } = await this.prover.prove('window', randomness, sectors, timeoutMs);
      this.watchdog.provedIn(performance.now() - started, window);
      if (skipped.length > 0) {
        log.warn({ period: window.period, deadline: window.deadline, partition: window.partition, skipped }, 'Skipping sectors whose replicas cannot be proven: they turn faulty, the rest of the partition stays proven');
        this.emit('fault', { sectors: skipped.map((s) => s.sector), reasons: skipped.map((s) => s.reason), deadline: window.deadline, partition: window.partition });
      }
      const account = await chain.getAccount(this.worker);
      // Replace our stale pooled tx (same nonce, +10% price), or take the next free nonce.
      const nonce = priorPooled && prior ? prior.nonce : mempool.nextPendingNonce(this.worker, account.nonce);
      const gasPrice = priorPooled && prior ? prior.gasPrice + (prior.gasPrice + 9n) / 10n : chain.params.minGasPrice;
      const payload = encode(submitWindowPostPayload, { miner: minerId, deadline: window.deadline, partition: window.partition, skipped: skipped.map((s) => s.sector), proof });
      const gas = submitWindowPostKind.gas(submitWindowPostKind.decodePayload(payload));
      const tx = signTx(this.opts.workerKey, { chainId: chain.params.chainId, nonce, gasLimit: gas, gasPrice, kind: submitWindowPostKind.id, payload });
      const added = await mempool.add(tx, { local: true });
      this.submitted.set(key, { txId: added.id, randomness, nonce, gasPrice });
      if (this.submitted.size > 64) this.submitted.delete(this.submitted.keys().next().value!);
      log.info({ period: window.period, deadline: window.deadline, partition: window.partition, sectors: proven.length, skipped: skipped.length }, 'Submitted WindowPoSt');
      this.emit('windowPost', { period: window.period, deadline: window.deadline, partition: window.partition, sectors: proven.length, skipped: skipped.map((s) => s.sector) });
    } catch (error) {
      log.warn({ deadline: window.deadline, partition: window.partition, err: isBcrError(error) ? `${error.code}: ${error.message}` : errorMessage(error) }, 'WindowPoSt failed');
    }
  }
}
