// A storage deal through its life on a real chain with real proofs: published by the provider,
// its piece sealed into a sector whose CommD the deal's piece makes, activated by the PoRep, paid
// for as WindowPoSts land, completed (collaterals freed); and a second deal whose sector is
// terminated: the client refunded, the provider's collateral burned.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { blockId, type Block } from '../../src/chain/index.js';
import { addressOf, bcr, sha256 } from '../../src/primitives/index.js';
import { TreeReader, bufferSource, buildTreeCache, merkleRoot, provePorep, replicaIdOf, sealInMemory, type ProvableSector } from '../../src/proofs/index.js';
import {
  BURN_ADDRESS,
  DealEventKind,
  DealState,
  type DealEvent,
  addCollateralKind,
  collateralPayload,
  dealPayment,
  escrowAddKind,
  escrowAddPayload,
  getDeal,
  getEscrow,
  preCommitKind,
  preCommitPayload,
  proveCommitKind,
  proveCommitPayload,
  publishDealKind,
  publishDealPayload,
  sealInputs,
  sectorListPayload,
  signDealProposal,
  terminateSectorsKind,
  type DealProposal,
} from '../../src/state/index.js';
import { mintedAtSlot } from '../../src/consensus/index.js';
import { DEV_ADDRESS, DEV_KEY, TEST_PROOFS, WORKER_KEY, genesisMinerSectors, heldSupply, kindTx, nextBlock, nowForSlot, openChain, tempDir, transferTx } from '../helpers/chain.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a storage deal on chain', () => {
  it('is activated by its sector, paid as proofs land and completed; a terminated sector slashes its deal', async () => {
    const dir = tempDir();
    const { chain, db } = await openChain(dir.path);
    cleanups.push(dir.cleanup, () => db.close());
    const sectors = new Map<number, ProvableSector>(await genesisMinerSectors());
    const add = async (txs: Uint8Array[] = []): Promise<Block> => {
      const block = await nextBlock(chain, chain.head.header.slot + 1, txs, { sectors });
      await chain.importBlock(block, nowForSlot(chain, block.header.slot));
      return block;
    };
    const receipt = async (block: Block, index = 0) => (await chain.getReceipts(blockId(block.header)))![index]!;
    const workerNonce = async () => (await chain.getAccount(addressOf(WORKER_KEY))).nonce;
    const clientKey = sha256(new Uint8Array([0xd1]));
    const client = addressOf(clientKey);
    await add([transferTx(DEV_KEY, 0, client, bcr(1)), kindTx(DEV_KEY, 1, escrowAddKind, escrowAddPayload, { account: DEV_ADDRESS, value: 100_000n }), kindTx(DEV_KEY, 2, addCollateralKind, collateralPayload, { miner: 1, value: bcr(30) })]);
    await add([kindTx(clientKey, 0, escrowAddKind, escrowAddPayload, { account: client, value: 10_000_000n })]);

    /** Publishes a deal for a sector-sized piece of random data, then seals, pre-commits and proves it. */
    const storePiece = async (number: number, durationSlots: number, nonce: number) => {
      const data = new Uint8Array(randomBytes(TEST_PROOFS.sectorSize));
      const startSlot = chain.head.header.slot + 25;
      const proposal: DealProposal = { pieceCommitment: merkleRoot(data), pieceBytes: TEST_PROOFS.sectorSize, client, provider: 1, startSlot, endSlot: startSlot + durationSlots, pricePerSlot: 1000n, providerCollateral: 7000n, clientCollateral: 30n, nonce };
      const published = await add([kindTx(WORKER_KEY, await workerNonce(), publishDealKind, publishDealPayload, { proposal, clientSignature: signDealProposal(clientKey, chain.params.chainId, proposal) })]);
      expect(await receipt(published)).toMatchObject({ status: 0 });
      const id = nonce; // deal ids count from 1, one deal per nonce here
      const sealRandHeight = chain.head.header.height - 1;
      const { sealRandomness } = (await sealInputs({ state: chain.headState() }, sealRandHeight, sealRandHeight))!;
      const replicaId = replicaIdOf(1, number, sealRandomness, proposal.pieceCommitment);
      const sealed = sealInMemory(TEST_PROOFS, replicaId, data);
      // A CommD that is not the deal's piece is refused.
      const wrong = await add([kindTx(WORKER_KEY, await workerNonce(), preCommitKind, preCommitPayload, { miner: 1, sector: number, commD: sha256(data), commR: sealed.commR, sealRandHeight, expiration: proposal.endSlot + 1000, dealIds: [id] })]);
      expect(await receipt(wrong)).toMatchObject({ status: 1, error: 'COMMD_MISMATCH' });
      const pre = await add([kindTx(WORKER_KEY, await workerNonce(), preCommitKind, preCommitPayload, { miner: 1, sector: number, commD: proposal.pieceCommitment, commR: sealed.commR, sealRandHeight, expiration: proposal.endSlot + 1000, dealIds: [id] })]);
      expect(await receipt(pre)).toMatchObject({ status: 0 });
      for (let i = 0; i < chain.params.miners.seedDelay; i++) await add();
      const { seed } = (await sealInputs({ state: chain.headState() }, sealRandHeight, pre.header.height + chain.params.miners.seedDelay))!;
      const reader = async (bytes: Uint8Array) => new TreeReader(bufferSource(bytes), await buildTreeCache(bufferSource(bytes), 3));
      const proof = await provePorep({ params: TEST_PROOFS, replicaId, commC: sealed.commC, commRLast: sealed.commRLast, data: await reader(data), replica: await reader(sealed.replica), columns: await reader(sealed.columns), layers: sealed.layers.map((l) => bufferSource(l)) }, seed);
      const proven = await add([kindTx(WORKER_KEY, await workerNonce(), proveCommitKind, proveCommitPayload, { miner: 1, sector: number, proof })]);
      expect(await receipt(proven)).toMatchObject({ status: 0 });
      sectors.set(number, { sectorNumber: number, commC: sealed.commC, commRLast: sealed.commRLast, replica: await reader(sealed.replica) });
      return { id, proposal };
    };

    const first = await storePiece(10, 60, 1);
    expect(await getDeal(chain.headState(), first.id)).toMatchObject({ state: DealState.active, sector: 11 });
    expect(await getEscrow(chain.headState(), client)).toEqual({ total: 10_000_000n, locked: dealPayment(first.proposal) + 30n });
    // WindowPoSts of its deadline pay for the slots proven, until the deal is paid in full.
    const ownerBefore = (await chain.getAccount(DEV_ADDRESS)).balance;
    while ((await getDeal(chain.headState(), first.id))!.state === DealState.active) {
      expect(chain.head.header.slot).toBeLessThan(first.proposal.endSlot + 2 * chain.params.miners.provingPeriod);
      await add();
    }
    expect(await getDeal(chain.headState(), first.id)).toMatchObject({ state: DealState.completed, lastPaidSlot: first.proposal.endSlot });
    expect(await getEscrow(chain.headState(), client)).toEqual({ total: 10_000_000n - dealPayment(first.proposal), locked: 0n });
    expect(await getEscrow(chain.headState(), DEV_ADDRESS)).toEqual({ total: 100_000n, locked: 0n });
    expect((await chain.getAccount(DEV_ADDRESS)).balance - ownerBefore).toBeGreaterThanOrEqual(dealPayment(first.proposal)); // plus its block rewards

    // The second deal's sector is terminated while the deal runs: refund and burn.
    const second = await storePiece(11, 400, 2);
    while (chain.head.header.slot <= second.proposal.startSlot + 5) await add();
    const burned = (await chain.getAccount(BURN_ADDRESS)).balance;
    const beforeTermination = (await getDeal(chain.headState(), second.id))!;
    const terminated = await add([kindTx(DEV_KEY, (await chain.getAccount(DEV_ADDRESS)).nonce, terminateSectorsKind, sectorListPayload, { miner: 1, sectors: [11] })]);
    expect(await receipt(terminated)).toMatchObject({ status: 0 });
    const slashed = (await getDeal(chain.headState(), second.id))!;
    expect(slashed.state).toBe(DealState.slashed);
    const paid = second.proposal.pricePerSlot * BigInt(slashed.lastPaidSlot - second.proposal.startSlot);
    expect(slashed.lastPaidSlot).toBe(beforeTermination.lastPaidSlot);
    // The client keeps the unpaid rest and gets half the provider's collateral; the other half is burned.
    expect(await getEscrow(chain.headState(), client)).toEqual({ total: 10_000_000n - dealPayment(first.proposal) - paid + 3500n, locked: 0n });
    expect(await getEscrow(chain.headState(), DEV_ADDRESS)).toEqual({ total: 100_000n - 7000n, locked: 0n });
    expect((await chain.getAccount(BURN_ADDRESS)).balance - burned).toBe(3500n + chain.params.miners.terminationFee);

    // The blocks' events tell the same story, amount for amount.
    const events: DealEvent[] = [];
    for (let h = 1; h <= chain.head.header.height; h++) events.push(...(await chain.getEvents(blockId((await chain.getBlockByHeight(h))!.header))));
    const of = (deal: number, kind: number) => events.filter((e) => e.deal === deal && e.kind === kind);
    expect(of(first.id, DealEventKind.published)).toHaveLength(1);
    expect(of(first.id, DealEventKind.activated)).toEqual([expect.objectContaining({ sector: 10 })]);
    expect(of(first.id, DealEventKind.payment).reduce((sum, e) => sum + e.amount, 0n)).toBe(dealPayment(first.proposal));
    expect(of(first.id, DealEventKind.completed)).toHaveLength(1);
    expect(of(second.id, DealEventKind.payment).reduce((sum, e) => sum + e.amount, 0n)).toBe(paid);
    expect(of(second.id, DealEventKind.slashed)).toEqual([expect.objectContaining({ amount: 3500n, burned: 3500n, refund: dealPayment(second.proposal) - paid + 30n })]);
    expect(await chain.dealIdsOf({ client }, 0, 10)).toEqual([first.id, second.id]);
    expect(await chain.dealIdsOf({ provider: 1 }, first.id, 10)).toEqual([second.id]);
    // Conservation, escrow included.
    expect(await heldSupply(chain, db)).toBe(bcr(55_000_000) + mintedAtSlot(chain.head.header.slot, chain.params));
  }, 120_000);
});
