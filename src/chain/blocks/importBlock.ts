// Block import: executing a validated block on its parent's state, reverting canonical blocks with
// their undo data, and moving the state from the head to any branch within finality. Everything
// happens in an in-memory overlay; the caller writes it as ONE atomic batch (or drops it).
import { bytesEqual, decode, encode, hexKey } from '../../primitives/index.js';
import { branchAllowed, type ChainParams } from '../../consensus/index.js';
import { Bucket, bucketKey, type Database } from '../../db/index.js';
import { DealEventKind, Overlay, StateDb, TxError, anyTxId, applyBlockTxs, blockEventsCodec, type StateEvent, blockStateKeys, verifyTx, type BlockEnv, type Receipt, type UndoEntry, type VerifiedTx } from '../../state/index.js';
import { encodeBlock, headerSigner, receiptsRootOf, type Block, type BlockHeader } from '../block.js';
import { BlockStore, canonicalKey, dealIndexKeys, receiptsCodec, sideBlockKey, txLocationCodec, undoCodec, type HeadInfo } from '../blockStore.js';
import { ImportStats, elapsedMs, verifyElection } from '../eligibility.js';
import { BlockError } from '../errors.js';
import { contractCreations, logIndexKeys } from '../logIndex.js';
import { verifyBodyStateless } from '../validation/block.js';

export interface ImportContext {
  db: Database;
  params: ChainParams;
  blocks: BlockStore;
  stats: ImportStats;
}

export interface BranchSwitch {
  /** Canonical blocks taken off (newest first). */
  reverted: Block[];
  /** Branch blocks applied up to and including the target (oldest first). */
  applied: { block: Block; id: Uint8Array }[];
}

/** The external facts a block's execution takes: its height, slots, time, producer, VRF output and ancestors. */
export function blockEnv(params: ChainParams, header: Pick<BlockHeader, 'height' | 'slot' | 'vrfOutput' | 'timestamp'>, parent: BlockHeader, owner: Uint8Array, ancestors: (height: number) => Promise<Uint8Array | undefined>): BlockEnv {
  return { params, height: header.height, slot: header.slot, parentSlot: parent.slot, producer: owner, vrfOutput: header.vrfOutput, timestampMs: header.timestamp, blockHash: ancestors };
}

/** Ids of the ancestors of a block whose parent is `parentId`, by height, read once each (BLOCKHASH). */
export function ancestorIds(blocks: BlockStore, parentId: Uint8Array, parent: BlockHeader): (height: number) => Promise<Uint8Array | undefined> {
  const known = new Map<number, Uint8Array>([[parent.height, parentId]]);
  let cursor = { id: parentId, header: parent };
  return async (height) => {
    if (height < 0 || height > parent.height) return undefined;
    while (cursor.header.height > height) {
      const header = await blocks.getHeader(cursor.header.parentId);
      if (!header) return undefined;
      cursor = { id: cursor.header.parentId, header };
      known.set(header.height, cursor.id);
    }
    return known.get(height);
  };
}

/**
 * The state transition with every check that needs the parent's state: election (worker key, VRF,
 * win threshold, WinningPoSt), tx execution, state and receipts roots. `overlay` must hold the
 * parent's state; on success it holds the block's, with the block recorded as canonical.
 */
export async function applyBlock(ctx: ImportContext, overlay: Overlay, block: Block, id: Uint8Array, parent: BlockHeader, signer: Uint8Array, txs: VerifiedTx[]): Promise<void> {
  const { params, stats } = ctx;
  const state = new StateDb(overlay);
  const miner = await verifyElection(state, params, block.header, signer, stats);
  let t = process.hrtime.bigint();
  await ctx.db.prefetch(blockStateKeys(miner.owner, txs));
  let receipts: Receipt[];
  let events: StateEvent[];
  try {
    ({ receipts, events } = await applyBlockTxs(state, blockEnv(params, block.header, parent, miner.owner, ancestorIds(ctx.blocks, block.header.parentId, parent)), txs));
  } catch (error) {
    if (error instanceof TxError) throw new BlockError('BAD_TX', `tx cannot execute: ${error.message}`, { txCode: error.code });
    throw error;
  }
  stats.txsMs += elapsedMs(t);
  t = process.hrtime.bigint();
  const { stateRoot, undo } = await state.commit();
  stats.stateRootMs += elapsedMs(t);
  stats.blocks++;
  if (!bytesEqual(stateRoot, block.header.stateRoot)) throw new BlockError('BAD_STATE_ROOT', 'state root does not match execution');
  if (!bytesEqual(receiptsRootOf(receipts), block.header.receiptsRoot)) throw new BlockError('BAD_RECEIPTS_ROOT', 'receipts root does not match execution');
  overlay.put(bucketKey(Bucket.block, id), encodeBlock(block));
  overlay.put(canonicalKey(block.header.height), id);
  overlay.del(sideBlockKey(block.header.height, id));
  overlay.put(bucketKey(Bucket.undo, id), encode(undoCodec, undo));
  overlay.put(bucketKey(Bucket.receipts, id), encode(receiptsCodec, receipts));
  for (const key of logIndexKeys(block.header.height, receipts)) overlay.put(key, new Uint8Array(0));
  for (const { key, txId } of contractCreations(receipts, txs.map((tx) => tx.id))) overlay.put(key, txId);
  if (events.length) overlay.put(bucketKey(Bucket.events, id), encode(blockEventsCodec, events));
  for (const event of events) if (event.kind === DealEventKind.published) for (const key of dealIndexKeys(event)) overlay.put(key, new Uint8Array(0));
  txs.forEach((tx, index) => overlay.put(bucketKey(Bucket.txIndex, tx.id), encode(txLocationCodec, { blockId: id, index })));
  // Undo data below finality can never be used again.
  const finalHeight = block.header.height - params.finality - 1;
  if (finalHeight > 0) {
    const finalId = await ctx.blocks.canonicalId(finalHeight, overlay);
    if (finalId) overlay.del(bucketKey(Bucket.undo, finalId));
  }
}

