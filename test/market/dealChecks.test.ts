// The provider's proposal checks: each rule refuses with its own code, cheapest first, and a good
// proposal passes. Prices and collateral follow the ask pro rata per GiB, rounded up.
import { describe, expect, it } from 'vitest';
import { DealRefusal, askCollateral, askPricePerSlot, checkProposal, pieceSizeFor, planPieces, type ProposeRequest, type ProviderView } from '../../src/market/index.js';
import { addressOf, sha256 } from '../../src/primitives/index.js';
import { signDealProposal, type DealProposal } from '../../src/state/index.js';

const clientKey = sha256(new Uint8Array([1]));
const ask = { miner: 4, pricePerGiBSlot: 1n << 30n, minPieceBytes: 256, maxPieceBytes: 1 << 20, collateralPerGiB: 3n << 30n, expirySlot: 1000, seq: 1 };
const view = (over: Partial<ProviderView> = {}): ProviderView => ({
  chainId: 3012,
  miner: { id: 4, sectorSize: 1 << 20 },
  ask,
  slot: 100,
  minStartLeadSlots: 20,
  maxStartLeadSlots: 1000,
  minDurationSlots: 50,
  maxDurationSlots: 10_000,
  nonceUsed: async () => false,
  clientEscrowFree: async () => 10n ** 18n,
  providerFundsProblem: async () => null,
  hasSpaceFor: async () => true,
  ...over,
});
const base: DealProposal = { pieceCommitment: new Uint8Array(32), pieceBytes: 2048, client: addressOf(clientKey), provider: 4, startSlot: 150, endSlot: 250, pricePerSlot: 2048n, providerCollateral: 6144n, clientCollateral: 0n, nonce: 1 };
const request = (p: Partial<DealProposal> = {}, over: Partial<ProposeRequest> = {}, key = clientKey): ProposeRequest => {
  const proposal = { ...base, ...p };
  return { chainId: 3012, proposal, clientSignature: signDealProposal(key, over.chainId ?? 3012, proposal), dataBytes: 2000, ...over };
};
const codeOf = async (r: ProposeRequest, v = view()) => checkProposal(r, v).then(() => 'OK', (e: { code: string }) => e.code);

describe('provider proposal checks', () => {
  it('accepts a proposal that meets the ask', async () => {
    expect(await codeOf(request())).toBe('OK');
  });

  it('refuses each broken rule with its code', async () => {
    expect(await codeOf(request({}, { chainId: 1 }))).toBe(DealRefusal.wrongChain);
    expect(await codeOf(request(), view({ miner: null }))).toBe(DealRefusal.notAMiner);
    expect(await codeOf(request({ provider: 5 }))).toBe(DealRefusal.wrongProvider);
    expect(await codeOf(request({}, {}, sha256(new Uint8Array([2]))))).toBe(DealRefusal.badClientSignature);
    expect(await codeOf({ ...request(), proposal: { ...base, nonce: 2 } })).toBe(DealRefusal.badClientSignature);
    expect(await codeOf(request({ pieceBytes: 3000 }))).toBe(DealRefusal.badPieceSize);
    expect(await codeOf(request({}, { dataBytes: 4096 }))).toBe(DealRefusal.badPieceSize);
    expect(await codeOf(request(), view({ ask: null }))).toBe(DealRefusal.noAsk);
    expect(await codeOf(request(), view({ ask: { ...ask, expirySlot: 100 } }))).toBe(DealRefusal.noAsk);
    expect(await codeOf(request({ pieceBytes: 128 }, { dataBytes: 100 }))).toBe(DealRefusal.pieceTooSmall);
    expect(await codeOf(request({ pieceBytes: 1 << 20 }), view({ ask: { ...ask, maxPieceBytes: 1 << 19 } }))).toBe(DealRefusal.pieceTooLarge);
    expect(await codeOf(request({ pricePerSlot: 2047n }))).toBe(DealRefusal.priceBelowAsk);
    expect(await codeOf(request({ providerCollateral: 6145n }))).toBe(DealRefusal.collateralAboveAsk);
    expect(await codeOf(request({ startSlot: 100, endSlot: 200 }))).toBe(DealRefusal.startPassed);
    expect(await codeOf(request({ startSlot: 110, endSlot: 200 }))).toBe(DealRefusal.startTooSoon);
    expect(await codeOf(request({ startSlot: 1101, endSlot: 1201 }))).toBe(DealRefusal.startTooLate);
    expect(await codeOf(request({ startSlot: 2 ** 52, endSlot: 2 ** 52 + 100 }))).toBe(DealRefusal.startTooLate);
    expect(await codeOf(request({ startSlot: 1100, endSlot: 1200 }))).toBe('OK');
    expect(await codeOf(request({ endSlot: 150 }))).toBe(DealRefusal.badDuration);
    expect(await codeOf(request({ endSlot: 199 }))).toBe(DealRefusal.badDuration);
    expect(await codeOf(request({ endSlot: 150 + 10_001 }))).toBe(DealRefusal.badDuration);
    expect(await codeOf(request(), view({ nonceUsed: async () => true }))).toBe(DealRefusal.nonceUsed);
    expect(await codeOf(request(), view({ clientEscrowFree: async () => 2048n * 100n - 1n }))).toBe(DealRefusal.escrowTooLow);
    expect(await codeOf(request(), view({ providerFundsProblem: async (p) => (p.providerCollateral > 6143n ? 'short' : null) }))).toBe(DealRefusal.providerFundsLow);
    expect(await codeOf(request(), view({ hasSpaceFor: async () => false }))).toBe(DealRefusal.noSpace);
  });

  it('prices pieces pro rata from the ask, rounded up, and sizes pieces to powers of two', () => {
    expect(askPricePerSlot({ pricePerGiBSlot: 1n << 30n }, 2048)).toBe(2048n);
    expect(askPricePerSlot({ pricePerGiBSlot: 1n }, 2048)).toBe(1n);
    expect(askPricePerSlot({ pricePerGiBSlot: 0n }, 2048)).toBe(0n);
    expect(askCollateral({ collateralPerGiB: 3n << 30n }, 1 << 20)).toBe(3n << 20n);
    expect(pieceSizeFor(1)).toBe(128);
    expect(pieceSizeFor(129)).toBe(256);
    expect(pieceSizeFor(100, 256)).toBe(256);
    expect(planPieces(5000, 2048, 256).map((p) => [p.offset, p.length, p.pieceBytes])).toEqual([[0, 2048, 2048], [2048, 2048, 2048], [4096, 904, 1024]]);
    expect(planPieces(3 << 20, 1 << 20, 256)).toHaveLength(3);
  });
});
