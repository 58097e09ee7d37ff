import { afterEach, describe, expect, it } from 'vitest';
import { blockId, signHeader, txRootOf, type Block, type ChainStore } from '../../src/chain/index.js';
import type { Database } from '../../src/db/index.js';
import { Mempool } from '../../src/mempool/index.js';
import { addressOf, bcr, hexKey, sha256 } from '../../src/primitives/index.js';
import { LEGACY_SMT_NODE_PREFIX, SMT_NODE_PREFIX, accountKey, verifyStateProof } from '../../src/state/index.js';
import { DEV_KEY, TEAM_ADDRESS, WORKER_KEY, nextBlock, nowForSlot, openChain, tempDir, transferTx } from '../helpers/chain.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshChain(): Promise<{ chain: ChainStore; db: Database; path: string }> {
  const dir = tempDir();
  const opened = await openChain(dir.path);
  cleanups.push(dir.cleanup, () => opened.db.close());
  return { ...opened, path: dir.path };
}

/** Adds `count` blocks from slot `from` on (the miner wins about every other slot); txsAt[i] go in block i. */
async function extend(chain: ChainStore, from: number, count: number, txsAt: Record<number, Uint8Array[]> = {}): Promise<Block[]> {
  const blocks: Block[] = [];
  for (let i = 0; i < count; i++) {
    const block = await nextBlock(chain, from, txsAt[i] ?? []);
    await chain.importBlock(block, nowForSlot(chain, block.header.slot));
    blocks.push(block);
  }
  return blocks;
}

const other = addressOf(sha256(new Uint8Array([42])));
const LATER = 100_000; // a "now" slot far enough ahead that no test block is in the future

