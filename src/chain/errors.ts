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
  | 'BAD_ELECTION_PROOF'
  | 'BAD_WINNING_POST'
  | 'BAD_TX_ROOT'
  | 'BAD_TX'
  | 'BAD_STATE_ROOT'
  | 'BAD_RECEIPTS_ROOT'
  | 'FINALIZED_CONFLICT'
  | 'REORG_TOO_DEEP';

const IGNORED: ReadonlySet<BlockErrorCode> = new Set(['ALREADY_KNOWN', 'PARENT_UNKNOWN', 'FUTURE_SLOT', 'REORG_TOO_DEEP']);

export class BlockError extends BcrError<BlockErrorCode> {
  readonly action: GossipAction;

  constructor(code: BlockErrorCode, message: string, meta: ErrorMeta = {}) {
    super(code, message, meta);
    this.name = 'BlockError';
    this.action = IGNORED.has(code) ? 'IGNORE' : 'REJECT';
  }
}
