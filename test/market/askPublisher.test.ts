// The local miner's ask is signed with its worker key, admitted, published, and renewed (higher seq,
// later expiry) once a quarter of its life is left, and re-announced every republishSlots.
import { describe, expect, it } from 'vitest';
import { AskPublisher, OrderBook } from '../../src/market/index.js';
import { addressOf } from '../../src/primitives/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { WORKER_KEY } from '../helpers/chain.js';

describe('AskPublisher', () => {
  it('publishes the ask and renews it before it expires', async () => {
    let slot = 1000;
    const book = new OrderBook({ chainId: 3012, currentSlot: () => slot, minerWorker: async (id) => (id === 1 ? addressOf(WORKER_KEY) : undefined) });
    const published: Uint8Array[] = [];
    let running = false;
    const asks = new AskPublisher({ book, publish: (b) => published.push(b), signer: () => (running ? { minerId: 1, workerKey: WORKER_KEY } : null), chainId: 3012, currentSlot: () => slot, log: silentLogger });
    const terms = { pricePerGiBSlot: 7n, minPieceBytes: 256, maxPieceBytes: 1 << 20, collateralPerGiB: 3n, expirySlots: 100 };
    await expect(asks.set(terms)).rejects.toThrow(/no miner/);
    running = true;
    const first = await asks.set(terms);
    expect(first.order).toMatchObject({ miner: 1, pricePerGiBSlot: 7n, expirySlot: 1100, seq: 1000 });
    expect(published).toHaveLength(1);
    slot = 1074; // 26 slots left: not yet
    await asks.refresh();
    expect(published).toHaveLength(1);
    slot = 1075; // a quarter left: renewed
    await asks.refresh();
    expect(published).toHaveLength(2);
    expect(asks.ask!.order).toMatchObject({ expirySlot: 1175, seq: 1075 });
    expect(book.list('storageAsk').map((o) => o.order.seq)).toEqual([1075]);
  });

  it('re-announces a long-lived ask every republishSlots, so late joiners learn it', async () => {
    let slot = 50;
    const book = new OrderBook({ chainId: 3012, currentSlot: () => slot, minerWorker: async () => addressOf(WORKER_KEY) });
    const published: Uint8Array[] = [];
    const asks = new AskPublisher({ book, publish: (b) => published.push(b), signer: () => ({ minerId: 1, workerKey: WORKER_KEY }), chainId: 3012, currentSlot: () => slot, log: silentLogger, republishSlots: 20 });
    await asks.set({ pricePerGiBSlot: 1n, minPieceBytes: 256, maxPieceBytes: 1024, collateralPerGiB: 0n, expirySlots: 3600 });
    slot = 69;
    await asks.refresh();
    expect(published).toHaveLength(1);
    slot = 70;
    await asks.refresh();
    expect(published).toHaveLength(2);
    expect(asks.ask!.order).toMatchObject({ seq: 70, expirySlot: 3670 });
  });
});
