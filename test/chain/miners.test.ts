// Miner and sector lifecycle on a real chain (temp LevelDB, test genesis, real proofs).
import { afterEach, describe, expect, it } from 'vitest';
import { claimSlot, zeroCommD, type Block, type ChainStore } from '../../src/chain/index.js';
import { devVrfSecret } from '../../src/node.js';
import { mintedAtSlot, vrfPublicKey } from '../../src/consensus/index.js';
import type { Database } from '../../src/db/index.js';
import { addressOf, bcr, sha256 } from '../../src/primitives/index.js';
import { Mempool } from '../../src/mempool/index.js';
import { TreeReader, bufferSource, buildTreeCache, provePorep, provePost, replicaIdOf, sealInMemory, type ProvableSector } from '../../src/proofs/index.js';
import {
  BURN_ADDRESS,
  SectorState,
  addCollateralKind,
  collateralPayload,
  declareRecoveriesKind,
  equivocationPayload,
  getMiner,
  getSector,
  preCommitKind,
  preCommitPayload,
  proveCommitKind,
  proveCommitPayload,
  reportEquivocationKind,
  sealInputs,
  sectorListPayload,
  submitWindowPostKind,
  submitWindowPostPayload,
  changePeerAddressesKind,
  createMinerKind,
  deadlineWindow,
  partitionOf,
  periodIndex,
  windowPostRandomness,
  createMinerPayload,
  minerIds,
  changeWorkerKind,
  changeWorkerPayload,
  getWorkerChange,
  peerAddressesPayload,
} from '../../src/state/index.js';
import { DEV_KEY, TEST_PROOFS, WORKER_KEY, encodeHeaderBytes, genesisMinerSectors, heldSupply, kindTx, nextBlock, nowForSlot, openChain, tempDir, transferTx } from '../helpers/chain.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshChain(): Promise<{ chain: ChainStore; db: Database }> {
  const dir = tempDir();
  const opened = await openChain(dir.path);
  cleanups.push(dir.cleanup, () => opened.db.close());
  return opened;
}

async function add(chain: ChainStore, txs: Uint8Array[] = [], options: Parameters<typeof nextBlock>[3] = {}): Promise<Block> {
  const block = await nextBlock(chain, chain.head.header.slot + 1, txs, options);
  await chain.importBlock(block, nowForSlot(chain, block.header.slot));
  return block;
}

async function receiptOf(chain: ChainStore, block: Block, index = 0) {
  const { blockId } = await import('../../src/chain/index.js');
  return (await chain.getReceipts(blockId(block.header)))![index]!;
}

/** A fresh chain whose miner 1 has 20 BCR of free collateral and a block of seal randomness behind it. */
async function chainReadyToPrecommit(): Promise<ChainStore> {
  const { chain } = await freshChain();
  await add(chain, [kindTx(DEV_KEY, 0, addCollateralKind, collateralPayload, { miner: 1, value: bcr(20) })]);
  await add(chain);
  return chain;
}

const miner = async (chain: ChainStore) => (await getMiner(chain.headState(), 1))!;

const nonceOf = async (chain: ChainStore, key: Uint8Array) => (await chain.getAccount(addressOf(key))).nonce;

/**
 * Seals sector `number` of miner 1 (zero data) with a real PoRep, pre-commits and prove-commits it;
 * `beforeProve` runs once the seed delay has passed. Returns the sector as a prover holds it.
 */
