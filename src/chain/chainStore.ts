// The chain: the canonical head and finalized height, the import queue, and reads. A block goes
// through validation/ (cheap checks, nothing stored), then blocks/ (execution on its parent's state);
// only a fully valid block is written. Every import (extend, reorg, or a valid side block) is ONE
// atomic LevelDB batch; a crash leaves the old or the new head, never a mix. In-memory state (head,
// finalized) changes only after the batch commits.
import { withProofObserver, type ProofObserver } from '../proofs/index.js';
import { LRUCache } from 'lru-cache';
import { BcrError, bytesEqual, decode, encode, hexKey, isBcrError, uint } from '../primitives/index.js';
import { finalizedHeightOf, isHeavierTip, tipOf, type ChainParams } from '../consensus/index.js';
import { Bucket, bucketKey, type Database } from '../db/index.js';
import { MemoryKv, Overlay, StateDb, anyTxId, getAccount, getMiner, type BlockEnv, lockedAmount, proveState, spendable, readStateRoot, type Account, type KvReader, type Receipt, type StateEvent, type StateProof, type TxError, type VerifiedTx } from '../state/index.js';
import type { Logger } from '../util/logger.js';
import { encodeBlock, encodeHeader, type Block, type BlockHeader } from './block.js';
import { BlockStore, META_GENESIS, META_HEAD, META_PRUNED, canonicalKey, sideBlockKey, type HeadInfo, type TxLocation } from './blockStore.js';
import { ancestorIds, applyBlock, blockEnv, rewindState, switchToBranch, type BranchSwitch, type ImportContext } from './blocks/importBlock.js';
import { ImportStats, elapsedMs } from './eligibility.js';
import type { ImportStep, Metrics } from '../metrics/index.js';
import { EquivocationWatch } from './equivocationWatch.js';
import { BlockError } from './errors.js';
import { migrateStateTree } from './stateMigration.js';
import { contractCreationKey, logIndexKeys, queryLogs, type LocatedLog, type LogFilter, type LogLimits } from './logIndex.js';
import { buildGenesis, type Genesis } from './genesis.js';
import { buildBlock, type BuildBlockOptions } from './produce.js';
import { validateBlock, type ValidationView } from './validation/block.js';


export interface HeadChange {
  head: HeadInfo;
  /** Blocks that left the canonical chain (newest first). */
  reverted: Block[];
  /** Blocks that joined it (oldest first). */
  applied: Block[];
}

/** A block whose state can be read or proven: the head, the finalized block, or a height between. */
export type StateBlock = number | 'latest' | 'finalized';

export type ImportOutcome = { status: 'head'; change: HeadChange } | { status: 'side' };

export interface ChainStoreOptions {
  db: Database;
  genesis: Genesis;
  log: Logger;
  metrics?: Metrics | null;
  /**
   * Keep block bodies and receipts for this many blocks beyond finality; older ones keep only their
   * header (and their txs' index entries). Null or absent: an archive node, every body kept.
   */
  pruneBlocks?: number | null;
}

/** Heights pruned per head change at most, so one import's batch stays small while a node catches up. */
const PRUNE_BATCH = 256;

const INVALID_LIMIT = 10_000;

export class ChainStore implements ValidationView {
  readonly params: ChainParams;
  readonly genesisId: Uint8Array;
  /** Time spent per validation step, for benchmarks and metrics. */
  readonly stats = new ImportStats();
  private readonly blocks: BlockStore;
  private headInfo: HeadInfo;
  private readonly invalid = new LRUCache<string, true>({ max: INVALID_LIMIT });
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ((change: HeadChange) => void)[] = [];
  /** Two headers of one miner for one slot, seen among the blocks offered to this chain. */
  readonly equivocations = new EquivocationWatch();

