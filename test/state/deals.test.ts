// Deals on chain: published by the provider with the client's signed proposal, escrowing payment and
// collateral; refused precisely when anything is off; expired (client refunded, provider collateral
// burned) when not activated by the start slot.
import { afterEach, describe, expect, it } from 'vitest';
import { blockId, type Block, type ChainStore } from '../../src/chain/index.js';
import { addressOf, sha256 } from '../../src/primitives/index.js';
import { BURN_ADDRESS, DealState, MemoryKv, Overlay, StateDb, activateDeals, dealPayment, escrowAddKind, escrowAddPayload, getAccount, getDeal, getEscrow, payDeals, publishDealKind, publishDealPayload, putEscrow, putMiner, signDealProposal, type DealProposal } from '../../src/state/index.js';
import { addBlock, DEV_ADDRESS, DEV_KEY, WORKER_KEY, kindTx, openChain, tempDir, testGenesis, transferTx, txContext } from '../helpers/chain.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const add = addBlock;
const receipts = async (chain: ChainStore, block: Block) => (await chain.getReceipts(blockId(block.header)))!.map((r) => (r.status === 0 ? 'ok' : r.error));
const nonceOf = async (chain: ChainStore, key: Uint8Array) => (await chain.getAccount(addressOf(key))).nonce;

describe('storage deals on chain', () => {
  it('publishes, locks escrow exactly, refuses bad proposals with a code, and expires unactivated deals', async () => {
    const dir = tempDir();
    const { chain, db } = await openChain(dir.path);
    cleanups.push(dir.cleanup, () => db.close());
    const clientKey = sha256(new Uint8Array([0xc1]));
    const client = addressOf(clientKey);
    await add(chain, [transferTx(DEV_KEY, 0, client, 10n ** 18n), kindTx(DEV_KEY, 1, escrowAddKind, escrowAddPayload, { account: DEV_ADDRESS, value: 10_000n })]);
    await add(chain, [kindTx(clientKey, 0, escrowAddKind, escrowAddPayload, { account: client, value: 200_000n })]);
    const start = chain.head.header.slot + 30;
    const proposal: DealProposal = { pieceCommitment: sha256(new Uint8Array([1])), pieceBytes: 2048, client, provider: 1, startSlot: start, endSlot: start + 100, pricePerSlot: 1000n, providerCollateral: 5000n, clientCollateral: 50n, nonce: 1 };
    // Txs of one block from one sender take consecutive nonces.
    const pendingNonces = new Map<string, number>();
    const publish = async (p: DealProposal, signer = clientKey, sender = WORKER_KEY) => {
      const id = addressOf(sender).join();
      const nonce = Math.max(pendingNonces.get(id) ?? 0, await nonceOf(chain, sender));
      pendingNonces.set(id, nonce + 1);
      return kindTx(sender, nonce, publishDealKind, publishDealPayload, { proposal: p, clientSignature: signDealProposal(signer, chain.params.chainId, p) });
    };
    const ok = await add(chain, [await publish(proposal)]);
    expect(await receipts(chain, ok)).toEqual(['ok']);
    expect(await getDeal(chain.headState(), 1)).toMatchObject({ state: DealState.published, proposal: { nonce: 1, provider: 1 } });
    expect(await getEscrow(chain.headState(), client)).toEqual({ total: 200_000n, locked: dealPayment(proposal) + 50n });
    expect(await getEscrow(chain.headState(), DEV_ADDRESS)).toEqual({ total: 10_000n, locked: 5000n });

    const refused = await add(chain, [
      await publish({ ...proposal, nonce: 2 }, sha256(new Uint8Array([0xbad]))),
      await publish(proposal),
      await publish({ ...proposal, nonce: 3, pricePerSlot: 10_000n }),
      await publish({ ...proposal, nonce: 4, providerCollateral: 6000n }),
      await publish({ ...proposal, nonce: 5, startSlot: 1 }),
      await publish({ ...proposal, nonce: 6, pieceBytes: 4096 }),
      await publish({ ...proposal, nonce: 7 }, clientKey, clientKey),
    ]);
    expect(await receipts(chain, refused)).toEqual(['BAD_CLIENT_SIGNATURE', 'NONCE_USED', 'ESCROW_TOO_LOW', 'ESCROW_TOO_LOW', 'START_PASSED', 'BAD_PIECE_SIZE', 'NOT_PROVIDER']);

    // Never activated: at its start slot the client gets its funds back and the provider's collateral burns.
    const burned = (await chain.getAccount(BURN_ADDRESS)).balance;
    while (chain.head.header.slot < start) await add(chain, []);
    expect(await getDeal(chain.headState(), 1)).toMatchObject({ state: DealState.expired });
    expect(await getEscrow(chain.headState(), client)).toEqual({ total: 200_000n, locked: 0n });
    expect(await getEscrow(chain.headState(), DEV_ADDRESS)).toEqual({ total: 5000n, locked: 0n });
    expect((await chain.getAccount(BURN_ADDRESS)).balance - burned).toBe(5000n);
  }, 60_000);

  it('pays for proven slots only: slots a sector was faulty for go back to the client', async () => {
    const state = new StateDb(new Overlay(new MemoryKv()));
    const params = testGenesis().params;
    const clientKey = sha256(new Uint8Array([0xc2]));
    const client = addressOf(clientKey);
    const worker = addressOf(WORKER_KEY);
    const owner = addressOf(sha256(new Uint8Array([0x0e])));
    await putMiner(state, 1, { owner, worker, vrfKey: new Uint8Array(32), peerId: '', multiaddrs: [], sectorSize: 2048, collateral: 0n, pledge: 0n, deposits: 0n, power: 0n, powerLog: [], periodStart: 1, nextSector: 0, ineligibleUntil: 0 });
    await putEscrow(state, client, { total: 1_000_000n, locked: 0n });
    await putEscrow(state, owner, { total: 1000n, locked: 0n });
    const proposal: DealProposal = { pieceCommitment: new Uint8Array(32), pieceBytes: 2048, client, provider: 1, startSlot: 10, endSlot: 40, pricePerSlot: 100n, providerCollateral: 1000n, clientCollateral: 0n, nonce: 9 };
    await publishDealKind.apply(txContext({ state, params, sender: worker, txId: new Uint8Array(32), height: 1, slot: 1 }), { proposal, clientSignature: signDealProposal(clientKey, params.chainId, proposal) });
    await activateDeals(state, [1]);
    await payDeals(state, [1], 20, true); // faulty until this proof: slots 10-20 unpaid, freed
    expect(await getEscrow(state, client)).toEqual({ total: 1_000_000n, locked: 2000n });
    expect((await getAccount(state, owner)).balance).toBe(0n);
    await payDeals(state, [1], 30); // proven: slots 20-30 paid
    expect(await getEscrow(state, client)).toEqual({ total: 999_000n, locked: 1000n });
    expect((await getAccount(state, owner)).balance).toBe(1000n);
    await payDeals(state, [1], 45); // to the end: completed, collaterals freed
    expect(await getDeal(state, 1)).toMatchObject({ state: DealState.completed, lastPaidSlot: 40 });
    expect(await getEscrow(state, client)).toEqual({ total: 998_000n, locked: 0n });
    expect(await getEscrow(state, owner)).toEqual({ total: 1000n, locked: 0n });
  });
});
