import { BcrError, type ErrorMeta } from '../primitives/index.js';

/** IGNORE: not provably bad (duplicate, unknown parent, too early); REJECT: provably invalid. */
export type GossipAction = 'IGNORE' | 'REJECT';

export type BlockErrorCode =
  | 'ALREADY_KNOWN'
  | 'KNOWN_INVALID'
  | 'PARENT_UNKNOWN'
  | 'FUTURE_SLOT'
  | 'TOO_LARGE'
  | 'MALFORMED'
  | 'BAD_HEIGHT'
  | 'BAD_SLOT'
  | 'BAD_TIMESTAMP'
  | 'BAD_SIGNATURE'
  | 'NOT_ELIGIBLE'
  | 'UNKNOWN_MINER'
  | 'BAD_ELECTION_PROOF'
  | 'BAD_WINNING_POST'
  | 'BAD_TX_ROOT'
  | 'BAD_TX'
  | 'BAD_STATE_ROOT'
  | 'BAD_RECEIPTS_ROOT'
  | 'FINALIZED_CONFLICT'
  | 'REORG_TOO_DEEP'
  | 'HEAD_MOVED';

/**
 * Not provably the sender's fault: a duplicate, a parent or miner we do not know yet (it may be on a
 * branch we have not seen), a slot a little ahead of our clock, or a branch that conflicts with what
 * we finalized (the sender may be on another fork). Nothing of an ignored block is stored or relayed.
 */
const IGNORED: ReadonlySet<BlockErrorCode> = new Set(['ALREADY_KNOWN', 'PARENT_UNKNOWN', 'UNKNOWN_MINER', 'FUTURE_SLOT', 'FINALIZED_CONFLICT', 'REORG_TOO_DEEP']);

export class BlockError extends BcrError<BlockErrorCode> {
  readonly action: GossipAction;

  constructor(code: BlockErrorCode, message: string, meta: ErrorMeta = {}) {
    super(code, message, meta);
    this.name = 'BlockError';
    this.action = IGNORED.has(code) ? 'IGNORE' : 'REJECT';
  }
}
