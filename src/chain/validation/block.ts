// What a block must pass before anything of it is stored or relayed, in one readable place
// (Lodestar's chain/validation as the model). Cheap, likely-to-fail checks come first; each throws
// a BlockError whose code says what is wrong and whose action says IGNORE or REJECT. The checks
// that need the parent's state (election, WinningPoSt, execution, roots) run in blocks/ when the
// block is applied, before it is written.
import { slotAt, slotStart, type ChainParams } from '../../consensus/index.js';
import { bytesEqual, hexKey, isBcrError } from '../../primitives/index.js';
import { getMiner, getWorkerChange, verifyTx, type StateDb, type VerifiedTx } from '../../state/index.js';
import { blockId, headerSigner, txRootOf, type Block, type BlockHeader } from '../block.js';
import { BlockError } from '../errors.js';

/** What validation reads from the chain. */
export interface ValidationView {
  params: ChainParams;
  finalizedHeight: number;
  isKnownInvalid(id: Uint8Array): boolean;
  hasBlock(id: Uint8Array): Promise<boolean>;
  getHeader(id: Uint8Array): Promise<BlockHeader | undefined>;
  headState(): StateDb;
  /** Hears of every header proven signed by its miner's worker key (equivocation evidence). */
  observeSignedHeader(header: BlockHeader): void;
}

export interface ValidatedBlock {
  id: Uint8Array;
  parent: BlockHeader;
  signer: Uint8Array;
  txs: VerifiedTx[];
}

/**
 * Every check that needs no state beyond the head: identity, size, time, parent, finality, header
 * signature against the miner's worker key, and the body. A block that passes is worth executing.
 */
export async function validateBlock(chain: ValidationView, block: Block, nowMs: number): Promise<ValidatedBlock> {
  const { params } = chain;
  const { header } = block;
  const id = blockId(header);
  if (chain.isKnownInvalid(id)) throw new BlockError('KNOWN_INVALID', 'block was already found invalid');
  if (block.txs.length > params.maxTxsPerBlock) throw new BlockError('TOO_LARGE', `${block.txs.length} txs above ${params.maxTxsPerBlock}`);
  if (header.slot > slotAt(params, nowMs) + params.maxFutureSlots) throw new BlockError('FUTURE_SLOT', `slot ${header.slot} is in the future`);
  if (await chain.hasBlock(id)) throw new BlockError('ALREADY_KNOWN', 'block already imported');
  if (header.height <= chain.finalizedHeight) throw new BlockError('FINALIZED_CONFLICT', `height ${header.height} is at or below the finalized height ${chain.finalizedHeight}`);
  const parent = await chain.getHeader(header.parentId);
  if (!parent) throw new BlockError('PARENT_UNKNOWN', 'parent block is unknown', { parent: hexKey(header.parentId) });
  checkHeaderAgainstParent(params, header, parent);
  const signer = recoverSigner(params, header);
  await checkProducerKey(chain.headState(), params, header, signer);
  chain.observeSignedHeader(header);
  const txs = verifyBodyStateless(params, block);
  return { id, parent, signer, txs };
}

export function checkHeaderAgainstParent(params: ChainParams, header: BlockHeader, parent: BlockHeader): void {
  if (header.height !== parent.height + 1) throw new BlockError('BAD_HEIGHT', `height ${header.height} does not follow parent ${parent.height}`);
  if (header.slot <= parent.slot) throw new BlockError('BAD_SLOT', `slot ${header.slot} not after parent slot ${parent.slot}`);
  const start = slotStart(params, header.slot);
  if (header.timestamp < start || header.timestamp >= start + params.slotMs) {
    throw new BlockError('BAD_TIMESTAMP', `timestamp ${header.timestamp} outside slot ${header.slot}`);
  }
}

function recoverSigner(params: ChainParams, header: BlockHeader): Uint8Array {
  try {
    return headerSigner(params.chainId, header);
  } catch {
    throw new BlockError('BAD_SIGNATURE', 'header signature cannot be recovered');
  }
}

/**
 * The header must be signed by the claimed miner's worker key, as the head state knows it. A worker
 * change takes effect a finality after it was made, so every branch we could still switch to agrees
 * on it; blocks of a branch forking before the switch may carry the old key (accepted here until a
 * finality past the switch; the parent state decides exactly). A miner the head state does not know
 * (registered on a branch we do not follow) is ignored, never executed on a stranger's word.
 */
async function checkProducerKey(state: StateDb, params: ChainParams, header: BlockHeader, signer: Uint8Array): Promise<void> {
  const miner = await getMiner(state, header.miner);
  if (!miner) throw new BlockError('UNKNOWN_MINER', `miner ${header.miner} is not registered on our chain`);
  if (bytesEqual(signer, miner.worker)) return;
  const change = await getWorkerChange(state, header.miner);
  if (change && (bytesEqual(signer, change.newWorker) || (bytesEqual(signer, change.oldWorker) && header.height < change.effectiveHeight + params.finality))) return;
  throw new BlockError('BAD_SIGNATURE', "header is not signed by the miner's worker key");
}

/** Every tx's stateless checks and the tx root (the tx count was checked first, in validateBlock). */
export function verifyBodyStateless(params: ChainParams, block: Block): VerifiedTx[] {
  const txs = block.txs.map((bytes, index) => {
    try {
      return verifyTx(bytes, params);
    } catch (error) {
      throw new BlockError('BAD_TX', `tx ${index} is invalid`, { index, txCode: isBcrError(error) ? error.code : 'UNKNOWN', reason: isBcrError(error) ? error.message : String(error) });
    }
  });
  if (!bytesEqual(txRootOf(txs.map((t) => t.id)), block.header.txRoot)) throw new BlockError('BAD_TX_ROOT', 'tx root does not match txs');
  return txs;
}