  private constructor(
    private readonly db: Database,
    readonly genesis: Genesis,
    private readonly log: Logger,
    genesisId: Uint8Array,
    head: HeadInfo,
    private readonly metrics: Metrics | null,
    private readonly pruneBlocks: number | null,
    private prunedTo: number,
  ) {
    this.params = genesis.params;
    this.genesisId = genesisId;
    this.headInfo = head;
    this.blocks = new BlockStore(db);
  }

  /** Opens the chain in `db`, writing genesis on first use and refusing a db of another network. */
  static async open({ db, genesis, log, metrics = null, pruneBlocks = null }: ChainStoreOptions): Promise<ChainStore> {
    const built = await buildGenesis(genesis, new MemoryKv());
    const storedGenesis = await db.get(META_GENESIS);
    if (!storedGenesis) {
      const writes = built.overlay.entries();
      writes.push({ key: bucketKey(Bucket.block, built.id), value: encodeBlock(built.block) });
      writes.push({ key: canonicalKey(0), value: built.id });
      writes.push({ key: META_GENESIS, value: built.id });
      writes.push({ key: META_HEAD, value: built.id });
      await db.write(writes, true);
      log.info({ genesis: hexKey(built.id), network: genesis.params.network }, 'Wrote genesis');
    } else if (!bytesEqual(storedGenesis, built.id)) {
      // Also what a data dir made by a BCR version with another state layout looks like (the genesis state root differs).
      throw new BlockError('MALFORMED', `data dir holds another chain (genesis 0x${hexKey(storedGenesis)}, expected 0x${hexKey(built.id)}): another network, or a data dir made by a BCR version with another state layout; move it away to start afresh`);
    }
    const headId = (await db.get(META_HEAD))!;
    const headBlock = await new BlockStore(db).getBlock(headId);
    if (!headBlock) throw new Error('store is corrupt: head block missing');
    const prunedBytes = await db.get(META_PRUNED);
    const prunedTo = prunedBytes ? decode(uint(), prunedBytes, 'pruned height') : 0;
    const chain = new ChainStore(db, genesis, log, built.id, { id: headId, header: headBlock.header }, metrics, pruneBlocks, prunedTo);
    chain.observeHeights();
    await migrateStateTree(db, log);
    const root = await readStateRoot(db);
    if (!bytesEqual(root, headBlock.header.stateRoot)) throw new Error('store is corrupt: state root does not match head');
    return chain;
  }

  get head(): HeadInfo {
    return this.headInfo;
  }

  get finalizedHeight(): number {
    return finalizedHeightOf(this.headInfo.header.height, this.params.finality);
  }

  onHeadChange(listener: (change: HeadChange) => void): void {
    this.listeners.push(listener);
  }

  /** The head state, for reads (balances, nonces, proofs). */
  get stateReader(): KvReader {
    return this.db;
  }

  /** The head state, for one read-only look (eligibility, accounts). */
  headState(): StateDb {
    return new StateDb(new Overlay(this.db));
  }

  getBlock(id: Uint8Array): Promise<Block | undefined> {
    return this.blocks.getBlock(id);
  }

  hasBlock(id: Uint8Array): Promise<boolean> {
    return this.blocks.hasBlock(id);
  }

  getHeader(id: Uint8Array): Promise<BlockHeader | undefined> {
    return this.blocks.getHeader(id);
  }

  canonicalId(height: number, reader: KvReader = this.db): Promise<Uint8Array | undefined> {
    return this.blocks.canonicalId(height, reader);
  }

  isCanonical(id: Uint8Array, height: number): Promise<boolean> {
    return this.blocks.isCanonical(id, height);
  }

  getBlockByHeight(height: number): Promise<Block | undefined> {
    return this.blocks.getBlockByHeight(height);
  }

  getReceipts(id: Uint8Array): Promise<Receipt[] | undefined> {
    return this.blocks.getReceipts(id);
  }

  getEvents(id: Uint8Array): Promise<StateEvent[]> {
    return this.blocks.getEvents(id);
  }

  dealIdsOf(owner: { client: Uint8Array } | { provider: number }, after: number, limit: number): Promise<number[]> {
    return this.blocks.dealIdsOf(owner, after, limit);
  }

