// Storage deals on chain (docs/protocol.md §13.6): a proposal signed by the client, published by
// the provider's worker (its tx signature is the provider's), which escrows the client's payment and
// both collaterals. A deal not activated by its start slot expires: the client's funds are freed and
// the provider's collateral is burned.
import { Domain, amount, bytes, bytesEqual, concatBytes, decode, encode, list, recoverSigner, sign, struct, uint, uintToBytesBE, type Infer } from '../../primitives/index.js';
import { credit } from '../accounts.js';
import { TxFailure } from '../errors.js';
import { BURN_ADDRESS } from '../miners/accounting.js';
import { getMiner } from '../miners/records.js';
import type { StateDb } from '../stateDb.js';
import { defineTxKind } from '../txKinds/registry.js';
import { unsealedCommD } from '../../proofs/index.js';
import { DealEventKind, type DealEvent } from '../events.js';
import { getEscrow, putEscrow } from './escrow.js';

/** State key prefix of deal records and indexes. */
export const DEALS_PREFIX = 0x09;

export const dealProposalCodec = struct({
  /** CommD of the padded piece. */
  pieceCommitment: bytes(32),
  pieceBytes: uint(),
  client: bytes(20),
  /** The provider's miner id. */
  provider: uint(),
  startSlot: uint(),
  endSlot: uint(),
  pricePerSlot: amount(),
  providerCollateral: amount(),
  clientCollateral: amount(),
  nonce: uint(),
});
export type DealProposal = Infer<typeof dealProposalCodec>;

export const DealState = { published: 0, active: 1, expired: 2, completed: 3, slashed: 4 } as const;

const dealCodec = struct({ proposal: dealProposalCodec, state: uint(4), sector: uint(), lastPaidSlot: uint() });
export type Deal = Infer<typeof dealCodec>;

const key = (kind: number, ...parts: Uint8Array[]) => concatBytes(new Uint8Array([DEALS_PREFIX, kind]), ...parts);
const dealKey = (id: number) => key(0, uintToBytesBE(id, 8));
const nextIdKey = key(1);
const nonceKey = (client: Uint8Array, nonce: number) => key(2, client, uintToBytesBE(nonce, 8));
const pendingKey = key(3);
/** Published deals by start slot (ascending): the cron expires those not activated in time. */
const pendingCodec = list(struct({ slot: uint(), id: uint() }), 1 << 16);
const countCodec = struct({ n: uint() });

function emitDeal(state: StateDb, kind: number, id: number, p: DealProposal, fields: Partial<Pick<DealEvent, 'sector' | 'amount' | 'refund' | 'burned'>> = {}): void {
  state.emit({ kind, deal: id, provider: p.provider, client: p.client, sector: 0, amount: 0n, refund: 0n, burned: 0n, ...fields });
}

/** The provider collateral a slashed deal's client receives (the rest is burned): one half, rounded down. */
export function slashedCollateralToClient(providerCollateral: bigint): bigint {
  return providerCollateral / 2n;
}

/** What the client owes for the whole deal. */
/** Slots of a deal settled so far (paid, or refunded when its sector was faulty): none before it is active. */
export function settledSlots(deal: Deal): number {
  const settling = deal.state === DealState.active || deal.state === DealState.completed || deal.state === DealState.slashed;
  return settling ? deal.lastPaidSlot - deal.proposal.startSlot : 0;
}

export function dealPayment(p: DealProposal): bigint {
  return p.pricePerSlot * BigInt(p.endSlot - p.startSlot);
}

export function signDealProposal(clientKey: Uint8Array, chainId: number, proposal: DealProposal): Uint8Array {
  return sign(clientKey, Domain.dealProposal, chainId, encode(dealProposalCodec, proposal));
}

export async function getDeal(state: StateDb, id: number): Promise<Deal | null> {
  const raw = await state.get(dealKey(id));
  return raw ? decode(dealCodec, raw, 'deal') : null;
}

async function putDeal(state: StateDb, id: number, deal: Deal): Promise<void> {
  await state.set(dealKey(id), encode(dealCodec, deal));
}

async function pendingStarts(state: StateDb): Promise<{ slot: number; id: number }[]> {
  const raw = await state.get(pendingKey);
  return raw ? decode(pendingCodec, raw, 'pending deal starts') : [];
}

async function putPendingStarts(state: StateDb, entries: { slot: number; id: number }[]): Promise<void> {
  await state.set(pendingKey, entries.length ? encode(pendingCodec, entries) : null);
}

/** The id of the deal a client published with `nonce`, if any. */
export async function dealIdOf(state: StateDb, client: Uint8Array, nonce: number): Promise<number | null> {
  const raw = await state.get(nonceKey(client, nonce));
  return raw ? Number(new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0)) : null;
}

/** Ids handed out so far (deal ids start at 1). */
export async function dealCount(state: StateDb): Promise<number> {
  const raw = await state.get(nextIdKey);
  return raw ? decode(countCodec, raw, 'deal count').n : 0;
}

