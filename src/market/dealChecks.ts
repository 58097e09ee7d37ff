// A provider's checks of a deal proposal, cheapest first; each failure names its refusal code. The
// chain re-checks what it can (signature, start, nonce, escrow) when the deal is published: these
// checks spare the client a transfer that publication would refuse, and the provider a bad deal.
import { Domain, bytesEqual, encode, recoverSigner } from '../primitives/index.js';
import { dealPayment, dealProposalCodec, type DealProposal } from '../state/index.js';
import { DealRefusal, askCollateral, askPricePerSlot, type DealRefusalCode, type ProposeRequest } from './dealProtocol.js';
import type { StorageAsk } from './orders.js';

export interface ProviderView {
  chainId: number;
  /** The local miner, if this node runs one. */
  miner: { id: number; sectorSize: number } | null;
  ask: StorageAsk | null;
  slot: number;
  /** Slots a deal must start after now, so its sector can be sealed and proven in time. */
  minStartLeadSlots: number;
  /** Latest start the provider takes, in slots from now. */
  maxStartLeadSlots: number;
  /** Shortest and longest deal the provider takes, in slots. */
  minDurationSlots: number;
  maxDurationSlots: number;
  nonceUsed(client: Uint8Array, nonce: number): Promise<boolean>;
  /** The client's escrow available for new deals, less what this provider's unpublished deals will lock. */
  clientEscrowFree(client: Uint8Array): Promise<bigint>;
  /** Why the miner could not fund this deal (collateral, and the deposit and pledge of its sector) on top of its others; null: it can. */
  providerFundsProblem(proposal: DealProposal): Promise<string | null>;
  /** Whether the staging area has room for one more piece of this size. */
  hasSpaceFor(pieceBytes: number): Promise<boolean>;
}

export class DealRefused extends Error {
  constructor(
    readonly code: DealRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'DealRefused';
  }
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** Throws DealRefused with the first rule the proposal breaks. */
export async function checkProposal(request: ProposeRequest, view: ProviderView): Promise<void> {
  const { proposal: p } = request;
  const refuse = (code: DealRefusalCode, message: string): never => {
    throw new DealRefused(code, message);
  };
  if (request.chainId !== view.chainId) refuse(DealRefusal.wrongChain, `the proposal is for chain ${request.chainId}, this provider is on chain ${view.chainId}`);
  if (!view.miner) return refuse(DealRefusal.notAMiner, 'this node runs no miner');
  if (p.provider !== view.miner.id) refuse(DealRefusal.wrongProvider, `the proposal is for miner ${p.provider}, this node runs miner ${view.miner.id}`);
  let signer: Uint8Array | null = null;
  try {
    signer = recoverSigner(Domain.dealProposal, view.chainId, encode(dealProposalCodec, p), request.clientSignature);
  } catch {
    signer = null;
  }
  if (!signer || !bytesEqual(signer, p.client)) refuse(DealRefusal.badClientSignature, 'the proposal is not signed by its client');
  if (!isPowerOfTwo(p.pieceBytes) || p.pieceBytes < 128 || p.pieceBytes > view.miner.sectorSize) refuse(DealRefusal.badPieceSize, `piece size must be a power of two from 128 B to the sector size ${view.miner.sectorSize}`);
  if (request.dataBytes > p.pieceBytes || request.dataBytes === 0) refuse(DealRefusal.badPieceSize, `${request.dataBytes} bytes of data do not make a ${p.pieceBytes}-byte piece`);
  const ask = view.ask;
  if (!ask || ask.expirySlot <= view.slot) return refuse(DealRefusal.noAsk, 'this miner has no live ask');
  if (p.pieceBytes < ask.minPieceBytes) refuse(DealRefusal.pieceTooSmall, `the ask takes pieces from ${ask.minPieceBytes} bytes`);
  if (p.pieceBytes > ask.maxPieceBytes) refuse(DealRefusal.pieceTooLarge, `the ask takes pieces up to ${ask.maxPieceBytes} bytes`);
  const price = askPricePerSlot(ask, p.pieceBytes);
  if (p.pricePerSlot < price) refuse(DealRefusal.priceBelowAsk, `price ${p.pricePerSlot} atto/slot is below the ask's ${price} atto/slot for ${p.pieceBytes} bytes`);
  const collateral = askCollateral(ask, p.pieceBytes);
  if (p.providerCollateral > collateral) refuse(DealRefusal.collateralAboveAsk, `provider collateral ${p.providerCollateral} atto is above the ask's ${collateral} atto for ${p.pieceBytes} bytes`);
  if (p.startSlot <= view.slot) refuse(DealRefusal.startPassed, `start slot ${p.startSlot} is not after the current slot ${view.slot}`);
  if (p.startSlot < view.slot + view.minStartLeadSlots) refuse(DealRefusal.startTooSoon, `start slot ${p.startSlot} leaves no time to seal: start at ${view.slot + view.minStartLeadSlots} or later`);
  if (p.startSlot > view.slot + view.maxStartLeadSlots) refuse(DealRefusal.startTooLate, `start slot ${p.startSlot} is more than ${view.maxStartLeadSlots} slots ahead: start by ${view.slot + view.maxStartLeadSlots}`);
  if (p.endSlot <= p.startSlot) refuse(DealRefusal.badDuration, 'end slot must be after start slot');
  if (p.endSlot - p.startSlot < view.minDurationSlots) refuse(DealRefusal.badDuration, `deals last at least ${view.minDurationSlots} slots here`);
  if (p.endSlot - p.startSlot > view.maxDurationSlots) refuse(DealRefusal.badDuration, `deals last at most ${view.maxDurationSlots} slots here`);
  if (await view.nonceUsed(p.client, p.nonce)) refuse(DealRefusal.nonceUsed, `the client already used nonce ${p.nonce}`);
  const needed = dealPayment(p) + p.clientCollateral;
  const free = await view.clientEscrowFree(p.client);
  if (free < needed) refuse(DealRefusal.escrowTooLow, `the client's escrow has ${free} atto free, the deal locks ${needed}`);
  const short = await view.providerFundsProblem(p);
  if (short) refuse(DealRefusal.providerFundsLow, short);
  if (!(await view.hasSpaceFor(p.pieceBytes))) refuse(DealRefusal.noSpace, `no room for a ${p.pieceBytes}-byte piece now`);
}
