import { BcrError, type ErrorMeta } from '../primitives/index.js';

/** Why a transaction is invalid: it cannot enter a block (the block carrying it is invalid). */
export type TxErrorCode =
  | 'MALFORMED'
  | 'TOO_LARGE'
  | 'WRONG_CHAIN'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_KIND'
  | 'MALFORMED_PAYLOAD'
  | 'GAS_TOO_LOW'
  | 'GAS_LIMIT_ABOVE_BLOCK'
  | 'GAS_PRICE_TOO_LOW'
  | 'TIP_ABOVE_FEE_CAP'
  | 'FEE_CAP_TOO_HIGH'
  | 'NONCE_TOO_LOW'
  | 'NONCE_GAP'
  | 'INSUFFICIENT_FUNDS'
  | 'GOVERNED_FUNDS'
  /** EIP-3607: a sender with code. */
  | 'SENDER_NOT_EOA'
  /** The handler threw something other than a TxFailure: a node bug, kept out of the block. */
  | 'EXECUTION_FAILED';

/** An invalid tx is provably bad wherever it comes from: gossip rejects it and penalises the sender. */
export class TxError extends BcrError<TxErrorCode> {
  readonly action = 'REJECT' as const;

  constructor(code: TxErrorCode, message: string, meta: ErrorMeta = {}) {
    super(code, message, meta);
    this.name = 'TxError';
  }
}

/** A valid tx whose effect failed: it stays in the block, pays its fee, and its receipt says why. */
export class TxFailure extends BcrError {
  constructor(code: string, message: string, meta: ErrorMeta = {}) {
    super(code, message, meta);
    this.name = 'TxFailure';
  }
}