async function lock(state: StateDb, account: Uint8Array, value: bigint, what: string): Promise<void> {
  const escrow = await getEscrow(state, account);
  if (escrow.total - escrow.locked < value) throw new TxFailure('ESCROW_TOO_LOW', `${what} escrow has ${escrow.total - escrow.locked} atto available, the deal needs ${value}`);
  await putEscrow(state, account, { ...escrow, locked: escrow.locked + value });
}

/** Frees `value` of an account's locked escrow; with `burn`, the value leaves the escrow to the burn address. */
async function unlock(state: StateDb, account: Uint8Array, value: bigint, burn = false): Promise<void> {
  const escrow = await getEscrow(state, account);
  await putEscrow(state, account, { total: burn ? escrow.total - value : escrow.total, locked: escrow.locked - value });
  if (burn && value > 0n) await credit(state, BURN_ADDRESS, value);
}

export const publishDealPayload = struct({ proposal: dealProposalCodec, clientSignature: bytes(65) });

export const publishDealKind = defineTxKind({
  id: 15,
  name: 'publishDeal',
  payload: publishDealPayload,
  maxPayloadBytes: 512,
  gas: () => 80_000,
  async apply(ctx, { proposal: p, clientSignature }) {
    let client: Uint8Array;
    try {
      client = recoverSigner(Domain.dealProposal, ctx.params.chainId, encode(dealProposalCodec, p), clientSignature);
    } catch {
      throw new TxFailure('BAD_CLIENT_SIGNATURE', 'the client signature does not recover');
    }
    if (!bytesEqual(client, p.client)) throw new TxFailure('BAD_CLIENT_SIGNATURE', 'the proposal is not signed by its client');
    const miner = await getMiner(ctx.state, p.provider);
    if (!miner) throw new TxFailure('NO_SUCH_MINER', `miner ${p.provider} does not exist`);
    if (!bytesEqual(ctx.sender, miner.worker) && !bytesEqual(ctx.sender, miner.owner)) throw new TxFailure('NOT_PROVIDER', "only the provider's worker or owner publishes its deals");
    if (p.pieceBytes < 128 || p.pieceBytes > miner.sectorSize || (p.pieceBytes & (p.pieceBytes - 1)) !== 0) throw new TxFailure('BAD_PIECE_SIZE', `piece size must be a power of two from 128 B to the sector size ${miner.sectorSize}`);
    if (p.startSlot <= ctx.slot) throw new TxFailure('START_PASSED', `start slot ${p.startSlot} is not after slot ${ctx.slot}`);
    if (p.endSlot <= p.startSlot) throw new TxFailure('BAD_DURATION', 'end slot must be after start slot');
    if (await ctx.state.get(nonceKey(client, p.nonce))) throw new TxFailure('NONCE_USED', `the client already published a deal with nonce ${p.nonce}`);
    await lock(ctx.state, client, dealPayment(p) + p.clientCollateral, 'the client\'s');
    await lock(ctx.state, miner.owner, p.providerCollateral, 'the provider owner\'s');
    const id = (await dealCount(ctx.state)) + 1;
    await ctx.state.set(nextIdKey, encode(countCodec, { n: id }));
    await ctx.state.set(nonceKey(client, p.nonce), uintToBytesBE(id, 8));
    await putDeal(ctx.state, id, { proposal: p, state: DealState.published, sector: 0, lastPaidSlot: p.startSlot });
    const pending = await pendingStarts(ctx.state);
    if (pending.length >= MAX_PENDING_DEALS) throw new TxFailure('TOO_MANY_PENDING_DEALS', `${pending.length} deals already wait for activation`);
    const at = pending.findIndex((e) => e.slot > p.startSlot);
    pending.splice(at < 0 ? pending.length : at, 0, { slot: p.startSlot, id });
    await putPendingStarts(ctx.state, pending);
    emitDeal(ctx.state, DealEventKind.published, id, p, { amount: dealPayment(p) });
  },
});

/** Published, not yet activated deals the chain tracks at once. */
const MAX_PENDING_DEALS = 1 << 16;

/**
 * End-of-block cron: deals whose start slot passed without activation expire; the client's payment
 * and collateral are freed, the provider's collateral is burned.
 */
export async function expireUnactivatedDeals(state: StateDb, slot: number): Promise<void> {
  const pending = await pendingStarts(state);
  let due = 0;
  while (due < pending.length && pending[due]!.slot <= slot) due++;
  if (due === 0) return;
  for (const { id } of pending.slice(0, due)) {
    const deal = (await getDeal(state, id))!;
    if (deal.state !== DealState.published) continue;
    const p = deal.proposal;
    const miner = (await getMiner(state, p.provider))!;
    await unlock(state, p.client, dealPayment(p) + p.clientCollateral);
    await unlock(state, miner.owner, p.providerCollateral, true);
    await putDeal(state, id, { ...deal, state: DealState.expired });
    emitDeal(state, DealEventKind.expired, id, p, { refund: dealPayment(p) + p.clientCollateral, burned: p.providerCollateral });
  }
  await putPendingStarts(state, pending.slice(due));
}