async function commitSector(chain: ChainStore, number: number, beforeProve?: () => Promise<void>): Promise<ProvableSector> {
  const params = chain.params.miners;
  const sealRandHeight = chain.head.header.height - 1;
  const commD = zeroCommD(TEST_PROOFS.sectorSize);
  const { sealRandomness } = (await sealInputs({ state: chain.headState() }, sealRandHeight, sealRandHeight))!;
  const replicaId = replicaIdOf(1, number, sealRandomness, commD);
  const data = new Uint8Array(TEST_PROOFS.sectorSize);
  const sealed = sealInMemory(TEST_PROOFS, replicaId, data);
  const precommit = { miner: 1, sector: number, commD, commR: sealed.commR, sealRandHeight, expiration: 1_000_000, dealIds: [] };
  const pre = await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), preCommitKind, preCommitPayload, precommit)]);
  expect(await receiptOf(chain, pre)).toMatchObject({ status: 0 });
  for (let i = 0; i < params.seedDelay; i++) await add(chain);
  await beforeProve?.();
  const precommitHeight = (await getSector(chain.headState(), 1, number))!.precommitHeight;
  const { seed } = (await sealInputs({ state: chain.headState() }, sealRandHeight, precommitHeight + params.seedDelay))!;
  const reader = async (bytes: Uint8Array) => new TreeReader(bufferSource(bytes), await buildTreeCache(bufferSource(bytes), 3));
  const proof = await provePorep({ params: TEST_PROOFS, replicaId, commC: sealed.commC, commRLast: sealed.commRLast, data: await reader(data), replica: await reader(sealed.replica), columns: await reader(sealed.columns), layers: sealed.layers.map((l) => bufferSource(l)) }, seed);
  const good = await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), proveCommitKind, proveCommitPayload, { miner: 1, sector: number, proof })]);
  expect(await receiptOf(chain, good)).toMatchObject({ status: 0 });
  return { sectorNumber: number, commC: sealed.commC, commRLast: sealed.commRLast, replica: await reader(sealed.replica) };
}


