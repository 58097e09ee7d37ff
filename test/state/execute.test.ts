import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { addressOf, bcr, encode, isBcrError, sha256 } from '../../src/primitives/index.js';
import {
  MemoryKv,
  Overlay,
  StateDb,
  TxError,
  applyBlockTxs,
  applyTx,
  getAccount,
  lockedAmount,
  putAccount,
  signTx,
  signedTxCodec,
  transferPayload,
  verifyTx,
  type BlockEnv,
} from '../../src/state/index.js';
import { DEV_KEY, testGenesis, transferTx } from '../helpers/chain.js';

const params = testGenesis().params;
const producer = new Uint8Array(20).fill(0xee);
const env = (slot = 5): BlockEnv => ({ params, height: 1, slot, parentSlot: slot - 1, producer, vrfOutput: new Uint8Array(32), timestampMs: slot * 1000 });
const keyOf = (i: number) => sha256(new Uint8Array([0x51, i]));

async function fundedState(keys: Uint8Array[], amount = bcr(100)): Promise<MemoryKv> {
  const kv = new MemoryKv();
  const overlay = new Overlay(kv);
  const state = new StateDb(overlay);
  for (const k of keys) await putAccount(state, addressOf(k), { balance: amount, nonce: 0, vesting: null });
  await state.commit();
  kv.apply(overlay.entries());
  return kv;
}

function expectTxError(fn: () => unknown, code: string) {
  try {
    fn();
    expect.unreachable(`expected ${code}`);
  } catch (error) {
    expect(isBcrError(error) && error.code).toBe(code);
  }
}

describe('stateless tx validation', () => {
  const good = transferTx(DEV_KEY, 0, new Uint8Array(20), 5n);
  it('accepts a good transfer and recovers its sender', () => {
    expect(verifyTx(good, params).sender).toEqual(addressOf(DEV_KEY));
  });
  it('names the reason for each rejection', () => {
    expectTxError(() => verifyTx(transferTx(DEV_KEY, 0, new Uint8Array(20), 5n, 1n, 9999), params), 'WRONG_CHAIN');
    const badSig = good.slice();
    badSig.fill(0xff, badSig.length - 65, badSig.length - 1); // r, s >= curve order
    expectTxError(() => verifyTx(badSig, params), 'BAD_SIGNATURE');
    // A flipped bit still recovers *some* key, just not the sender's: it cannot spend the sender's funds.
    const flipped = good.slice();
    flipped[flipped.length - 10] ^= 1;
    try {
      expect(verifyTx(flipped, params).sender).not.toEqual(addressOf(DEV_KEY));
    } catch (error) {
      expect(isBcrError(error, 'BAD_SIGNATURE')).toBe(true);
    }
    const base = { chainId: params.chainId, nonce: 0, gasLimit: 21_000, gasPrice: 1n };
    expectTxError(() => verifyTx(signTx(DEV_KEY, { ...base, kind: 99, payload: new Uint8Array() }), params), 'UNKNOWN_KIND');
    expectTxError(() => verifyTx(signTx(DEV_KEY, { ...base, kind: 0, payload: new Uint8Array([1, 2]) }), params), 'MALFORMED_PAYLOAD');
    const payload = encode(transferPayload, { to: new Uint8Array(20), value: 1n });
    expectTxError(() => verifyTx(signTx(DEV_KEY, { ...base, gasLimit: 20_999, kind: 0, payload }), params), 'GAS_TOO_LOW');
    expectTxError(() => verifyTx(signTx(DEV_KEY, { ...base, gasPrice: 0n, kind: 0, payload }), params), 'GAS_PRICE_TOO_LOW');
    expectTxError(() => verifyTx(good.subarray(0, good.length - 1), params), 'MALFORMED');
    expectTxError(() => verifyTx(new Packr({ useRecords: false }).pack({ evil: true }), params), 'MALFORMED');
    expectTxError(() => verifyTx(new Uint8Array(params.maxTxBytes + 1), params), 'TOO_LARGE');
    expect(signedTxCodec.fields).toHaveLength(7);
  });
});