describe('ChainStore', () => {
  it('imports blocks, indexes txs and receipts, and serves state proofs', async () => {
    const { chain } = await freshChain();
    const tx = transferTx(DEV_KEY, 0, other, bcr(5));
    const [b1] = await extend(chain, 1, 1, { 0: [tx] });
    expect(chain.head.header.height).toBe(1);
    const loc = await chain.getTxLocation(sha256(tx));
    expect(loc).toMatchObject({ height: 1, index: 0 });
    expect((await chain.getReceipts(blockId(b1!.header)))![0]).toMatchObject({ status: 0, gasUsed: 21000 });
    expect((await chain.getAccount(other)).balance).toBe(bcr(5));
    const proof = await chain.getStateProof(accountKey(other));
    expect(verifyStateProof(chain.head.header.stateRoot, proof)).toBe(true);
    const absent = await chain.getStateProof(accountKey(new Uint8Array(20).fill(9)));
    expect(absent.value).toBeNull();
    expect(verifyStateProof(chain.head.header.stateRoot, absent)).toBe(true);
  });

  it('rejects bad blocks with a precise code and leaves the store untouched', async () => {
    const { chain } = await freshChain();
    await extend(chain, 1, 1);
    const headBefore = hexKey(chain.head.id);
    const good = await nextBlock(chain, 2, [transferTx(DEV_KEY, 0, other, 1n)]);
    const otherKey = sha256(new Uint8Array([7]));
    const now = nowForSlot(chain, LATER);
    const { signature: _s, ...unsigned } = good.header;
    const resign = (changes: Partial<typeof unsigned>, key = WORKER_KEY): Block => ({ ...good, header: signHeader(key, chain.params.chainId, { ...unsigned, ...changes }) });
    const cases: [Block, string, number?][] = [
      [resign({ stateRoot: new Uint8Array(32) }), 'BAD_STATE_ROOT'],
      [resign({ receiptsRoot: new Uint8Array(32) }), 'BAD_RECEIPTS_ROOT'],
      [resign({ txRoot: new Uint8Array(32) }), 'BAD_TX_ROOT'],
      [resign({ height: 5 }), 'BAD_HEIGHT'],
      [resign({ slot: chain.head.header.slot, timestamp: nowForSlot(chain, chain.head.header.slot) }), 'BAD_SLOT'],
      [resign({ timestamp: good.header.timestamp + 10_000 }), 'BAD_TIMESTAMP'],
      [resign({}, otherKey), 'BAD_SIGNATURE'],
      [resign({ miner: 7 }), 'UNKNOWN_MINER'],
      [resign({ vrfOutput: sha256(good.header.vrfOutput) }), 'BAD_ELECTION_PROOF'],
      [resign({ vrfProof: good.header.vrfProof.map((b, i) => (i === 40 ? b ^ 1 : b)) }), 'BAD_ELECTION_PROOF'],
      [resign({ slot: good.header.slot + 1, timestamp: nowForSlot(chain, good.header.slot + 1) }), 'BAD_ELECTION_PROOF'],
      [resign({ winningPost: good.header.winningPost.subarray(1) }), 'BAD_WINNING_POST'],
      [resign({ parentId: new Uint8Array(32).fill(3) }), 'PARENT_UNKNOWN'],
      [{ ...good, txs: [transferTx(DEV_KEY, 0, other, 1n, 1n, 1)] }, 'BAD_TX'],
      [await nextBlock(chain, 10), 'FUTURE_SLOT', nowForSlot(chain, 3)],
    ];
    for (const [block, code, at] of cases) {
      await expect(chain.importBlock(block, at ?? now), code).rejects.toMatchObject({ code });
      expect(hexKey(chain.head.id)).toBe(headBefore);
    }
    await chain.importBlock(good, now);
    await expect(chain.importBlock(good, now)).rejects.toMatchObject({ code: 'ALREADY_KNOWN', action: 'IGNORE' });
    // A block that double-spends a nonce is invalid as a whole.
    const replay = await nextBlock(chain, good.header.slot + 1);
    const { signature: _r, ...u3 } = replay.header;
    const replayed = transferTx(DEV_KEY, 0, other, 1n);
    const withReplay: Block = { header: signHeader(WORKER_KEY, chain.params.chainId, { ...u3, txRoot: txRootOf([sha256(replayed)]) }), txs: [replayed] };
    await expect(chain.importBlock(withReplay, now)).rejects.toMatchObject({ code: 'BAD_TX', meta: { txCode: 'NONCE_TOO_LOW' } });
  });

  it('builds a block only on the parent its ticket was won on (HEAD_MOVED once another block landed)', async () => {
    const { chain } = await freshChain();
    const stale = chain.head.id;
    const next = await nextBlock(chain, 1);
    await chain.importBlock(next, nowForSlot(chain, next.header.slot));
    const opts = { workerKey: WORKER_KEY, minerId: 1, slot: next.header.slot + 1, timestamp: 0, ticket: { vrfProof: new Uint8Array(80), vrfOutput: new Uint8Array(32) }, winningPost: new Uint8Array(0), candidates: [] };
    await expect(chain.buildBlock(stale, opts)).rejects.toMatchObject({ code: 'HEAD_MOVED' });
  });

  it('survives a reopen with the same head and state', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const first = await openChain(dir.path);
    await extend(first.chain, 1, 3, { 1: [transferTx(DEV_KEY, 0, other, 7n)] });
    const head = hexKey(first.chain.head.id);
    await first.db.close();
    const second = await openChain(dir.path);
    cleanups.push(() => second.db.close());
    expect(hexKey(second.chain.head.id)).toBe(head);
    expect((await second.chain.getAccount(other)).balance).toBe(7n);
  });

  it('rebuilds a state tree of the earlier per-position format from the flat values on open', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const first = await openChain(dir.path);
    await extend(first.chain, 1, 3, { 1: [transferTx(DEV_KEY, 0, other, 7n)] });
    const head = first.chain.head;
    // Turn the store into what an earlier version left: no pages, one record per tree position.
    const pages: Uint8Array[] = [];
    for await (const [key] of first.db.entries(SMT_NODE_PREFIX)) pages.push(key);
    expect(pages.length).toBeGreaterThan(1);
    const legacy = Array.from({ length: 5 }, (_, i) => ({ key: new Uint8Array([LEGACY_SMT_NODE_PREFIX, 0, i]), value: new Uint8Array([2, 3, ...new Uint8Array(32)]) }));
    await first.db.write([...pages.map((key) => ({ key, value: null })), ...legacy], true);
    await first.db.close();
    const second = await openChain(dir.path);
    cleanups.push(() => second.db.close());
    expect(hexKey(second.chain.head.id)).toBe(hexKey(head.id));
    let left = 0;
    for await (const _ of second.db.entries(LEGACY_SMT_NODE_PREFIX)) left++;
    expect(left).toBe(0);
    const proof = await second.chain.getStateProof(accountKey(other));
    expect(verifyStateProof(head.header.stateRoot, proof)).toBe(true);
    expect((await second.chain.getAccount(other)).balance).toBe(7n);
  });

  it('reorganises to a longer branch, restoring balances and reporting dropped txs', async () => {
    const a = await freshChain();
    const b = await freshChain();
    const [common] = await extend(a.chain, 1, 1);
    await b.chain.importBlock(common!, nowForSlot(b.chain, common!.header.slot));
    const txA = transferTx(DEV_KEY, 0, other, bcr(1));
    const txB = transferTx(DEV_KEY, 0, TEAM_ADDRESS, bcr(2));
    await extend(a.chain, 2, 2, { 0: [txA] });
    const branch = await extend(b.chain, 40, 3, { 0: [txB] });
    const mempool = new Mempool({
      params: a.chain.params,
      accountState: async (address) => {
        const acc = await a.chain.getAccount(address);
        return { nonce: acc.nonce, spendable: acc.balance };
      },
    });
    const changes: { reverted: Block[]; applied: Block[] }[] = [];
    a.chain.onHeadChange((c) => changes.push(c));
    for (const block of branch) await a.chain.importBlock(block, nowForSlot(a.chain, LATER));
    expect(hexKey(a.chain.head.id)).toBe(hexKey(b.chain.head.id));
    expect(a.chain.head.header.stateRoot).toEqual(b.chain.head.header.stateRoot);
    expect((await a.chain.getAccount(other)).balance).toBe(0n);
    expect((await a.chain.getAccount(TEAM_ADDRESS)).balance).toBe((await b.chain.getAccount(TEAM_ADDRESS)).balance);
    expect(await a.chain.getTxLocation(sha256(txA))).toBeUndefined();
    expect((await a.chain.getTxLocation(sha256(txB)))?.height).toBe(2);
    const reorg = changes.find((c) => c.reverted.length > 0)!;
    expect(reorg.reverted.flatMap((blk) => blk.txs)).toContainEqual(txA);
    // The dropped tx's nonce is now used by txB, so it cannot re-enter; a fresh nonce-1 tx from branch A would.
    const result = await mempool.onHeadChange(reorg);
    expect(result.reinjected).toBe(0);
    expect(mempool.size).toBe(0);
  });

  it('re-injects txs of reverted blocks that the new branch does not contain', async () => {
    const a = await freshChain();
    const b = await freshChain();
    const txA = transferTx(DEV_KEY, 0, other, bcr(1));
    await extend(a.chain, 1, 1, { 0: [txA] });
    const branch = await extend(b.chain, 40, 2);
    const mempool = new Mempool({
      params: a.chain.params,
      accountState: async (address) => {
        const acc = await a.chain.getAccount(address);
        return { nonce: acc.nonce, spendable: acc.balance };
      },
    });
    a.chain.onHeadChange((c) => void mempool.onHeadChange(c));
    for (const block of branch) await a.chain.importBlock(block, nowForSlot(a.chain, LATER));
    await new Promise((r) => setTimeout(r, 20));
    expect(mempool.has(sha256(txA))).toBe(true);
  });

  it('refuses reorgs deeper than finality and reports the finalized height', async () => {
    const a = await freshChain();
    const b = await freshChain();
    const finality = a.chain.params.finality;
    await extend(a.chain, 1, finality + 2);
    const branch = await extend(b.chain, 200, finality + 3);
    expect(a.chain.finalizedHeight).toBe(2);
    let refused = 0;
    for (const block of branch) {
      try {
        await a.chain.importBlock(block, nowForSlot(a.chain, LATER));
      } catch (error) {
        // Blocks at finalized heights are refused; their descendants then have no known parent.
        expect(error).toMatchObject({ code: refused < 2 ? 'FINALIZED_CONFLICT' : 'PARENT_UNKNOWN', action: 'IGNORE' });
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(a.chain.head.header.height).toBe(finality + 2);
    expect(a.chain.head.header.miner).toBe(1);
  });

  it('stores a side block only once it is fully valid on its own parent state, and deletes it below finality', async () => {
    const a = await freshChain();
    const b = await freshChain();
    const [common] = await extend(a.chain, 1, 1);
    await b.chain.importBlock(common!, nowForSlot(b.chain, common!.header.slot));
    await extend(a.chain, 2, 3);
    const [side] = await extend(b.chain, 60, 1, { 0: [transferTx(DEV_KEY, 0, other, 3n)] });
    const now = nowForSlot(a.chain, LATER);
    const { signature: _s, ...unsigned } = side!.header;
    const forged = (changes: Partial<typeof unsigned>, key = WORKER_KEY): Block => ({ ...side!, header: signHeader(key, a.chain.params.chainId, { ...unsigned, ...changes }) });
    // A random key, and the miner's key over a state root its txs do not produce: nothing stored.
    for (const [block, code] of [[forged({}, sha256(new Uint8Array([9]))), 'BAD_SIGNATURE'], [forged({ stateRoot: new Uint8Array(32) }), 'BAD_STATE_ROOT']] as const) {
      await expect(a.chain.importBlock(block, now)).rejects.toMatchObject({ code, action: 'REJECT' });
      expect(await a.chain.hasBlock(blockId(block.header))).toBe(false);
    }
    const headBefore = hexKey(a.chain.head.id);
    expect(await a.chain.importBlock(side!, now)).toEqual({ status: 'side' });
    expect(hexKey(a.chain.head.id)).toBe(headBefore);
    expect(await a.chain.hasBlock(blockId(side!.header))).toBe(true);
    expect((await a.chain.getAccount(other)).balance).toBe(0n); // its state was never committed
    // Once its height is final, the side block is gone.
    while (a.chain.finalizedHeight < side!.header.height) await extend(a.chain, a.chain.head.header.slot + 1, 1);
    expect(await a.chain.hasBlock(blockId(side!.header))).toBe(false);
    expect(await a.chain.hasBlock(blockId(common!.header))).toBe(true);
  });
});
