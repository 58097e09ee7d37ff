import { describe, expect, it } from 'vitest';
import { Mempool } from '../../src/mempool/index.js';
import { addressOf, bcr, hexKey, sha256 } from '../../src/primitives/index.js';
import { testGenesis, transferTx } from '../helpers/chain.js';

const params = testGenesis().params;
const keyOf = (i: number) => sha256(new Uint8Array([0x77, i]));
const to = new Uint8Array(20).fill(1);

function poolWith(nonces: Map<string, number> = new Map(), options = {}, balance = bcr(1000)) {
  return new Mempool(
    { params, accountState: async (address) => ({ nonce: nonces.get(hexKey(address)) ?? 0, spendable: balance }) },
    options,
  );
}

describe('Mempool', () => {
  it('orders by gas price across senders while keeping each sender in nonce order', async () => {
    const pool = poolWith();
    const [a, b] = [keyOf(1), keyOf(2)];
    await pool.add(transferTx(a, 1, to, 1n, 50n));
    await pool.add(transferTx(a, 0, to, 1n, 5n));
    await pool.add(transferTx(b, 0, to, 1n, 20n));
    await pool.add(transferTx(b, 1, to, 1n, 10n));
    const order = (await pool.selectForBlock(10)).map((t) => `${t.sender[19] === addressOf(a)[19] ? 'a' : 'b'}${t.body.nonce}`);
    expect(order).toEqual(['b0', 'b1', 'a0', 'a1']);
  });

  it('holds future nonces back until the gap is filled', async () => {
    const pool = poolWith();
    const a = keyOf(3);
    await pool.add(transferTx(a, 2, to, 1n));
    expect(await pool.selectForBlock(10)).toHaveLength(0);
    await pool.add(transferTx(a, 0, to, 1n));
    expect((await pool.selectForBlock(10)).map((t) => t.body.nonce)).toEqual([0]);
    await pool.add(transferTx(a, 1, to, 1n));
    expect((await pool.selectForBlock(10)).map((t) => t.body.nonce)).toEqual([0, 1, 2]);
  });

  it('replaces by fee only with at least a 10% bump', async () => {
    const pool = poolWith();
    const a = keyOf(4);
    await pool.add(transferTx(a, 0, to, 1n, 100n));
    await expect(pool.add(transferTx(a, 0, to, 2n, 109n))).rejects.toMatchObject({ code: 'REPLACEMENT_UNDERPRICED' });
    const replacement = await pool.add(transferTx(a, 0, to, 2n, 110n));
    expect(pool.size).toBe(1);
    expect(pool.has(replacement.id)).toBe(true);
  });

  it('rejects with precise codes', async () => {
    const a = keyOf(5);
    const pool = poolWith(new Map([[hexKey(addressOf(a)), 3]]), { maxPerSender: 4 });
    await expect(pool.add(transferTx(a, 2, to, 1n))).rejects.toMatchObject({ code: 'NONCE_TOO_LOW' });
    await expect(pool.add(transferTx(a, 7, to, 1n))).rejects.toMatchObject({ code: 'NONCE_TOO_FAR' });
    const tx = transferTx(a, 3, to, 1n);
    await pool.add(tx);
    await expect(pool.add(tx)).rejects.toMatchObject({ code: 'ALREADY_KNOWN' });
    await expect(pool.add(transferTx(a, 3, to, 1n, 1n, 1))).rejects.toMatchObject({ code: 'WRONG_CHAIN' });
    await expect(pool.add(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'MALFORMED' });
    const poor = poolWith(new Map(), {}, 100n);
    await expect(poor.add(transferTx(a, 0, to, 1n))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
  });

  it('when full, evicts the cheapest tail tx for a better-paying one, else refuses', async () => {
    const pool = poolWith(new Map(), { maxTotal: 3 });
    await pool.add(transferTx(keyOf(10), 0, to, 1n, 10n));
    await pool.add(transferTx(keyOf(11), 0, to, 1n, 3n));
    await pool.add(transferTx(keyOf(12), 0, to, 1n, 7n));
    await expect(pool.add(transferTx(keyOf(13), 0, to, 1n, 3n))).rejects.toMatchObject({ code: 'POOL_FULL' });
    await pool.add(transferTx(keyOf(13), 0, to, 1n, 4n));
    expect(pool.size).toBe(3);
    const prices = (await pool.selectForBlock(10)).map((t) => t.body.gasPrice);
    expect(prices).toEqual([10n, 7n, 4n]);
  });

  it('drops included and stale txs after a head change', async () => {
    const nonces = new Map<string, number>();
    const pool = poolWith(nonces);
    const a = keyOf(20);
    const t0 = transferTx(a, 0, to, 1n);
    const t1 = transferTx(a, 1, to, 1n);
    const t2 = transferTx(a, 2, to, 1n);
    for (const t of [t0, t1, t2]) await pool.add(t);
    nonces.set(hexKey(addressOf(a)), 2); // t0 included in a block, t1 included elsewhere
    const result = await pool.onHeadChange({ reverted: [], applied: [{ txs: [t0] }] });
    expect(result.dropped).toBe(1);
    expect(pool.size).toBe(1);
    expect(pool.has(sha256(t2))).toBe(true);
    expect(pool.nextPendingNonce(addressOf(a), 2)).toBe(3);
  });

  it('re-injects the txs of reverted blocks that the new branch lacks, and reports them once', async () => {
    const nonces = new Map<string, number>();
    const pool = poolWith(nonces);
    const a = keyOf(30);
    const b = keyOf(31);
    const onlyReverted = transferTx(a, 0, to, 1n);
    const onBoth = transferTx(b, 0, to, 1n);
    nonces.set(hexKey(addressOf(b)), 1); // the new branch includes onBoth
    const reported: Uint8Array[][] = [];
    pool.onReinject((txs) => reported.push(txs.map((t) => t.bytes)));
    const result = await pool.onHeadChange({ reverted: [{ txs: [onlyReverted, onBoth] }], applied: [{ txs: [onBoth] }] });
    expect(result).toEqual({ reinjected: 1, dropped: 0 });
    expect(pool.has(sha256(onlyReverted))).toBe(true);
    expect(reported).toEqual([[onlyReverted]]);
    // A head change that re-injects nothing reports nothing.
    await pool.onHeadChange({ reverted: [], applied: [{ txs: [] }] });
    expect(reported).toHaveLength(1);
  });

  describe('flood limits', () => {
    it('limits nonce-gapped txs per sender and in total, so a gapped flood cannot fill the pool', async () => {
      const pool = poolWith(new Map(), { maxQueuedPerSender: 4, maxQueuedTotal: 10, maxTotal: 100 });
      for (let n = 1; n <= 4; n++) await pool.add(transferTx(keyOf(40), n, to, 1n));
      await expect(pool.add(transferTx(keyOf(40), 5, to, 1n))).rejects.toMatchObject({ code: 'SENDER_QUEUE_FULL' });
      for (let n = 1; n <= 4; n++) await pool.add(transferTx(keyOf(41), n, to, 1n));
      await pool.add(transferTx(keyOf(42), 1, to, 1n));
      await pool.add(transferTx(keyOf(42), 2, to, 1n));
      await expect(pool.add(transferTx(keyOf(43), 1, to, 1n))).rejects.toMatchObject({ code: 'QUEUE_FULL' });
      expect(pool.stats()).toMatchObject({ queued: 10, pending: 0 });
      // An honest executable tx still gets in, and filling a gap turns queued txs pending.
      await pool.add(transferTx(keyOf(44), 0, to, 1n));
      await pool.add(transferTx(keyOf(40), 0, to, 1n));
      expect(pool.stats()).toMatchObject({ queued: 6, pending: 6 });
      expect((await pool.selectForBlock(100)).map((t) => t.body.nonce).sort()).toEqual([0, 0, 1, 2, 3, 4]);
    });

    it('drops queued txs whose gap is not filled within their lifetime', async () => {
      let now = 1_000_000;
      const pool = poolWith(new Map(), { queuedLifetimeMs: 60_000, now: () => now });
      await pool.add(transferTx(keyOf(50), 3, to, 1n));
      await pool.add(transferTx(keyOf(51), 0, to, 1n));
      now += 60_001;
      const { dropped } = await pool.onHeadChange({ reverted: [], applied: [] });
      expect(dropped).toBe(1);
      expect(pool.stats()).toMatchObject({ total: 1, queued: 0, pending: 1 });
    });

    it("checks each sender's pooled txs together against its spendable balance", async () => {
      const pool = poolWith(new Map(), {}, 2n * 210_000n + 21_000n + 100n);
      const a = keyOf(60);
      await pool.add(transferTx(a, 0, to, 100n, 10n));
      await pool.add(transferTx(a, 1, to, 0n, 10n));
      await expect(pool.add(transferTx(a, 2, to, 0n, 10n))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
      // A replacement is counted instead of the tx it replaces, not beside it: this one fits exactly.
      await pool.add(transferTx(a, 1, to, 0n, 11n));
      await expect(pool.add(transferTx(a, 1, to, 1n, 13n))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    });

    it("never refuses the local miner's own txs for a full pool, and puts them first in its blocks", async () => {
      const pool = poolWith(new Map(), { maxTotal: 2 });
      await pool.add(transferTx(keyOf(70), 0, to, 1n, 50n));
      await pool.add(transferTx(keyOf(71), 0, to, 1n, 50n));
      await expect(pool.add(transferTx(keyOf(72), 0, to, 1n, 1n))).rejects.toMatchObject({ code: 'POOL_FULL' });
      const own = await pool.add(transferTx(keyOf(72), 0, to, 1n, 1n), { local: true });
      await pool.add(transferTx(keyOf(72), 1, to, 1n, 1n), { local: true });
      expect(pool.stats()).toMatchObject({ total: 4, local: 2 });
      const selected = await pool.selectForBlock(10);
      expect(selected[0]!.id).toEqual(own.id);
      expect(selected.map((t) => t.body.gasPrice)).toEqual([1n, 1n, 50n, 50n]);
    });

    it('evicts a queued tx before a pending one of the same price', async () => {
      const pool = poolWith(new Map(), { maxTotal: 2 });
      await pool.add(transferTx(keyOf(80), 0, to, 1n, 5n));
      await pool.add(transferTx(keyOf(81), 1, to, 1n, 5n));
      await pool.add(transferTx(keyOf(82), 0, to, 1n, 6n));
      expect(pool.stats()).toMatchObject({ total: 2, queued: 0, evicted: 1 });
    });
  });
});