describe('applying txs', () => {
  it('moves value, charges gas x price to the producer, bumps the nonce', async () => {
    const [a, b] = [keyOf(1), keyOf(2)];
    const state = new StateDb(new Overlay(await fundedState([a!])));
    const receipt = await applyTx(state, env(), verifyTx(transferTx(a!, 0, addressOf(b!), bcr(3), 2n), params));
    expect(receipt).toEqual({ status: 0, gasUsed: 21_000, fee: 42_000n, error: '' });
    expect(await getAccount(state, addressOf(a!))).toEqual({ balance: bcr(97) - 42_000n, nonce: 1, vesting: null });
    expect((await getAccount(state, addressOf(b!))).balance).toBe(bcr(3));
    expect((await getAccount(state, producer)).balance).toBe(42_000n);
  });

  it('a transfer beyond the balance fails in its receipt but pays its fee', async () => {
    const [a, b] = [keyOf(1), keyOf(2)];
    const state = new StateDb(new Overlay(await fundedState([a!])));
    const receipt = await applyTx(state, env(), verifyTx(transferTx(a!, 0, addressOf(b!), bcr(1000)), params));
    expect(receipt.status).toBe(1);
    expect(receipt.error).toBe('INSUFFICIENT_FUNDS');
    expect(await getAccount(state, addressOf(a!))).toEqual({ balance: bcr(100) - 21_000n, nonce: 1, vesting: null });
    expect((await getAccount(state, addressOf(b!))).balance).toBe(0n);
  });

  it('rejects nonce reuse, nonce gaps and unpayable fees', async () => {
    const a = keyOf(1);
    const state = new StateDb(new Overlay(await fundedState([a], 10n)));
    await expect(applyTx(state, env(), verifyTx(transferTx(a, 1, producer, 1n), params))).rejects.toMatchObject({ code: 'NONCE_GAP' });
    await expect(applyTx(state, env(), verifyTx(transferTx(a, 0, producer, 1n), params))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    const rich = new StateDb(new Overlay(await fundedState([a])));
    await applyTx(rich, env(), verifyTx(transferTx(a, 0, producer, 1n), params));
    await expect(applyTx(rich, env(), verifyTx(transferTx(a, 0, producer, 2n), params))).rejects.toBeInstanceOf(TxError);
  });

  it('vesting-locked funds cannot move until they vest', async () => {
    const a = keyOf(3);
    const kv = new MemoryKv();
    const overlay = new Overlay(kv);
    const setup = new StateDb(overlay);
    const vesting = { total: bcr(900), startSlot: 0, cliffSlots: 100, durationSlots: 400 };
    await putAccount(setup, addressOf(a), { balance: bcr(1000), nonce: 0, vesting });
    await setup.commit();
    kv.apply(overlay.entries());
    const before = new StateDb(new Overlay(kv));
    const r1 = await applyTx(before, env(50), verifyTx(transferTx(a, 0, producer, bcr(200)), params));
    expect(r1.error).toBe('INSUFFICIENT_FUNDS'); // only 100 BCR is free before the cliff
    const after = new StateDb(new Overlay(kv));
    const r2 = await applyTx(after, env(300), verifyTx(transferTx(a, 0, producer, bcr(200)), params));
    expect(r2.status).toBe(0);
    expect(lockedAmount(vesting, 99)).toBe(bcr(900));
    expect(lockedAmount(vesting, 200)).toBe(bcr(450));
    expect(lockedAmount(vesting, 400)).toBe(0n);
  });

  test.prop([fc.array(fc.nat({ max: 1_000_000 }), { minLength: 2, maxLength: 6 }), fc.nat()], { numRuns: 20 })(
    'commuting txs (distinct senders) give the same state root in any order',
    async (amounts, seed) => {
      const keys = amounts.map((_, i) => keyOf(10 + i));
      const kv = await fundedState(keys);
      const txs = amounts.map((value, i) => verifyTx(transferTx(keys[i]!, 0, addressOf(keyOf(200 + (i % 3))), BigInt(value)), params));
      const order = txs.map((tx, i) => ({ tx, r: (i * 2654435761 + seed) % 1009 })).sort((x, y) => x.r - y.r).map((x) => x.tx);
      const s1 = new StateDb(new Overlay(kv));
      await applyBlockTxs(s1, env(), txs);
      const s2 = new StateDb(new Overlay(kv));
      await applyBlockTxs(s2, env(), order);
      expect((await s1.commit()).stateRoot).toEqual((await s2.commit()).stateRoot);
    },
  );

  it('undo data restores the previous root exactly', async () => {
    const keys = [keyOf(1), keyOf(2)];
    const kv = await fundedState(keys);
    const rootBefore = (await new StateDb(new Overlay(kv)).commit()).stateRoot;
    const overlay = new Overlay(kv);
    const state = new StateDb(overlay);
    await applyBlockTxs(state, env(), [verifyTx(transferTx(keys[0]!, 0, addressOf(keyOf(77)), 5n), params)]);
    const { stateRoot, undo } = await state.commit();
    expect(stateRoot).not.toEqual(rootBefore);
    const back = new StateDb(overlay);
    for (const entry of undo) await back.set(entry.key, entry.value);
    expect((await back.commit()).stateRoot).toEqual(rootBefore);
  });
});