  getTxLocation(txId: Uint8Array): Promise<TxLocation | undefined> {
    return this.blocks.getTxLocation(txId);
  }

  async getAccount(address: Uint8Array): Promise<Account> {
    return getAccount(this.headState(), address);
  }

  /** Next nonce and spendable balance (vesting-locked part excluded) at the head: what the mempool admits against. */
  async accountState(address: Uint8Array): Promise<{ nonce: number; spendable: bigint }> {
    const account = await this.getAccount(address);
    return { nonce: account.nonce, spendable: spendable(account, this.headInfo.header.slot) };
  }

  /** Vesting-locked part of an address's balance at the head slot. */
  async getLocked(address: Uint8Array): Promise<bigint> {
    return lockedAmount((await this.getAccount(address)).vesting, this.headInfo.header.slot);
  }

  async getStateProof(stateKey: Uint8Array): Promise<StateProof> {
    return proveState(this.db, stateKey);
  }

  /**
   * Proofs of state keys against the state root of a canonical block from the finalized one to the
   * head (see stateAt); `keys` may be read from that block's state first. Runs beside imports.
   */
  proveAt(block: StateBlock, keys: Uint8Array[] | ((state: StateDb) => Promise<Uint8Array[]>)): Promise<{ height: number; id: Uint8Array; header: BlockHeader; proofs: StateProof[] }> {
    return this.withStateAt(block, async ({ overlay, id, header }) => {
      const wanted = typeof keys === 'function' ? await keys(new StateDb(overlay)) : keys;
      const proofs: StateProof[] = [];
      for (const key of wanted) proofs.push(await proveState(overlay, key));
      return { height: header.height, id, header, proofs };
    });
  }

  /** Reads the state as of a canonical block from the finalized one to the head. Runs beside imports. */
  readStateAt<T>(block: StateBlock, read: (state: StateDb, height: number) => Promise<T>): Promise<T> {
    return this.withStateAt(block, ({ overlay, header }) => read(new StateDb(overlay), header.height));
  }

  /**
   * Runs `work` on the state at `block` with the environment that block executed in (eth_call,
   * eth_estimateGas). Writes stay in memory and are dropped.
   */
  executeAt<T>(block: StateBlock, work: (state: StateDb, env: BlockEnv) => Promise<T>): Promise<T> {
    return this.withStateAt(block, async ({ overlay, header }) => {
      const state = new StateDb(overlay);
      const owner = (await getMiner(state, header.miner))?.owner ?? new Uint8Array(20);
      const parent = header.height === 0 ? header : ((await this.blocks.getHeader(header.parentId)) ?? header);
      const ancestors = header.height === 0 ? async () => undefined : ancestorIds(this.blocks, header.parentId, parent);
      return work(state, blockEnv(this.params, header, parent, owner, ancestors));
    });
  }

  /**
   * Runs `work` on the state of a block, rolled back in memory from a snapshot of the store taken
   * between imports (a moment's wait), so imports go on while it reads: a reader at the finalized
   * block of a mainnet node rolls back up to `finality` blocks and must not stall the chain.
   */
  private async withStateAt<T>(block: StateBlock, work: (at: { overlay: Overlay; id: Uint8Array; header: BlockHeader }) => Promise<T>): Promise<T> {
    const captured = await this.serialized(async () => ({ head: this.headInfo, finalized: this.finalizedHeight, snapshot: this.db.snapshotReader() }));
    try {
      return await work(await this.stateAt(block, captured.head, captured.finalized, captured.snapshot));
    } finally {
      await captured.snapshot.close();
    }
  }

  /** Blocks between `block` and the head (0 at the head): the rollback work a read at `block` costs. */
  depthOf(block: StateBlock): number {
    const head = this.headInfo.header.height;
    const height = block === 'latest' ? head : block === 'finalized' ? this.finalizedHeight : block;
    return Math.max(0, head - height);
  }

