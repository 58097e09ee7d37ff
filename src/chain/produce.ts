// Block production: packs candidate txs onto the head state for a won slot and signs the header
// with the miner's worker key. The result is imported like any block from the network.
import { getMiner, packBlockTxs, type StateDb, type TxError, type VerifiedTx } from '../state/index.js';
import type { ChainParams } from '../consensus/index.js';
import { receiptsRootOf, signHeader, txRootOf, type Block } from './block.js';
import type { BlockStore, HeadInfo } from './blockStore.js';
import { ancestorIds, blockEnv } from './blocks/importBlock.js';
import type { Ticket } from './eligibility.js';
import { BlockError } from './errors.js';

export interface BuildBlockOptions {
  workerKey: Uint8Array;
  minerId: number;
  slot: number;
  timestamp: number;
  ticket: Pick<Ticket, 'vrfProof' | 'vrfOutput'>;
  winningPost: Uint8Array;
  candidates: Iterable<VerifiedTx>;
}

/** Builds and signs a block on `head` (whose state `state` is); invalid candidates are skipped. */
export async function buildBlock(params: ChainParams, blocks: BlockStore, head: HeadInfo, state: StateDb, opts: BuildBlockOptions): Promise<{ block: Block; rejected: { tx: VerifiedTx; error: TxError }[] }> {
  const parent = head.header;
  const miner = await getMiner(state, opts.minerId);
  if (!miner) throw new BlockError('NOT_ELIGIBLE', `miner ${opts.minerId} does not exist`);
  const header0 = { height: parent.height + 1, slot: opts.slot, vrfOutput: opts.ticket.vrfOutput, timestamp: opts.timestamp };
  const result = await packBlockTxs(state, blockEnv(params, header0, parent, miner.owner, ancestorIds(blocks, head.id, parent)), opts.candidates);
  const { stateRoot } = await state.commit();
  const header = signHeader(opts.workerKey, params.chainId, {
    parentId: head.id,
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
