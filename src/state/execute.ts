// Pure block execution: (state, block environment, verified txs) -> receipts. No clock, no IO
// beyond the state interface; the chain layer decides what to do with the result.
import { amount, bytesEqual, encode, extendedStruct, formatBcr, str, uint, type Infer } from '../primitives/index.js';
import { FOUNDATION_ADDRESS } from './governance.js';
import { blockIssuance, type ChainParams } from '../consensus/index.js';
import { accountKey, credit, getAccount, putAccount, spendable } from './accounts.js';
import { TxError, TxFailure } from './errors.js';
import { recordBeacon } from './miners/beacon.js';
import { expirePrecommits, runDeadlineCron } from './miners/cron.js';
import { applyWorkerChanges } from './miners/txs.js';
import { expireUnactivatedDeals } from './market/deals.js';
import type { StateEvent } from './events.js';
import { flatKey, type StateDb } from './stateDb.js';
import { maxFee, type VerifiedTx } from './tx.js';
import { evmReceiptCodec } from './evm/receipt.js';
import type { TxOutcome } from './txKinds/index.js';

/** `evm` came with contracts: receipts of other txs keep the four fields they always had. */
export const receiptCodec = extendedStruct({ status: uint(1), gasUsed: uint(), fee: amount(), error: str(64) }, { evm: evmReceiptCodec });
export type Receipt = Infer<typeof receiptCodec>;
export const ReceiptStatus = { ok: 0, failed: 1 } as const;

export interface BlockEnv {
  params: ChainParams;
  height: number;
  slot: number;
  parentSlot: number;
  /** Receives fees and the block's issuance (the producing miner's owner). */
  producer: Uint8Array;
  /** The block's VRF output, recorded as the chain's randomness beacon. */
  vrfOutput: Uint8Array;
  /** The header's timestamp (unix ms): the EVM's TIMESTAMP. */
  timestampMs: number;
  /** Ids of this block's ancestors by height, for the EVM's BLOCKHASH (absent: zero). */
  blockHash?: (height: number) => Promise<Uint8Array | undefined>;
}

export function encodeReceipt(receipt: Receipt): Uint8Array {
  return encode(receiptCodec, receipt);
}

/**
 * Applies one tx. Throws TxError if the tx cannot be in this block at all (nonce, funds for the
 * maximum fee); a handler failure is caught, reverted, and reported in the receipt.
 */
export async function applyTx(state: StateDb, env: BlockEnv, tx: VerifiedTx): Promise<Receipt> {
  // No key signs for the reserve; should a tx ever claim it as sender, it pays no fee and moves nothing.
  if (bytesEqual(tx.sender, FOUNDATION_ADDRESS)) throw new TxError('GOVERNED_FUNDS', 'the foundation reserve moves only by an executed council proposal');
  const account = await getAccount(state, tx.sender);
  if (tx.body.nonce < account.nonce) {
    throw new TxError('NONCE_TOO_LOW', `nonce ${tx.body.nonce} already used (next is ${account.nonce})`);
  }
  if (tx.body.nonce > account.nonce) {
    throw new TxError('NONCE_GAP', `nonce ${tx.body.nonce} leaves a gap (next is ${account.nonce})`);
  }
  const free = spendable(account, env.slot);
  const ceiling = maxFee(tx.body);
  if (free < ceiling) {
    throw new TxError('INSUFFICIENT_FUNDS', `spendable ${formatBcr(free)} BCR cannot cover the maximum fee ${formatBcr(ceiling)} BCR`);
  }
  const price = tx.body.gasPrice;
  // A metered kind holds its whole gas limit until it knows what it used.
  const held = tx.kind.metered ? ceiling : BigInt(tx.gas) * price;
  await putAccount(state, tx.sender, { ...account, balance: account.balance - held, nonce: account.nonce + 1 });
  if (!tx.kind.metered) await credit(state, env.producer, held);

  const checkpoint = state.checkpoint();
  let outcome: TxOutcome | null;
  try {
    outcome =
      (await tx.kind.apply(
        { state, params: env.params, sender: tx.sender, txId: tx.id, height: env.height, slot: env.slot, gasLimit: tx.body.gasLimit, gasPrice: price, block: env },
        tx.payload,
      )) ?? null;
  } catch (error) {
    if (!(error instanceof TxFailure)) throw error;
    state.revertTo(checkpoint);
    outcome = { gasUsed: tx.gas, failure: error.code, evm: null };
  }
  const gasUsed = tx.kind.metered ? (outcome?.gasUsed ?? tx.gas) : tx.gas;
  const fee = BigInt(gasUsed) * price;
  if (tx.kind.metered) {
    await credit(state, tx.sender, held - fee);
    await credit(state, env.producer, fee);
  }
  const failure = outcome?.failure ?? null;
  return { status: failure === null ? ReceiptStatus.ok : ReceiptStatus.failed, gasUsed, fee, error: (failure ?? '').slice(0, 64), ...(outcome?.evm ? { evm: outcome.evm } : {}) };
}

