// The chain: validates and imports blocks, keeps the canonical head, and reorganises.
// Every import (extend or reorg) is computed in one in-memory overlay and written as ONE atomic
// LevelDB batch with the new head (sync). A crash at any moment leaves either the old or the new head,
// never a mix. In-memory state (head, finalized) changes only after the batch commits.
import { bytes, bytesEqual, compareBytes, decode, encode, hexKey, isBcrError, list, optional, struct, uint, uintToBytesBE, varBytes } from '../primitives/index.js';
import { slotAt, slotStart, type ChainParams } from '../consensus/index.js';
import { Bucket, bucketKey, type Database } from '../db/index.js';
import {
  MemoryKv,
  Overlay,
  StateDb,
  TxError,
  applyBlockTxs,
  blockStateKeys,
  getAccount,
  getMiner,
  lockedAmount,
  packBlockTxs,
  proveState,
  readStateRoot,
  receiptCodec,
  verifyTx,
  type Account,
  type BlockEnv,
  type KvReader,
  type Receipt,
  type StateProof,
  type UndoEntry,
  type VerifiedTx,
} from '../state/index.js';
import type { Logger } from '../util/logger.js';
import {
  blockId,
  decodeBlock,
  encodeBlock,
  headerSigner,
  receiptsRootOf,
  signHeader,
  txRootOf,
  type Block,
  type BlockHeader,
} from './block.js';
import { ImportStats, elapsedMs, verifyElection, type Ticket } from './election.js';
import { BlockError } from './errors.js';
import { migrateStateTree } from './stateMigration.js';
import { buildGenesis, type Genesis } from './genesis.js';

const META_HEAD = bucketKey(Bucket.meta, new TextEncoder().encode('head'));
const META_GENESIS = bucketKey(Bucket.meta, new TextEncoder().encode('genesis'));

const undoCodec = list(struct({ key: varBytes(64), value: optional(varBytes(1 << 20)) }), 1 << 22);
const receiptsCodec = list(receiptCodec, 1 << 20);
const txLocationCodec = struct({ blockId: bytes(32), index: uint() });

export interface HeadInfo {
  id: Uint8Array;
  header: BlockHeader;
}

export interface HeadChange {
  head: HeadInfo;
  /** Blocks that left the canonical chain (newest first). */
  reverted: Block[];
  /** Blocks that joined it (oldest first). */
  applied: Block[];
}

export type ImportOutcome = { status: 'head'; change: HeadChange } | { status: 'side' };

export interface TxLocation {
  blockId: Uint8Array;
  height: number;
  index: number;
}

export interface ChainStoreOptions {
  db: Database;
  genesis: Genesis;
  log: Logger;
}

function canonicalKey(height: number): Uint8Array {
  return bucketKey(Bucket.canonical, uintToBytesBE(height, 8));
}

/** Heavier chain first: more blocks; at equal height, the smaller VRF output. */
export function isBetterHead(a: BlockHeader, b: BlockHeader): boolean {
  if (a.height !== b.height) return a.height > b.height;
  return compareBytes(a.vrfOutput, b.vrfOutput) < 0;
}

export class ChainStore {
  readonly params: ChainParams;
  readonly genesisId: Uint8Array;
  private headInfo: HeadInfo;
  private readonly headerCache = new Map<string, BlockHeader>();
  private readonly invalid = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ((change: HeadChange) => void)[] = [];
  /** Time spent per validation step, for benchmarks and metrics. */
  readonly stats = new ImportStats();

  private constructor(
    private readonly db: Database,
    readonly genesis: Genesis,
    private readonly log: Logger,
    genesisId: Uint8Array,
    head: HeadInfo,
  ) {
    this.params = genesis.params;
    this.genesisId = genesisId;
    this.headInfo = head;
  }

