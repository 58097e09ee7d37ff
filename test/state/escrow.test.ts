// Market escrow: funded by anyone, withdrawn only by its account and never below what deals lock.
import { afterEach, describe, expect, it } from 'vitest';
import { blockId } from '../../src/chain/index.js';
import { mintedAtSlot } from '../../src/consensus/index.js';
import { addressOf, bcr, sha256 } from '../../src/primitives/index.js';
import { MemoryKv, Overlay, StateDb, TxFailure, escrowAddKind, escrowAddPayload, escrowWithdrawKind, escrowWithdrawPayload, getEscrow, putEscrow } from '../../src/state/index.js';
import { addBlock, DEV_ADDRESS, DEV_KEY, kindTx, openChain, tempDir, testGenesis, txContext } from '../helpers/chain.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const add = addBlock;

describe('market escrow', () => {
  it('is funded by anyone, withdrawn by its account only up to what is available, balances exact', async () => {
    const dir = tempDir();
    const { chain, db } = await openChain(dir.path);
    cleanups.push(dir.cleanup, () => db.close());
    const other = addressOf(sha256(new Uint8Array([0xe5])));
    const start = (await chain.getAccount(DEV_ADDRESS)).balance;
    const funded = await add(chain, [kindTx(DEV_KEY, 0, escrowAddKind, escrowAddPayload, { account: DEV_ADDRESS, value: bcr(10) }), kindTx(DEV_KEY, 1, escrowAddKind, escrowAddPayload, { account: other, value: bcr(2) })]);
    expect(await getEscrow(chain.headState(), DEV_ADDRESS)).toEqual({ total: bcr(10), locked: 0n });
    expect(await getEscrow(chain.headState(), other)).toEqual({ total: bcr(2), locked: 0n });
    const withdrawn = await add(chain, [kindTx(DEV_KEY, 2, escrowWithdrawKind, escrowWithdrawPayload, { value: bcr(4) }), kindTx(DEV_KEY, 3, escrowWithdrawKind, escrowWithdrawPayload, { value: bcr(7) })]);
    const receipts = (await chain.getReceipts(blockId(withdrawn.header)))!;
    expect(receipts.map((r) => [r.status, r.error])).toEqual([[0, ''], [1, 'ESCROW_LOCKED']]);
    expect(await getEscrow(chain.headState(), DEV_ADDRESS)).toEqual({ total: bcr(6), locked: 0n });
    // The dev key also owns the only miner: the fees it pays come back to it as the producer, and it
    // earns the issuance; so its balance moved by the escrow alone, plus the issuance.
    const fees = [...(await chain.getReceipts(blockId(funded.header)))!, ...receipts].reduce((s, r) => s + r.fee, 0n);
    expect(fees).toBeGreaterThan(0n);
    const issued = mintedAtSlot(chain.head.header.slot, chain.params);
    expect((await chain.getAccount(DEV_ADDRESS)).balance).toBe(start - bcr(12) + bcr(4) + issued);
  });

  it('never lets an account withdraw what deals have locked', async () => {
    const state = new StateDb(new Overlay(new MemoryKv()));
    const account = addressOf(sha256(new Uint8Array([0xe6])));
    await putEscrow(state, account, { total: bcr(10), locked: bcr(8) });
    const ctx = txContext({ state, params: testGenesis().params, sender: account, txId: new Uint8Array(32), height: 1, slot: 1 });
    await expect(escrowWithdrawKind.apply(ctx, { value: bcr(3) })).rejects.toBeInstanceOf(TxFailure);
    await escrowWithdrawKind.apply(ctx, { value: bcr(2) });
    expect(await getEscrow(state, account)).toEqual({ total: bcr(8), locked: bcr(8) });
  });
});