  /** The state at `block` rolled back in memory from `head` with the undo data kept above the finalized block. */
  private async stateAt(block: StateBlock, head: HeadInfo, finalizedHeight: number, base: KvReader): Promise<{ overlay: Overlay; id: Uint8Array; header: BlockHeader }> {
    const height = block === 'latest' ? head.header.height : block === 'finalized' ? finalizedHeight : block;
    if (height > head.header.height || height < finalizedHeight) {
      throw new BcrError('OUT_OF_RANGE', `state is kept from the finalized block (height ${finalizedHeight}) to the head (height ${head.header.height}), not at height ${height}`);
    }
    const overlay = new Overlay(base);
    let { id, header } = head;
    while (header.height > height) {
      const parent = (await this.blocks.getHeader(header.parentId))!;
      await rewindState(overlay, id, parent);
      id = header.parentId;
      header = parent;
    }
    return { overlay, id, header };
  }

  /** Runs `work` after every import queued before it, and before any queued after. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  observeSignedHeader(header: BlockHeader): void {
    this.equivocations.observe(header);
  }

  isKnownInvalid(id: Uint8Array): boolean {
    return this.invalid.has(hexKey(id));
  }

  /** Imports blocks one at a time, in arrival order. */
  importBlock(block: Block, nowMs: number): Promise<ImportOutcome> {
    return this.serialized(() => withProofObserver(this.proofObserver, () => (this.metrics ? this.importMeasured(this.metrics, block, nowMs) : this.importNow(block, nowMs))));
  }

  /** This node's count of proofs verified, by kind and verdict, with their time (null without metrics). */
  private get proofObserver(): ProofObserver | null {
    const metrics = this.metrics;
    if (!metrics) return null;
    return (kind, valid, seconds) => {
      metrics.proofsVerified.inc({ kind, result: valid ? 'valid' : 'invalid' });
      metrics.proofVerifySeconds.observe({ kind }, seconds);
    };
  }

  /** Resolves when no import is running (before closing the db). */
  async idle(): Promise<void> {
    await this.queue;
  }

  /**
   * Builds and signs a block on `parentId` (the head its ticket was won on) for a won slot; the caller
   * imports it. Runs in the import queue so no import changes the state it packs onto; HEAD_MOVED
   * when the head is no longer that parent.
   */
  buildBlock(parentId: Uint8Array, opts: BuildBlockOptions): Promise<{ block: Block; rejected: { tx: VerifiedTx; error: TxError }[] }> {
    return this.serialized(() => {
      if (!bytesEqual(this.headInfo.id, parentId)) throw new BlockError('HEAD_MOVED', 'the head moved while the block was prepared');
      return withProofObserver(this.proofObserver, () => buildBlock(this.params, this.blocks, this.headInfo, this.headState(), opts));
    });
  }

  /** One import with its outcome and per-step times recorded (the steps come from `stats`). */
  private async importMeasured(metrics: Metrics, block: Block, nowMs: number): Promise<ImportOutcome> {
    const before = { ...this.stats };
    try {
      const outcome = await this.importNow(block, nowMs);
      metrics.blocksImported.inc({ result: outcome.status });
      if (outcome.status === 'head' && outcome.change.reverted.length > 0) metrics.reorgDepth.observe(outcome.change.reverted.length);
      return outcome;
    } catch (error) {
      metrics.blocksRejected.inc({ code: isBcrError(error) ? error.code : 'INTERNAL' });
      throw error;
    } finally {
      const after = this.stats;
      const steps: [ImportStep, number][] = [
        ['stateless', after.statelessMs - before.statelessMs],
        ['election', after.vrfMs + after.winningPostMs - before.vrfMs - before.winningPostMs],
        ['execution', after.txsMs - before.txsMs],
        ['state_root', after.stateRootMs - before.stateRootMs],
        ['write', after.writeMs - before.writeMs],
      ];
      for (const [step, ms] of steps) if (ms > 0) metrics.blockImportSeconds.observe({ step }, ms / 1000);
    }
  }