  /** Opens the chain in `db`, writing genesis on first use and refusing a db of another network. */
  static async open({ db, genesis, log }: ChainStoreOptions): Promise<ChainStore> {
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
      throw new BlockError('MALFORMED', `data dir holds another chain (genesis 0x${hexKey(storedGenesis)}, expected 0x${hexKey(built.id)})`);
    }
    const headId = (await db.get(META_HEAD))!;
    const headBlock = await ChainStore.readBlock(db, headId);
    if (!headBlock) throw new Error('store is corrupt: head block missing');
    const chain = new ChainStore(db, genesis, log, built.id, { id: headId, header: headBlock.header });
    await migrateStateTree(db, log);
    const root = await readStateRoot(db);
    if (!bytesEqual(root, headBlock.header.stateRoot)) throw new Error('store is corrupt: state root does not match head');
    return chain;
  }

  private static async readBlock(db: Database, id: Uint8Array): Promise<Block | undefined> {
    const bytes = await db.get(bucketKey(Bucket.block, id));
    return bytes ? decodeBlock(bytes) : undefined;
  }

  get head(): HeadInfo {
    return this.headInfo;
  }

  get finalizedHeight(): number {
    return Math.max(0, this.headInfo.header.height - this.params.finality);
  }

  onHeadChange(listener: (change: HeadChange) => void): void {
    this.listeners.push(listener);
  }

  /** The head state, for reads (balances, nonces, proofs). */
  get stateReader(): KvReader {
    return this.db;
  }

  async getBlock(id: Uint8Array): Promise<Block | undefined> {
    return ChainStore.readBlock(this.db, id);
  }

  async getHeader(id: Uint8Array): Promise<BlockHeader | undefined> {
    const key = hexKey(id);
    const cached = this.headerCache.get(key);
    if (cached) return cached;
    const block = await this.getBlock(id);
    if (!block) return undefined;
    if (this.headerCache.size > 4096) this.headerCache.clear();
    this.headerCache.set(key, block.header);
    return block.header;
  }

  async canonicalId(height: number, reader: KvReader = this.db): Promise<Uint8Array | undefined> {
    return reader.get(canonicalKey(height));
  }

  async getBlockByHeight(height: number): Promise<Block | undefined> {
    const id = await this.canonicalId(height);
    return id ? this.getBlock(id) : undefined;
  }

  async getReceipts(id: Uint8Array): Promise<Receipt[] | undefined> {
    const bytes = await this.db.get(bucketKey(Bucket.receipts, id));
    return bytes ? decode(receiptsCodec, bytes, 'receipts') : undefined;
  }

  async getTxLocation(txId: Uint8Array): Promise<TxLocation | undefined> {
    const bytes = await this.db.get(bucketKey(Bucket.txIndex, txId));
    if (!bytes) return undefined;
    const loc = decode(txLocationCodec, bytes, 'tx location');
    const header = await this.getHeader(loc.blockId);
    return { blockId: loc.blockId, height: header!.height, index: loc.index };
  }

  async getAccount(address: Uint8Array): Promise<Account> {
    return getAccount(new StateDb(new Overlay(this.db)), address);
  }

  /** Vesting-locked part of an address's balance at the head slot. */
  async getLocked(address: Uint8Array): Promise<bigint> {
    return lockedAmount((await this.getAccount(address)).vesting, this.headInfo.header.slot);
  }

  async getStateProof(stateKey: Uint8Array): Promise<StateProof> {
    return proveState(this.db, stateKey);
  }

  /** Imports blocks one at a time, in arrival order. */
  importBlock(block: Block, nowMs: number): Promise<ImportOutcome> {
    const run = this.queue.then(() => this.importNow(block, nowMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves when no import is running (before closing the db). */
  async idle(): Promise<void> {
    await this.queue;
  }

  private async importNow(block: Block, nowMs: number): Promise<ImportOutcome> {
    const { header } = block;
    const id = blockId(header);
    const key = hexKey(id);
    if (this.invalid.has(key)) throw new BlockError('KNOWN_INVALID', 'block was already found invalid');
    if (await this.db.get(bucketKey(Bucket.block, id))) throw new BlockError('ALREADY_KNOWN', 'block already imported');
    const parent = await this.getHeader(header.parentId);
    if (!parent) throw new BlockError('PARENT_UNKNOWN', 'parent block is unknown', { parent: hexKey(header.parentId) });
    this.checkHeader(header, parent, nowMs);
    const txs = this.verifyBodyStateless(block);

    const overlay = new Overlay(this.db);
    overlay.put(bucketKey(Bucket.block, id), encodeBlock(block));

    if (bytesEqual(header.parentId, this.headInfo.id)) {
      await this.applyCanonical(overlay, block, id, parent, txs).catch((e) => this.markInvalid(key, e));
      return this.commitHead(overlay, { id, header }, [], [block]);
    }
    if (!isBetterHead(header, this.headInfo.header)) {
      await this.db.write(overlay.entries(), false);
      this.log.debug({ height: header.height, id: key }, 'Stored side-chain block');
      return { status: 'side' };
    }
    return this.reorgTo(overlay, block, id);
  }

  private markInvalid(key: string, error: unknown): never {
    if (error instanceof BlockError && error.action === 'REJECT') this.invalid.add(key);
    throw error;
  }

  private checkHeader(header: BlockHeader, parent: BlockHeader, nowMs: number): void {
    const { params } = this;
    if (header.height !== parent.height + 1) throw new BlockError('BAD_HEIGHT', `height ${header.height} does not follow parent ${parent.height}`);
    if (header.slot <= parent.slot) throw new BlockError('BAD_SLOT', `slot ${header.slot} not after parent slot ${parent.slot}`);
    if (header.slot > slotAt(params, nowMs) + params.maxFutureSlots) throw new BlockError('FUTURE_SLOT', `slot ${header.slot} is in the future`);
    const start = slotStart(params, header.slot);
    if (header.timestamp < start || header.timestamp >= start + params.slotMs) {
      throw new BlockError('BAD_TIMESTAMP', `timestamp ${header.timestamp} outside slot ${header.slot}`);
    }
    try {
      headerSigner(params.chainId, header);
    } catch {
      throw new BlockError('BAD_SIGNATURE', 'header signature cannot be recovered');
    }
  }

  private verifyBodyStateless(block: Block): VerifiedTx[] {
    if (block.txs.length > this.params.maxTxsPerBlock) throw new BlockError('TOO_LARGE', `${block.txs.length} txs above ${this.params.maxTxsPerBlock}`);
    const txs = block.txs.map((bytes, index) => {
      try {
        return verifyTx(bytes, this.params);
      } catch (error) {
        throw new BlockError('BAD_TX', `tx ${index}: ${isBcrError(error) ? `${error.code}: ${error.message}` : String(error)}`, { index });
      }
    });
    if (!bytesEqual(txRootOf(txs.map((t) => t.id)), block.header.txRoot)) throw new BlockError('BAD_TX_ROOT', 'tx root does not match txs');
    return txs;
  }

  private env(header: Pick<BlockHeader, 'height' | 'slot' | 'vrfOutput'>, parent: BlockHeader, owner: Uint8Array): BlockEnv {
    return { params: this.params, height: header.height, slot: header.slot, parentSlot: parent.slot, producer: owner, vrfOutput: header.vrfOutput };
  }

  /** Executes `block` on the state in `overlay` (which must be its parent's state) and records it as canonical. */
  private async applyCanonical(overlay: Overlay, block: Block, id: Uint8Array, parent: BlockHeader, txs: VerifiedTx[]): Promise<void> {
    const state = new StateDb(overlay);
    const miner = await verifyElection(state, this.params, block.header, headerSigner(this.params.chainId, block.header), this.stats);
    let t = process.hrtime.bigint();
    await this.db.prefetch(blockStateKeys(miner.owner, txs));
    let receipts: Receipt[];
    try {
      ({ receipts } = await applyBlockTxs(state, this.env(block.header, parent, miner.owner), txs));
    } catch (error) {
      if (error instanceof TxError) throw new BlockError('BAD_TX', `${error.code}: ${error.message}`);
      throw error;
    }
    this.stats.txsMs += elapsedMs(t);
    t = process.hrtime.bigint();
    const { stateRoot, undo } = await state.commit();
    this.stats.stateRootMs += elapsedMs(t);
    this.stats.blocks++;
    if (!bytesEqual(stateRoot, block.header.stateRoot)) throw new BlockError('BAD_STATE_ROOT', 'state root does not match execution');
    if (!bytesEqual(receiptsRootOf(receipts), block.header.receiptsRoot)) throw new BlockError('BAD_RECEIPTS_ROOT', 'receipts root does not match execution');
    overlay.put(canonicalKey(block.header.height), id);
    overlay.put(bucketKey(Bucket.undo, id), encode(undoCodec, undo));
    overlay.put(bucketKey(Bucket.receipts, id), encode(receiptsCodec, receipts));
    txs.forEach((tx, index) => {
      overlay.put(bucketKey(Bucket.txIndex, tx.id), encode(txLocationCodec, { blockId: id, index }));
    });
    // Undo data below finality can never be used again.
    const finalHeight = block.header.height - this.params.finality - 1;
    if (finalHeight > 0) {
      const finalId = await this.canonicalId(finalHeight, overlay);
      if (finalId) overlay.del(bucketKey(Bucket.undo, finalId));
    }
  }

  /** Rolls the canonical head in `overlay` back by one block using its undo data. */
  private async revertCanonical(overlay: Overlay, block: Block, id: Uint8Array, parent: BlockHeader): Promise<void> {
    const undoBytes = await overlay.get(bucketKey(Bucket.undo, id));
    if (!undoBytes) throw new BlockError('REORG_TOO_DEEP', 'undo data is gone: block is final');
    const undo: UndoEntry[] = decode(undoCodec, undoBytes, 'undo');
    const state = new StateDb(overlay);
    for (const entry of undo) await state.set(entry.key, entry.value);
    const { stateRoot } = await state.commit();
    if (!bytesEqual(stateRoot, parent.stateRoot)) throw new Error('store is corrupt: undo did not restore the parent state root');
    overlay.del(canonicalKey(block.header.height));
    overlay.del(bucketKey(Bucket.undo, id));
    for (const txBytes of block.txs) overlay.del(bucketKey(Bucket.txIndex, verifyTx(txBytes, this.params).id));
  }

  private async reorgTo(overlay: Overlay, block: Block, id: Uint8Array): Promise<ImportOutcome> {
    // Walk the new branch back to the canonical chain.
    const branch: { block: Block; id: Uint8Array }[] = [{ block, id }];
    let cursor = block.header;
    for (;;) {
      const parentId = cursor.parentId;
      const canonical = await this.canonicalId(cursor.height - 1);
      if (canonical && bytesEqual(canonical, parentId)) break;
      const parentBlock = await this.getBlock(parentId);
      if (!parentBlock) throw new BlockError('PARENT_UNKNOWN', 'branch ancestor missing');
      branch.unshift({ block: parentBlock, id: parentId });
      cursor = parentBlock.header;
    }
    const ancestorHeight = branch[0]!.block.header.height - 1;
    const depth = this.headInfo.header.height - ancestorHeight;
    if (depth > this.params.finality) {
      throw new BlockError('REORG_TOO_DEEP', `reorg of ${depth} blocks exceeds finality ${this.params.finality}`);
    }
    const reverted: Block[] = [];
    for (let height = this.headInfo.header.height; height > ancestorHeight; height--) {
      const revId = (await this.canonicalId(height, overlay))!;
      const revBlock = (await this.getBlock(revId))!;
      const parent = (await this.getHeader(revBlock.header.parentId))!;
      await this.revertCanonical(overlay, revBlock, revId, parent);
      reverted.push(revBlock);
    }
    for (const item of branch) {
      const parent = (await this.getHeader(item.block.header.parentId))!;
      const txs = this.verifyBodyStateless(item.block);
      await this.applyCanonical(overlay, item.block, item.id, parent, txs).catch((e) => this.markInvalid(hexKey(item.id), e));
    }
    this.log.info({ depth, from: this.headInfo.header.height, to: block.header.height }, 'Reorganised chain');
    return this.commitHead(overlay, { id, header: block.header }, reverted, branch.map((b) => b.block));
  }

  private async commitHead(overlay: Overlay, head: HeadInfo, reverted: Block[], applied: Block[]): Promise<ImportOutcome> {
    overlay.put(META_HEAD, head.id);
    const t = process.hrtime.bigint();
    await this.db.write(overlay.entries(), true);
    this.stats.writeMs += elapsedMs(t);
    this.headInfo = head;
    this.headerCache.set(hexKey(head.id), head.header);
    const change: HeadChange = { head, reverted, applied };
    for (const listener of this.listeners) listener(change);
    return { status: 'head', change };
  }

  /** The head state, for one read-only look (eligibility, accounts). */
  headState(): StateDb {
    return new StateDb(new Overlay(this.db));
  }

  /**
   * Builds and signs a block on the current head for a won slot, from candidate txs (invalid ones
   * are skipped). The caller imports it like any other block.
   */
  async buildBlock(opts: {
    workerKey: Uint8Array;
    minerId: number;
    slot: number;
    timestamp: number;
    ticket: Pick<Ticket, 'vrfProof' | 'vrfOutput'>;
    winningPost: Uint8Array;
    candidates: Iterable<VerifiedTx>;
  }): Promise<{ block: Block; rejected: { tx: VerifiedTx; error: TxError }[] }> {
    const parent = this.headInfo.header;
    const state = this.headState();
    const miner = await getMiner(state, opts.minerId);
    if (!miner) throw new BlockError('NOT_ELIGIBLE', `miner ${opts.minerId} does not exist`);
    const header0 = { height: parent.height + 1, slot: opts.slot, vrfOutput: opts.ticket.vrfOutput };
    const result = await packBlockTxs(state, this.env(header0, parent, miner.owner), opts.candidates);
    const { stateRoot } = await state.commit();
    const header = signHeader(opts.workerKey, this.params.chainId, {
      parentId: this.headInfo.id,
      height: header0.height,
      slot: opts.slot,
      timestamp: opts.timestamp,
      miner: opts.minerId,
      vrfProof: opts.ticket.vrfProof,
      vrfOutput: opts.ticket.vrfOutput,
      winningPost: opts.winningPost,
      txRoot: txRootOf(result.included.map((t) => t.id)),
      receiptsRoot: receiptsRootOf(result.receipts),
      stateRoot,
    });
    return { block: { header, txs: result.included.map((t) => t.bytes) }, rejected: result.rejected };
  }
}
