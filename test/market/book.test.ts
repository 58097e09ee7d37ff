import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { MAX_ORDER_LIFETIME_SLOTS, MarketError, OrderBook, openOrder, signOrder, type StorageAsk, type StorageOrder } from '../../src/market/index.js';
import { addressOf, sha256 } from '../../src/primitives/index.js';

const CHAIN_ID = 3012;
const WORKER = sha256(new Uint8Array([1]));
const CLIENT = sha256(new Uint8Array([2]));

function book(slot = { now: 100 }) {
  return new OrderBook({ chainId: CHAIN_ID, currentSlot: () => slot.now, minerWorker: async (id) => (id === 1 ? addressOf(WORKER) : undefined) });
}

const ask = (over: Partial<StorageAsk> = {}): StorageAsk => ({ miner: 1, pricePerGiBSlot: 5n, minPieceBytes: 256, maxPieceBytes: 1 << 20, collateralPerGiB: 10n, expirySlot: 500, seq: 1, ...over });
const order = (over: Partial<StorageOrder> = {}): StorageOrder => ({ pieceCommitment: sha256(new Uint8Array([9])), pieceBytes: 1 << 16, durationSlots: 1000, maxPricePerGiBSlot: 7n, replicas: 2, expirySlot: 400, nonce: 1, ...over });

async function rejects(promise: Promise<unknown>, code: string, action: 'IGNORE' | 'REJECT'): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(MarketError);
  expect((error as MarketError).code).toBe(code);
  expect((error as MarketError).action).toBe(action);
}

describe('market orders', () => {
  test.prop([fc.integer({ min: 0, max: 1e9 }), fc.bigInt({ min: 0n, max: 2n ** 128n }), fc.integer({ min: 0, max: 1e9 })])('round-trip signed and recover their signer', (expirySlot, price, nonce) => {
    const bytes = signOrder('retrievalOrder', { pieceCommitment: sha256(new Uint8Array([1])), maxPricePerByte: price, expirySlot, nonce }, CLIENT, CHAIN_ID);
    const opened = openOrder('retrievalOrder', bytes, CHAIN_ID);
    expect(opened.order).toEqual({ pieceCommitment: sha256(new Uint8Array([1])), maxPricePerByte: price, expirySlot, nonce });
    expect(opened.signer).toEqual(addressOf(CLIENT));
  });

  it('binds the signature to the chain id and the order kind', () => {
    const bytes = signOrder('storageOrder', order(), CLIENT, CHAIN_ID);
    expect(openOrder('storageOrder', bytes, 1).signer).not.toEqual(addressOf(CLIENT));
    expect(() => openOrder('storageAsk', bytes, CHAIN_ID)).toThrow();
  });

  it('admits valid orders into the live book and drops them when they expire', async () => {
    const slot = { now: 100 };
    const b = book(slot);
    await b.admit('storageAsk', signOrder('storageAsk', ask(), WORKER, CHAIN_ID));
    await b.admit('storageOrder', signOrder('storageOrder', order(), CLIENT, CHAIN_ID));
    expect(b.list('storageAsk')).toHaveLength(1);
    expect(b.list('storageOrder')).toHaveLength(1);
    slot.now = 450;
    b.prune(slot.now);
    expect(b.list('storageOrder')).toHaveLength(0);
    expect(b.list('storageAsk')).toHaveLength(1);
  });

  it('rejects invalid orders with a precise code and gossip action', async () => {
    const b = book();
    await rejects(b.admit('storageAsk', new Uint8Array([1, 2, 3])), 'MALFORMED', 'REJECT');
    await rejects(b.admit('storageAsk', signOrder('storageAsk', ask(), CLIENT, CHAIN_ID)), 'NOT_MINER_WORKER', 'REJECT');
    await rejects(b.admit('storageAsk', signOrder('storageAsk', ask({ miner: 9 }), WORKER, CHAIN_ID)), 'UNKNOWN_MINER', 'IGNORE');
    await rejects(b.admit('storageAsk', signOrder('storageAsk', ask({ minPieceBytes: 300 }), WORKER, CHAIN_ID)), 'BAD_FIELD', 'REJECT');
    await rejects(b.admit('storageOrder', signOrder('storageOrder', order({ expirySlot: 100 }), CLIENT, CHAIN_ID)), 'EXPIRED', 'IGNORE');
    await rejects(b.admit('storageOrder', signOrder('storageOrder', order({ expirySlot: 101 + MAX_ORDER_LIFETIME_SLOTS }), CLIENT, CHAIN_ID)), 'TOO_FAR_AHEAD', 'REJECT');
    await rejects(b.admit('storageOrder', signOrder('storageOrder', order({ replicas: 0 }), CLIENT, CHAIN_ID)), 'BAD_FIELD', 'REJECT');
    const good = signOrder('storageOrder', order(), CLIENT, CHAIN_ID);
    await b.admit('storageOrder', good);
    await rejects(b.admit('storageOrder', good), 'DUPLICATE', 'IGNORE');
    expect(b.size).toBe(1);
  });

  it("keeps one ask per miner: a higher seq replaces it, a stale one is ignored", async () => {
    const b = book();
    await b.admit('storageAsk', signOrder('storageAsk', ask({ seq: 2 }), WORKER, CHAIN_ID));
    await rejects(b.admit('storageAsk', signOrder('storageAsk', ask({ seq: 1, pricePerGiBSlot: 1n }), WORKER, CHAIN_ID)), 'STALE_SEQ', 'IGNORE');
    await b.admit('storageAsk', signOrder('storageAsk', ask({ seq: 3, pricePerGiBSlot: 3n }), WORKER, CHAIN_ID));
    expect(b.list('storageAsk').map((a) => a.order.pricePerGiBSlot)).toEqual([3n]);
    expect(b.size).toBe(1);
  });

  it('caps live orders per signer', async () => {
    const b = book();
    for (let nonce = 0; nonce < 32; nonce++) await b.admit('retrievalOrder', signOrder('retrievalOrder', { pieceCommitment: new Uint8Array(32), maxPricePerByte: 1n, expirySlot: 300, nonce }, CLIENT, CHAIN_ID));
    await rejects(b.admit('retrievalOrder', signOrder('retrievalOrder', { pieceCommitment: new Uint8Array(32), maxPricePerByte: 1n, expirySlot: 300, nonce: 99 }, CLIENT, CHAIN_ID)), 'SIGNER_LIMIT', 'IGNORE');
  });
});