  private observeHeights(): void {
    this.metrics?.headHeight.set(this.headInfo.header.height);
    this.metrics?.finalizedHeight.set(this.finalizedHeight);
  }

  private get importContext(): ImportContext {
    return { db: this.db, params: this.params, blocks: this.blocks, stats: this.stats };
  }

  private markInvalid(id: Uint8Array, error: unknown): never {
    if (error instanceof BlockError && error.action === 'REJECT') {
      this.invalid.set(hexKey(id), true);
    }
    throw error;
  }

  /**
   * Validates, then executes the block on its parent's state (reached by reverting to the fork
   * point and applying the branch when the parent is not the head). A heavier result becomes the
   * head; a valid lighter one is kept as a side block (a later reorg may need it); an invalid one
   * leaves nothing behind.
   */
  private async importNow(block: Block, nowMs: number): Promise<ImportOutcome> {
    const { header } = block;
    const t = process.hrtime.bigint();
    const { id, parent, signer, txs } = await validateBlock(this, block, nowMs);
    this.stats.statelessMs += elapsedMs(t);
    const ctx = this.importContext;
    const overlay = new Overlay(this.db);
    const head = this.headInfo;
    let switched: BranchSwitch = { reverted: [], applied: [] };
    if (!bytesEqual(header.parentId, head.id)) {
      switched = await switchToBranch(ctx, overlay, head, header.parentId, this.finalizedHeight, (badId, error) => this.markInvalid(badId, error));
    }
    await applyBlock(ctx, overlay, block, id, parent, signer, txs).catch((error: unknown) => this.markInvalid(id, error));
    if (bytesEqual(header.parentId, head.id) || isHeavierTip(tipOf(header), tipOf(head.header))) {
      if (switched.reverted.length) this.log.info({ depth: switched.reverted.length, from: head.header.height, to: header.height }, 'Reorganised chain');
      return this.commitHead(overlay, { id, header }, switched.reverted, [...switched.applied.map((b) => b.block), block]);
    }
    await this.db.write([
      { key: bucketKey(Bucket.block, id), value: encodeBlock(block) },
      { key: sideBlockKey(header.height, id), value: new Uint8Array(0) },
    ], false);
    this.log.debug({ height: header.height, id: hexKey(id) }, 'Stored valid side block');
    return { status: 'side' };
  }

  private async commitHead(overlay: Overlay, head: HeadInfo, reverted: Block[], applied: Block[]): Promise<ImportOutcome> {
    overlay.put(META_HEAD, head.id);
    const pruned = await this.pruneSideBlocks(overlay, Math.max(0, head.header.height - this.params.finality));
    const prunedTo = await this.pruneBodies(overlay, head.header.height);
    const t = process.hrtime.bigint();
    await this.db.write(overlay.entries(), true);
    this.prunedTo = prunedTo;
    this.stats.writeMs += Number(process.hrtime.bigint() - t) / 1e6;
    for (const id of pruned) this.blocks.forgetHeader(id);
    this.headInfo = head;
    this.observeHeights();
    this.blocks.rememberHeader(head.id, head.header);
    const change: HeadChange = { head, reverted, applied };
    for (const listener of this.listeners) listener(change);
    return { status: 'head', change };
  }

  /** The lowest height whose block body this store still has (1 on an archive node). */
  get oldestBodyHeight(): number {
    return this.prunedTo + 1;
  }

  /** A block's body, or a PRUNED error naming what this node still keeps (RPC readers). */
  async requireBlock(id: Uint8Array): Promise<Block> {
    const block = await this.blocks.getBlock(id);
    if (block) return block;
    throw await this.missing(id);
  }

  /** A canonical block's receipts, or a PRUNED error. */
  async requireReceipts(id: Uint8Array): Promise<Receipt[]> {
    const receipts = await this.blocks.getReceipts(id);
    if (receipts) return receipts;
    throw await this.missing(id);
  }