/** Rolls the canonical head in `overlay` back by one block; the block stays stored as a side block. */
/** Rolls the state in `overlay` back from block `id` to its parent with the block's undo data. */
export async function rewindState(overlay: Overlay, id: Uint8Array, parent: BlockHeader): Promise<void> {
  const undoBytes = await overlay.get(bucketKey(Bucket.undo, id));
  if (!undoBytes) throw new BlockError('REORG_TOO_DEEP', 'undo data is gone: block is final');
  const undo: UndoEntry[] = decode(undoCodec, undoBytes, 'undo');
  const state = new StateDb(overlay);
  for (const entry of undo) await state.set(entry.key, entry.value);
  const { stateRoot } = await state.commit();
  if (!bytesEqual(stateRoot, parent.stateRoot)) throw new Error('store is corrupt: undo did not restore the parent state root');
}

async function revertBlock(ctx: ImportContext, overlay: Overlay, block: Block, id: Uint8Array, parent: BlockHeader): Promise<void> {
  await rewindState(overlay, id, parent);
  // The branch applied after this in the same batch puts back the keys its blocks share.
  const receipts = await overlay.get(bucketKey(Bucket.receipts, id));
  if (receipts) {
    const decoded = decode(receiptsCodec, receipts, 'receipts');
    for (const key of logIndexKeys(block.header.height, decoded)) overlay.del(key);
    for (const { key } of contractCreations(decoded, block.txs.map(anyTxId))) overlay.del(key);
  }
  overlay.del(canonicalKey(block.header.height));
  overlay.del(bucketKey(Bucket.undo, id));
  overlay.put(sideBlockKey(block.header.height, id), new Uint8Array(0));
  for (const txBytes of block.txs) overlay.del(bucketKey(Bucket.txIndex, verifyTx(txBytes, ctx.params).id));
}

/**
 * Moves the state in `overlay` from the canonical head to the stored block `targetId`: back to the
 * fork point, then forward along the branch. Refuses a branch that forks below `finalizedHeight`.
 * `markInvalid` hears of a stored branch block that turns out invalid.
 */
export async function switchToBranch(ctx: ImportContext, overlay: Overlay, head: HeadInfo, targetId: Uint8Array, finalizedHeight: number, markInvalid: (id: Uint8Array, error: unknown) => never): Promise<BranchSwitch> {
  const { blocks } = ctx;
  const branch: { block: Block; id: Uint8Array }[] = [];
  let cursorId = targetId;
  let cursorHeight = Number.POSITIVE_INFINITY;
  for (;;) {
    const header = await blocks.getHeader(cursorId);
    if (!header) throw new BlockError('PARENT_UNKNOWN', 'branch ancestor missing', { ancestor: hexKey(cursorId) });
    cursorHeight = header.height;
    if (await blocks.isCanonical(cursorId, cursorHeight)) break;
    if (!branchAllowed(cursorHeight, finalizedHeight)) throw new BlockError('FINALIZED_CONFLICT', `branch forks from the canonical chain below the finalized height ${finalizedHeight}`);
    branch.unshift({ block: (await blocks.getBlock(cursorId))!, id: cursorId });
    cursorId = header.parentId;
  }
  const ancestorHeight = cursorHeight;
  const reverted: Block[] = [];
  for (let height = head.header.height; height > ancestorHeight; height--) {
    const revId = (await blocks.canonicalId(height, overlay))!;
    const revBlock = (await blocks.getBlock(revId))!;
    const parent = (await blocks.getHeader(revBlock.header.parentId))!;
    await revertBlock(ctx, overlay, revBlock, revId, parent);
    reverted.push(revBlock);
  }
  for (const item of branch) {
    const parent = (await blocks.getHeader(item.block.header.parentId))!;
    try {
      const txs = verifyBodyStateless(ctx.params, item.block);
      const signer = headerSigner(ctx.params.chainId, item.block.header);
      await applyBlock(ctx, overlay, item.block, item.id, parent, signer, txs);
    } catch (error) {
      markInvalid(item.id, error);
    }
  }
  return { reverted, applied: branch };
}