/** A sector's deals as a pre-commit names them: this provider's published, unassigned deals whose pieces make its CommD. */
export async function assignDeals(state: StateDb, minerId: number, sectorNumber: number, dealIds: number[], commD: Uint8Array, sectorSize: number, expiration: number): Promise<void> {
  if (dealIds.length === 0) return;
  if (new Set(dealIds).size !== dealIds.length) throw new TxFailure('DUPLICATE_DEAL', 'a deal is named twice');
  const deals: [number, Deal][] = [];
  for (const id of dealIds) {
    const deal = await getDeal(state, id);
    if (!deal) throw new TxFailure('NO_SUCH_DEAL', `deal ${id} does not exist`);
    if (deal.proposal.provider !== minerId) throw new TxFailure('NOT_PROVIDER', `deal ${id} is with miner ${deal.proposal.provider}`);
    if (deal.state !== DealState.published || deal.sector !== 0) throw new TxFailure('DEAL_NOT_AVAILABLE', `deal ${id} is not waiting for a sector`);
    if (expiration < deal.proposal.endSlot) throw new TxFailure('SECTOR_EXPIRES_TOO_SOON', `the sector expires before deal ${id} ends at slot ${deal.proposal.endSlot}`);
    deals.push([id, deal]);
  }
  const expected = unsealedCommD(deals.map(([, d]) => ({ commitment: d.proposal.pieceCommitment, bytes: d.proposal.pieceBytes })), sectorSize);
  if (!expected || !bytesEqual(expected, commD)) throw new TxFailure('COMMD_MISMATCH', "the sector's CommD is not made of its deals' pieces");
  for (const [id, deal] of deals) await putDeal(state, id, { ...deal, sector: sectorNumber + 1 });
}

/** A proven sector activates its deals that are still waiting (an expired one stays expired). */
export async function activateDeals(state: StateDb, dealIds: number[]): Promise<void> {
  for (const id of dealIds) {
    const deal = (await getDeal(state, id))!;
    if (deal.state !== DealState.published) continue;
    await putDeal(state, id, { ...deal, state: DealState.active });
    emitDeal(state, DealEventKind.activated, id, deal.proposal, { sector: deal.sector - 1 });
  }
}

/**
 * Settles a sector's deals up to `slot` when a proof lands: the provider (its owner) is paid for the
 * slots since the last payment from the client's locked escrow; when the sector was faulty until this
 * proof, those slots are not paid and go back to the client. A deal settled to its end is completed
 * and both collaterals are freed.
 */
export async function payDeals(state: StateDb, dealIds: number[], slot: number, wasFaulty = false): Promise<void> {
  for (const id of dealIds) {
    const deal = (await getDeal(state, id))!;
    if (deal.state !== DealState.active) continue;
    const p = deal.proposal;
    const paidTo = Math.min(slot, p.endSlot);
    if (paidTo <= deal.lastPaidSlot) continue;
    const owed = p.pricePerSlot * BigInt(paidTo - deal.lastPaidSlot);
    const owner = (await getMiner(state, p.provider))!.owner;
    if (wasFaulty) await unlock(state, p.client, owed);
    else {
      const escrow = await getEscrow(state, p.client);
      await putEscrow(state, p.client, { total: escrow.total - owed, locked: escrow.locked - owed });
      await credit(state, owner, owed);
    }
    const done = paidTo === p.endSlot;
    if (done) {
      await unlock(state, p.client, p.clientCollateral);
      await unlock(state, owner, p.providerCollateral);
    }
    await putDeal(state, id, { ...deal, lastPaidSlot: paidTo, state: done ? DealState.completed : DealState.active });
    emitDeal(state, DealEventKind.payment, id, p, { sector: deal.sector - 1, ...(wasFaulty ? { refund: owed } : { amount: owed }) });
    if (done) emitDeal(state, DealEventKind.completed, id, p, { sector: deal.sector - 1, refund: p.clientCollateral });
  }
}

/**
 * A terminated sector's active deals end: the client gets the unpaid rest and its collateral back
 * and half the provider's collateral (into its escrow); the other half is burned.
 */
export async function slashDeals(state: StateDb, dealIds: number[]): Promise<void> {
  for (const id of dealIds) {
    const deal = (await getDeal(state, id))!;
    if (deal.state !== DealState.active) continue;
    const p = deal.proposal;
    const owner = (await getMiner(state, p.provider))!.owner;
    const refund = p.pricePerSlot * BigInt(p.endSlot - deal.lastPaidSlot) + p.clientCollateral;
    await unlock(state, p.client, refund);
    const toClient = slashedCollateralToClient(p.providerCollateral);
    const burned = p.providerCollateral - toClient;
    const ownerEscrow = await getEscrow(state, owner);
    await putEscrow(state, owner, { total: ownerEscrow.total - p.providerCollateral, locked: ownerEscrow.locked - p.providerCollateral });
    if (burned > 0n) await credit(state, BURN_ADDRESS, burned);
    const clientEscrow = await getEscrow(state, p.client);
    await putEscrow(state, p.client, { ...clientEscrow, total: clientEscrow.total + toClient });
    await putDeal(state, id, { ...deal, state: DealState.slashed });
    emitDeal(state, DealEventKind.slashed, id, p, { sector: deal.sector - 1, amount: toClient, refund, burned });
  }
}