  private async missing(id: Uint8Array): Promise<BcrError> {
    if (await this.blocks.isPruned(id)) {
      const header = await this.blocks.getHeader(id);
      return new BcrError('PRUNED', `block 0x${hexKey(id)} (height ${header?.height ?? '?'}) was pruned: this node keeps block bodies and receipts from height ${this.oldestBodyHeight} on (--prune-blocks ${this.pruneBlocks}); ask an archive node`);
    }
    return new BcrError('NOT_FOUND', `block 0x${hexKey(id)} is not in this node's store`);
  }

  /** Canonical logs matching `filter`, through the log index (eth_getLogs). */
  getLogs(filter: LogFilter, limits: LogLimits): Promise<LocatedLog[]> {
    return queryLogs(
      {
        keys: (gte, lt) => this.db.keys(gte, lt),
        canonicalId: (height) => this.blocks.canonicalId(height),
        blockReceipts: async (id) => {
          const [block, receipts] = await Promise.all([this.requireBlock(id), this.requireReceipts(id)]);
          return { receipts, txIds: block.txs.map(anyTxId) };
        },
      },
      filter,
      limits,
    );
  }

  /** The id of the canonical tx that created the contract at `address` (undefined: none known). */
  async contractCreationTx(address: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.get(contractCreationKey(address));
  }

  /** True when `id` is a canonical block whose body and receipts were pruned. */
  isPruned(id: Uint8Array): Promise<boolean> {
    return this.blocks.isPruned(id);
  }

  /**
   * With --prune-blocks N: the bodies, receipts and events of canonical blocks more than N below the
   * finalized height go; their headers move to the header bucket (the tx index stays). A bounded
   * number per head change, in the same batch as the head. Returns the new pruned height.
   */
  private async pruneBodies(overlay: Overlay, headHeight: number): Promise<number> {
    if (this.pruneBlocks === null) return this.prunedTo;
    const target = headHeight - this.params.finality - this.pruneBlocks - 1;
    if (target <= this.prunedTo) return this.prunedTo;
    const to = Math.min(target, this.prunedTo + PRUNE_BATCH);
    for (let height = this.prunedTo + 1; height <= to; height++) {
      const id = await this.blocks.canonicalId(height, overlay);
      if (!id) continue;
      const block = await this.blocks.getBlock(id);
      if (!block) continue;
      overlay.put(bucketKey(Bucket.header, id), encodeHeader(block.header));
      overlay.del(bucketKey(Bucket.block, id));
      const receipts = await this.blocks.getReceipts(id);
      if (receipts) for (const key of logIndexKeys(height, receipts)) overlay.del(key);
      overlay.del(bucketKey(Bucket.receipts, id));
      overlay.del(bucketKey(Bucket.events, id));
    }
    overlay.put(META_PRUNED, encode(uint(), to));
    return to;
  }

  /** Prunes down to the target now (after turning pruning on for an existing chain; bench, tests). */
  async pruneToTarget(): Promise<number> {
    return this.serialized(async () => {
      for (;;) {
        const overlay = new Overlay(this.db);
        const to = await this.pruneBodies(overlay, this.headInfo.header.height);
        if (to === this.prunedTo) return to;
        await this.db.write(overlay.entries(), true);
        this.prunedTo = to;
      }
    });
  }

  /** Side blocks at or below the finalized height can never join the chain: delete them. */
  private async pruneSideBlocks(overlay: Overlay, finalized: number): Promise<Uint8Array[]> {
    const side = await this.blocks.sideBlocksUpTo(finalized);
    for (const { key, id } of side) {
      overlay.del(key);
      overlay.del(bucketKey(Bucket.block, id));
      overlay.del(bucketKey(Bucket.receipts, id));
      overlay.del(bucketKey(Bucket.undo, id));
      overlay.del(bucketKey(Bucket.events, id));
    }
    if (side.length) this.log.debug({ blocks: side.length, finalized }, 'Deleted side blocks below finality');
    return side.map((s) => s.id);
  }
}