describe('miners and sectors', () => {
  it('a miner that stops proving loses power and pays fault fees, recovers on a valid proof, and is terminated past the limit', async () => {
    const { chain } = await freshChain();
    const params = chain.params.miners;
    await add(chain, [kindTx(DEV_KEY, 0, addCollateralKind, collateralPayload, { miner: 1, value: bcr(10) })]);
    const full = (await miner(chain)).power;
    expect(full).toBe(4n * BigInt(TEST_PROOFS.sectorSize));
    const skip = new Set([0]); // sector 0 lives in deadline 0
    // Run until deadline 0 of period 1 has closed unproven.
    const firstClose = 1 + params.provingPeriod + params.provingPeriod / params.deadlines;
    while (chain.head.header.slot < firstClose) await add(chain, [], { skipDeadlines: skip });
    let sector0 = (await getSector(chain.headState(), 1, 0))!;
    expect(sector0.state).toBe(SectorState.faulty);
    let m = await miner(chain);
    expect(m.power).toBe(full - BigInt(TEST_PROOFS.sectorSize));
    expect(m.collateral).toBe(bcr(10) - params.faultFee);
    expect((await chain.getAccount(BURN_ADDRESS)).balance).toBe(params.faultFee);

    // Declare the recovery; the next WindowPoSt of deadline 0 covers the sector again.
    await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), declareRecoveriesKind, sectorListPayload, { miner: 1, sectors: [0] })]);
    const period = Math.floor((chain.head.header.slot - 1) / params.provingPeriod);
    while ((await getSector(chain.headState(), 1, 0))!.state !== SectorState.active) {
      expect(chain.head.header.slot).toBeLessThan(1 + (period + 3) * params.provingPeriod);
      await add(chain);
    }
    expect((await miner(chain)).power).toBe(full);

    // Now stop proving it for good: it is terminated after faultMaxPeriods faulty periods.
    while ((await getSector(chain.headState(), 1, 0))!.state !== SectorState.terminated) {
      expect(chain.head.header.slot).toBeLessThan(1 + (period + 10) * params.provingPeriod);
      await add(chain, [], { skipDeadlines: skip });
    }
    sector0 = (await getSector(chain.headState(), 1, 0))!;
    expect(sector0.faultyPeriods).toBe(params.faultMaxPeriods + 1);
    m = await miner(chain);
    expect(m.power).toBe(full - BigInt(TEST_PROOFS.sectorSize));
    // Termination frees the sector's genesis pledge less the termination fee.
    expect(m.collateral).toBe(bcr(10) - BigInt(params.faultMaxPeriods + 2) * params.faultFee + params.initialPledge - params.terminationFee);
    expect(m.pledge).toBe(3n * params.initialPledge);
  }, 120_000);

  it('stays live when every sector is faulty: committed storage carries the election until recoveries restore power', async () => {
    const { chain } = await freshChain();
    const params = chain.params.miners;
    await add(chain, [kindTx(DEV_KEY, 0, addCollateralKind, collateralPayload, { miner: 1, value: bcr(10) })]);
    const full = (await miner(chain)).power;
    const all = new Set([0, 1, 2, 3]);
    // No proofs at all until no proven power is left at the lookback either.
    const { getTotalPowerLog, powerAt } = await import('../../src/state/index.js');
    const totalAtLookback = async () => powerAt(await getTotalPowerLog(chain.headState()), Math.max(0, chain.head.header.height - params.powerLookback));
    while ((await miner(chain)).power > 0n || (await totalAtLookback()) > 0n) {
      expect(chain.head.header.slot).toBeLessThan(1 + 3 * params.provingPeriod);
      await add(chain, [], { skipDeadlines: all });
    }
    expect((await miner(chain)).power).toBe(0n);
    // The next block can still be made and imported (without the fallback, nextBlock finds no winning slot).
    const vrf = devVrfSecret(chain.genesis.miners[0]!.seed);
    let won = 0;
    for (let slot = chain.head.header.slot + 1; slot < chain.head.header.slot + 40; slot++) if (await claimSlot(chain.headState(), chain.params, 1, vrf, chain.head.header.height, slot)) won++;
    expect(won).toBeGreaterThan(0);
    await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), declareRecoveriesKind, sectorListPayload, { miner: 1, sectors: [0, 1, 2, 3] })], { skipDeadlines: all });
    const start = chain.head.header.slot;
    while ((await miner(chain)).power < full) {
      expect(chain.head.header.slot).toBeLessThan(start + 3 * params.provingPeriod);
      await add(chain);
    }
    for (let n = 0; n < 4; n++) expect((await getSector(chain.headState(), 1, n))!.state).toBe(SectorState.active);
    // Once proven power is back at the lookback, the ordinary rule applies again.
    while ((await totalAtLookback()) < full) await add(chain);
    expect(await totalAtLookback()).toBe(full);
  }, 120_000);

  it('pre-commits and prove-commits a new sector with a real PoRep, and rejects a bad one with a reason', async () => {
    const chain = await chainReadyToPrecommit();
    const params = chain.params.miners;
    const powerBefore = (await miner(chain)).power;
    await commitSector(chain, 10, async () => {
      expect((await miner(chain)).deposits).toBe(params.preCommitDeposit);
      // A bogus proof is refused with its reason; the sector stays pre-committed.
      const bad = await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), proveCommitKind, proveCommitPayload, { miner: 1, sector: 10, proof: new Uint8Array(100) })]);
      expect(await receiptOf(chain, bad)).toMatchObject({ status: 1, error: 'INVALID_POREP_MALFORMED' });
    });
    const m = await miner(chain);
    expect(m.power).toBe(powerBefore + BigInt(TEST_PROOFS.sectorSize));
    expect(m.pledge).toBe(5n * params.initialPledge); // four genesis sectors pledged at genesis, and this one
    expect(m.deposits).toBe(0n);
    expect(m.collateral).toBe(bcr(20) - params.initialPledge);
    expect((await getSector(chain.headState(), 1, 10))!.state).toBe(SectorState.active);
  }, 60_000);

  it('proves a deadline partition by partition: each proof covers its own sectors only', async () => {
    const chain = await chainReadyToPrecommit();
    const params = chain.params.miners;
    // Test profile: partitions of 2 sectors, 4 deadlines. Deadline 2 holds sector 2 (partition 0) and,
    // once committed, sector 10 (partition 1).
    expect([partitionOf(params, 2), partitionOf(params, 6), partitionOf(params, 10)]).toEqual([0, 0, 1]);
    const sectors = new Map(await genesisMinerSectors());
    sectors.set(10, await commitSector(chain, 10));
    // Into the next period's deadline 2, with no proof from the helper yet.
    const m = await miner(chain);
    const period = periodIndex(params, m, chain.head.header.slot) + 1;
    const window = deadlineWindow(params, m, period, 2);
    const skip = { sectors, skipDeadlines: new Set([2]) };
    while (chain.head.header.slot < window.open) await add(chain, [], skip);
    const head = chain.head.header;
    const randomness = (await windowPostRandomness(chain.headState(), head.height + 1, 1, period, 2, window.open))!;
    const post = async (partition: number, numbers: readonly number[], nonceAhead = 0) => {
      const proof = await provePost(TEST_PROOFS, 'window', randomness, numbers.map((n) => sectors.get(n)!));
      return kindTx(WORKER_KEY, (await nonceOf(chain, WORKER_KEY)) + nonceAhead, submitWindowPostKind, submitWindowPostPayload, { miner: 1, deadline: 2, partition, skipped: [], proof });
    };
    // In one block (the window is short): sector 2's proof claimed for partition 1, a partition with
    // no sectors, and both sectors in one proof. Each is refused.
    const refused = [[1, [2], 'INVALID_POST_COMM_R_MISMATCH'], [7, [2], 'NOTHING_TO_PROVE'], [0, [2, 10], 'INVALID_POST_WRONG_SECTOR_COUNT']] as const;
    const block = await add(chain, await Promise.all(refused.map(([partition, numbers], i) => post(partition, numbers, i))), skip);
    for (const [i, [, , code]] of refused.entries()) expect(await receiptOf(chain, block, i)).toMatchObject({ status: 1, error: code });
    expect((await getSector(chain.headState(), 1, 2))!.provenPeriod).toBe(period);
    // Partition 1 alone: sector 10 proven for the period, sector 2 not.
    const one = await add(chain, [await post(1, [10])], skip);
    expect(await receiptOf(chain, one)).toMatchObject({ status: 0 });
    expect((await getSector(chain.headState(), 1, 10))!.provenPeriod).toBe(period + 1);
    expect((await getSector(chain.headState(), 1, 2))!.provenPeriod).toBe(period);
    // The helper (as a node would) now proves only what is due: partition 0.
    const rest = await add(chain, [], { sectors });
    expect(rest.header.slot).toBeLessThan(window.close);
    expect(rest.txs).toHaveLength(1);
    expect((await getSector(chain.headState(), 1, 2))!.provenPeriod).toBe(period + 1);
  }, 60_000);

  it('skips the sectors a miner cannot prove: they turn faulty and pay the fault fee, the rest of the partition stays proven', async () => {
    const chain = await chainReadyToPrecommit();
    const params = chain.params.miners;
    // Deadline 2, partition 0 holds sector 2 (genesis) and sector 6 once committed.
    expect(partitionOf(params, 6)).toBe(0);
    const sectors = new Map(await genesisMinerSectors());
    sectors.set(6, await commitSector(chain, 6));
    const m = await miner(chain);
    const period = periodIndex(params, m, chain.head.header.slot) + 1;
    const window = deadlineWindow(params, m, period, 2);
    const skip = { sectors, skipDeadlines: new Set([2]) };
    while (chain.head.header.slot < window.open) await add(chain, [], skip);
    const before = await miner(chain);
    const burned = (await chain.getAccount(BURN_ADDRESS)).balance;
    const randomness = (await windowPostRandomness(chain.headState(), chain.head.header.height + 1, 1, period, 2, window.open))!;
    const post = async (skipped: number[], proven: number[], nonceAhead = 0) => {
      const proof = await provePost(TEST_PROOFS, 'window', randomness, proven.map((n) => sectors.get(n)!));
      return kindTx(WORKER_KEY, (await nonceOf(chain, WORKER_KEY)) + nonceAhead, submitWindowPostKind, submitWindowPostPayload, { miner: 1, deadline: 2, partition: 0, skipped, proof });
    };
    // Refused, each with its reason: skipped out of order, a sector of another partition skipped, a
    // proof still covering the skipped sector.
    const refused = [[[6, 2], [], 'BAD_SKIPPED'], [[10], [2, 6], 'BAD_SKIPPED'], [[6], [2, 6], 'INVALID_POST_WRONG_SECTOR_COUNT']] as const;
    const block = await add(chain, await Promise.all(refused.map(([skipped, proven], i) => post([...skipped], [...proven], i))), skip);
    for (const [i, [, , code]] of refused.entries()) expect(await receiptOf(chain, block, i)).toMatchObject({ status: 1, error: code });
    // Sector 6 skipped, sector 2 proven: sector 6 loses its power at once.
    const landed = await add(chain, [await post([6], [2])], skip);
    expect(landed.header.slot).toBeLessThan(window.close);
    expect(await receiptOf(chain, landed)).toMatchObject({ status: 0 });
    expect((await getSector(chain.headState(), 1, 6))!.state).toBe(SectorState.faulty);
    expect((await getSector(chain.headState(), 1, 2))!).toMatchObject({ state: SectorState.active, provenPeriod: period + 1 });
    expect((await miner(chain)).power).toBe(before.power - BigInt(TEST_PROOFS.sectorSize));
    // The window closes: exactly one fault fee (sector 6's), sector 2 stays active.
    while (chain.head.header.slot < window.close) await add(chain, [], { sectors });
    const after = await miner(chain);
    expect(after.power).toBe(before.power - BigInt(TEST_PROOFS.sectorSize));
    expect(after.collateral).toBe(before.collateral - params.faultFee);
    expect((await chain.getAccount(BURN_ADDRESS)).balance - burned).toBe(params.faultFee);
    expect((await getSector(chain.headState(), 1, 2))!.state).toBe(SectorState.active);

    // A recovery declared for sector 6 and skipped again is withdrawn; sector 6 stays faulty.
    await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), declareRecoveriesKind, sectorListPayload, { miner: 1, sectors: [6] })], skip);
    expect((await getSector(chain.headState(), 1, 6))!.recovering).toBe(true);
    const next = deadlineWindow(params, m, period + 1, 2);
    while (chain.head.header.slot < next.open) await add(chain, [], skip);
    const nextRandomness = (await windowPostRandomness(chain.headState(), chain.head.header.height + 1, 1, period + 1, 2, next.open))!;
    const proof = await provePost(TEST_PROOFS, 'window', nextRandomness, [sectors.get(2)!]);
    const again = await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), submitWindowPostKind, submitWindowPostPayload, { miner: 1, deadline: 2, partition: 0, skipped: [6], proof })], skip);
    expect(await receiptOf(chain, again)).toMatchObject({ status: 0 });
    expect((await getSector(chain.headState(), 1, 6))!).toMatchObject({ state: SectorState.faulty, recovering: false });
    expect((await miner(chain)).power).toBe(before.power - BigInt(TEST_PROOFS.sectorSize));
  }, 60_000);

  it('expires a pre-commit never proven within its window: the sector ends and its deposit is burned', async () => {
    const chain = await chainReadyToPrecommit();
    const params = chain.params.miners;
    const precommit = { miner: 1, sector: 11, commD: zeroCommD(TEST_PROOFS.sectorSize), commR: new Uint8Array(32).fill(5), sealRandHeight: chain.head.header.height - 1, expiration: 1_000_000, dealIds: [] };
    const pre = await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), preCommitKind, preCommitPayload, precommit)]);
    expect(await receiptOf(chain, pre)).toMatchObject({ status: 0 });
    const collateral = (await miner(chain)).collateral;
    const burned = (await chain.getAccount(BURN_ADDRESS)).balance;
    // The last height a prove-commit could land: the pre-commit still stands.
    while (chain.head.header.height < pre.header.height + params.maxProveCommitDelay) await add(chain);
    expect((await getSector(chain.headState(), 1, 11))!.state).toBe(SectorState.precommitted);
    expect((await miner(chain)).deposits).toBe(params.preCommitDeposit);
    await add(chain);
    expect(await getSector(chain.headState(), 1, 11)).toBeNull();
    const m = await miner(chain);
    expect(m.deposits).toBe(0n);
    expect(m.collateral).toBe(collateral);
    expect((await chain.getAccount(BURN_ADDRESS)).balance - burned).toBe(params.preCommitDeposit);
  }, 60_000);

  it('rejects an invalid WindowPoSt with a reason', async () => {
    const { chain } = await freshChain();
    const params = chain.params.miners;
    // Move into period 1 where deadline proofs are due, without the helper's own proof.
    while (chain.head.header.slot < 1 + params.provingPeriod) await add(chain);
    const block = await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), submitWindowPostKind, submitWindowPostPayload, { miner: 1, deadline: 0, partition: 0, skipped: [], proof: new Uint8Array([0x90]) })], { windowPost: false });
    const receipt = await receiptOf(chain, block);
    expect(receipt.status).toBe(1);
    expect(receipt.error).toMatch(/^(INVALID_POST_WRONG_SECTOR_COUNT|DEADLINE_NOT_OPEN)$/);
  }, 60_000);

  it('equivocation evidence slashes the miner and makes it ineligible', async () => {
    const { chain } = await freshChain();
    const params = chain.params.miners;
    await add(chain, [kindTx(DEV_KEY, 0, addCollateralKind, collateralPayload, { miner: 1, value: bcr(50) })]);
    // Two different blocks for the same slot by the same miner.
    const a = await nextBlock(chain, chain.head.header.slot + 1, []);
    const b = await nextBlock(chain, a.header.slot, [kindTx(DEV_KEY, 1, addCollateralKind, collateralPayload, { miner: 1, value: 1n })]);
    expect(b.header.slot).toBe(a.header.slot);
    await chain.importBlock(a, nowForSlot(chain, a.header.slot));
    const evidence = { first: encodeHeaderBytes(a), second: encodeHeaderBytes(b) };
    const reporter = sha256(new Uint8Array([0x5e]));
    await add(chain, [transferTx(DEV_KEY, 1, addressOf(reporter), bcr(1))]);
    const before = await miner(chain);
    const burnedBefore = (await chain.getAccount(BURN_ADDRESS)).balance;
    const report = await add(chain, [kindTx(reporter, 0, reportEquivocationKind, equivocationPayload, evidence)]);
    const m = await miner(chain);
    // The slash takes all free collateral, then pledge, up to equivocationSlash; the reporter earns 1/10.
    const taken = before.collateral + before.pledge < params.equivocationSlash ? before.collateral + before.pledge : params.equivocationSlash;
    expect(before.collateral + before.pledge - (m.collateral + m.pledge)).toBe(taken);
    expect(m.collateral).toBe(0n);
    const fee = (await receiptOf(chain, report)).fee;
    expect((await chain.getAccount(addressOf(reporter))).balance).toBe(bcr(1) - fee + taken / 10n);
    expect((await chain.getAccount(BURN_ADDRESS)).balance - burnedBefore).toBe(taken - taken / 10n);
    expect(m.ineligibleUntil).toBe(a.header.slot + params.equivocationIneligibleSlots);
    const vrf = devVrfSecret(chain.genesis.miners[0]!.seed);
    for (let slot = chain.head.header.slot + 1; slot < chain.head.header.slot + 40; slot++) {
      expect(await claimSlot(chain.headState(), chain.params, 1, vrf, chain.head.header.height, slot)).toBeNull();
    }
  }, 60_000);

  it('registers a miner with a valid VRF key and refuses keys no proof could ever verify against', async () => {
    const { chain } = await freshChain();
    const key = vrfPublicKey(new Uint8Array(32).fill(7));
    const create = (nonce: number, vrfKey: Uint8Array) => kindTx(DEV_KEY, nonce, createMinerKind, createMinerPayload, { worker: addressOf(DEV_KEY), vrfKey, peerId: '', multiaddrs: [] });
    const nonce = await nonceOf(chain, DEV_KEY);
    // Not on the curve (y = 2 has no x), the identity (small order), and a real key.
    const offCurve = new Uint8Array(32);
    offCurve[0] = 2;
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const block = await add(chain, [create(nonce, offCurve), create(nonce + 1, identity), create(nonce + 2, key)]);
    expect(await receiptOf(chain, block, 0)).toMatchObject({ status: 1, error: 'BAD_VRF_KEY' });
    expect(await receiptOf(chain, block, 1)).toMatchObject({ status: 1, error: 'BAD_VRF_KEY' });
    expect(await receiptOf(chain, block, 2)).toMatchObject({ status: 0 });
    const ids = await minerIds(chain.headState());
    expect((await getMiner(chain.headState(), ids[ids.length - 1]!))!.vrfKey).toEqual(key);
  });

  it('rotates the worker key a finality after the owner asks, and updates peer addresses', async () => {
    const { chain } = await freshChain();
    const newWorkerKey = sha256(new Uint8Array([0x77, 0x77]));
    const newWorker = addressOf(newWorkerKey);
    // Only the owner may rotate; the worker may update addresses.
    const byWorker = await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), changeWorkerKind, changeWorkerPayload, { miner: 1, newWorker })]);
    expect(await receiptOf(chain, byWorker)).toMatchObject({ status: 1, error: 'NOT_OWNER' });
    const asked = await add(chain, [kindTx(DEV_KEY, 0, changeWorkerKind, changeWorkerPayload, { miner: 1, newWorker })]);
    const effective = asked.header.height + chain.params.finality;
    expect(await getWorkerChange(chain.headState(), 1)).toMatchObject({ newWorker, effectiveHeight: effective });
    await add(chain, [kindTx(WORKER_KEY, await nonceOf(chain, WORKER_KEY), changePeerAddressesKind, peerAddressesPayload, { miner: 1, peerId: '12D3KooWtest', multiaddrs: ['/ip4/127.0.0.1/tcp/1'] })]);
    expect(await miner(chain)).toMatchObject({ peerId: '12D3KooWtest', multiaddrs: ['/ip4/127.0.0.1/tcp/1'] });
    // The old key signs up to and including the block at the effective height.
    while (chain.head.header.height < effective) await add(chain, [], { windowPost: false });
    expect((await miner(chain)).worker).toEqual(newWorker);
    const stale = await nextBlock(chain, chain.head.header.slot + 1, [], { windowPost: false });
    await expect(chain.importBlock(stale, nowForSlot(chain, stale.header.slot))).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    await add(chain, [], { windowPost: false, workerKey: newWorkerKey });
    expect(chain.head.header.height).toBe(effective + 1);
  }, 60_000);

  it('a reorg across a deadline restores power, balances and the mempool exactly', async () => {
    const a = await freshChain();
    const b = await freshChain();
    const params = a.chain.params.miners;
    const open = 1 + params.provingPeriod; // deadline 0 of period 1
    // A common prefix up to shortly before the window opens.
    while (a.chain.head.header.slot < open - 6) {
      const block = await nextBlock(a.chain, a.chain.head.header.slot + 1, [], { skipDeadlines: new Set([0]) });
      await a.chain.importBlock(block, nowForSlot(a.chain, block.header.slot));
      await b.chain.importBlock(block, nowForSlot(b.chain, block.header.slot));
    }
    // Branch A skips the proof past the deadline (sector 0 turns faulty) and pays someone.
    const payment = kindTx(DEV_KEY, 0, addCollateralKind, collateralPayload, { miner: 1, value: bcr(3) });
    await add(a.chain, [payment], { skipDeadlines: new Set([0]) });
    while (a.chain.head.header.slot < open + params.provingPeriod / params.deadlines) await add(a.chain, [], { skipDeadlines: new Set([0]) });
    expect((await getSector(a.chain.headState(), 1, 0))!.state).toBe(SectorState.faulty);
    // Branch B proves in time and grows longer.
    const branch: Block[] = [];
    const target = a.chain.head.header.height + 1;
    while (b.chain.head.header.height < target) branch.push(await add(b.chain));
    expect((await getSector(b.chain.headState(), 1, 0))!.state).toBe(SectorState.active);
    const mempool = new Mempool({ params: a.chain.params, accountState: async (address) => ({ nonce: (await a.chain.getAccount(address)).nonce, spendable: bcr(1_000_000) }) });
    const changes: Promise<unknown>[] = [];
    a.chain.onHeadChange((change) => changes.push(mempool.onHeadChange(change)));
    for (const block of branch) await a.chain.importBlock(block, nowForSlot(a.chain, block.header.slot + 5));
    await Promise.all(changes);
    expect(a.chain.head.id).toEqual(b.chain.head.id);
    expect(a.chain.head.header.stateRoot).toEqual(b.chain.head.header.stateRoot);
    expect((await miner(a.chain)).power).toBe((await miner(b.chain)).power);
    expect((await a.chain.getAccount(BURN_ADDRESS)).balance).toBe(0n);
    expect((await a.chain.getAccount(addressOf(DEV_KEY))).balance).toBe((await b.chain.getAccount(addressOf(DEV_KEY))).balance);
    expect(mempool.has(sha256(payment))).toBe(true);
  }, 120_000);

  it('issuance on chain equals M(head slot), and supply is conserved', async () => {
    const { chain, db } = await freshChain();
    for (let i = 0; i < 30; i++) await add(chain, i === 3 ? [kindTx(DEV_KEY, 0, addCollateralKind, collateralPayload, { miner: 1, value: bcr(5) })] : []);
    expect(await heldSupply(chain, db)).toBe(bcr(55_000_000) + mintedAtSlot(chain.head.header.slot, chain.params));
  }, 60_000);
});