/** Every state key a block's txs are known to read (senders, producer, declared touches). */
export function blockStateKeys(producer: Uint8Array, txs: VerifiedTx[]): Uint8Array[] {
  const keys = [flatKey(accountKey(producer))];
  for (const tx of txs) {
    keys.push(flatKey(accountKey(tx.sender)));
    for (const key of tx.kind.touches(tx.payload)) keys.push(flatKey(key));
  }
  return keys;
}

export interface BlockResult {
  receipts: Receipt[];
  gasUsed: number;
  issued: bigint;
  /** What the txs and the cron emitted (reverted txs' events are gone). */
  events: StateEvent[];
}

/** Import mode: every tx must apply, in order; the block's issuance goes to the producer last. */
export async function applyBlockTxs(state: StateDb, env: BlockEnv, txs: VerifiedTx[]): Promise<BlockResult> {
  const receipts: Receipt[] = [];
  let gasUsed = 0;
  for (const tx of txs) {
    // As Ethereum: a tx fits if its gas limit fits in what the block has not used yet.
    if (tx.body.gasLimit > env.params.blockGasLimit - gasUsed) {
      throw new TxError('GAS_LIMIT_ABOVE_BLOCK', `tx gas limit ${tx.body.gasLimit} above the ${env.params.blockGasLimit - gasUsed} gas left in the block`);
    }
    const receipt = await applyTx(state, env, tx);
    receipts.push(receipt);
    gasUsed += receipt.gasUsed;
  }
  const issued = await finishBlock(state, env);
  return { receipts, gasUsed, issued, events: state.takeEvents() };
}

/** After the txs: the block's issuance to the producer, the deadline cron, the beacon entry. */
export async function finishBlock(state: StateDb, env: BlockEnv): Promise<bigint> {
  const issued = blockIssuance(env.parentSlot, env.slot, env.params);
  await credit(state, env.producer, issued);
  await runDeadlineCron(state, env);
  await expirePrecommits(state, env);
  await applyWorkerChanges(state, env.height);
  await expireUnactivatedDeals(state, env.slot);
  await recordBeacon(state, env.height, env.slot, env.vrfOutput, env.params.miners.beaconWindow);
  return issued;
}

/**
 * Producer mode: applies as many candidate txs as fit, skipping any the state rejects, and reports
 * which were taken (the mempool keeps the rest).
 */
export async function packBlockTxs(
  state: StateDb,
  env: BlockEnv,
  candidates: Iterable<VerifiedTx>,
): Promise<{ included: VerifiedTx[]; rejected: { tx: VerifiedTx; error: TxError }[] } & BlockResult> {
  const included: VerifiedTx[] = [];
  const rejected: { tx: VerifiedTx; error: TxError }[] = [];
  const receipts: Receipt[] = [];
  let gasUsed = 0;
  for (const tx of candidates) {
    if (included.length >= env.params.maxTxsPerBlock) break;
    if (tx.body.gasLimit > env.params.blockGasLimit - gasUsed) continue;
    const checkpoint = state.checkpoint();
    try {
      const receipt = await applyTx(state, env, tx);
      receipts.push(receipt);
      included.push(tx);
      gasUsed += receipt.gasUsed;
    } catch (error) {
      state.revertTo(checkpoint);
      // A handler that throws anything but a TxFailure has a bug: importers would refuse a block
      // carrying the tx, so the producer leaves it out and still makes its block.
      rejected.push({ tx, error: error instanceof TxError ? error : new TxError('EXECUTION_FAILED', error instanceof Error ? error.message : String(error)) });
    }
  }
  const issued = await finishBlock(state, env);
  return { included, rejected, receipts, gasUsed, issued, events: state.takeEvents() };
}
