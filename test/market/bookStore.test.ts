import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OrderBook, OrderBookStore, signOrder, type StorageAsk, type StorageOrder } from '../../src/market/index.js';
import { addressOf, sha256, toHex } from '../../src/primitives/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../helpers/chain.js';

const CHAIN_ID = 3012;
const WORKER = sha256(new Uint8Array([1]));
const CLIENT = sha256(new Uint8Array([2]));
const dir = tempDir('bcr-book-');
afterAll(() => dir.cleanup());

const book = (slot: { now: number }) => new OrderBook({ chainId: CHAIN_ID, currentSlot: () => slot.now, minerWorker: async (id) => (id === 1 ? addressOf(WORKER) : undefined) });
const ask = (over: Partial<StorageAsk> = {}): StorageAsk => ({ miner: 1, pricePerGiBSlot: 5n, minPieceBytes: 256, maxPieceBytes: 1 << 20, collateralPerGiB: 10n, expirySlot: 500, seq: 1, ...over });
const order = (over: Partial<StorageOrder> = {}): StorageOrder => ({ pieceCommitment: sha256(new Uint8Array([9])), pieceBytes: 1 << 16, durationSlots: 1000, maxPricePerGiBSlot: 7n, replicas: 2, expirySlot: 400, nonce: 1, ...over });
const ids = (b: OrderBook) => b.entries().map((e) => toHex(e.bytes)).sort();

describe('order book across restarts', () => {
  it('admits the live orders of the last run again, and drops those that expired meanwhile', async () => {
    const path = join(dir.path, 'a', 'orders.json');
    const slot = { now: 100 };
    const before = book(slot);
    const store = new OrderBookStore(before, path, silentLogger);
    expect(await store.restore()).toBe(0);
    await before.admit('storageAsk', signOrder('storageAsk', ask({ seq: 1 }), WORKER, CHAIN_ID));
    await before.admit('storageAsk', signOrder('storageAsk', ask({ seq: 2, pricePerGiBSlot: 4n }), WORKER, CHAIN_ID));
    await before.admit('storageOrder', signOrder('storageOrder', order({ expirySlot: 400 }), CLIENT, CHAIN_ID));
    await before.admit('storageOrder', signOrder('storageOrder', order({ expirySlot: 150, nonce: 2 }), CLIENT, CHAIN_ID));
    await store.close();

    // Restarted at slot 200: the latest ask and the order still live come back; the other order expired.
    const later = { now: 200 };
    const after = book(later);
    expect(await new OrderBookStore(after, path, silentLogger).restore()).toBe(2);
    expect(after.list('storageAsk').map((a) => a.order.seq)).toEqual([2]);
    expect(after.list('storageOrder').map((o) => o.order.nonce)).toEqual([1]);
    // What came back is exactly what was live, byte for byte.
    for (const hex of ids(after)) expect(ids(before)).toContain(hex);
  });

  it('writes only when the book changed, and starts empty from a damaged or hostile file', async () => {
    const path = join(dir.path, 'b', 'orders.json');
    const slot = { now: 100 };
    const b = book(slot);
    const store = new OrderBookStore(b, path, silentLogger);
    await b.admit('storageAsk', signOrder('storageAsk', ask(), WORKER, CHAIN_ID));
    await store.save();
    expect(existsSync(path)).toBe(true);
    // Unchanged since: not written again (the head moves every slot, the book seldom).
    rmSync(path);
    await store.save();
    expect(existsSync(path)).toBe(false);
    // A forged entry (signed by a key that is not the miner's worker), junk, and a valid one.
    writeFileSync(path, JSON.stringify([{ kind: 'storageAsk', bytes: toHex(signOrder('storageAsk', ask({ seq: 9 }), CLIENT, CHAIN_ID)) }, { kind: 'nonsense', bytes: '0x00' }, { kind: 'storageOrder', bytes: 'zz' }, null, { kind: 'storageOrder', bytes: toHex(signOrder('storageOrder', order(), CLIENT, CHAIN_ID)) }]));
    const fresh = book(slot);
    expect(await new OrderBookStore(fresh, path, silentLogger).restore()).toBe(1);
    expect(fresh.list('storageAsk')).toEqual([]);
    writeFileSync(path, '{"truncated');
    expect(await new OrderBookStore(book(slot), path, silentLogger).restore()).toBe(0);
  });
});
