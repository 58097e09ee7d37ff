// A tx handler with a bug (it throws something other than a TxFailure) must not stop block
// production: the producer leaves that tx out and packs the rest; an importer refuses a block that
// carries it. The buggy kind is registered in this file only (each test file has its own modules).
import { describe, expect, it } from 'vitest';
import { addressOf, bcr, sha256, uint, struct } from '../../src/primitives/index.js';
import { MemoryKv, Overlay, StateDb, applyBlockTxs, defineTxKind, getAccount, packBlockTxs, putAccount, verifyTx, type BlockEnv } from '../../src/state/index.js';
import { kindTx, testGenesis, transferTx } from '../helpers/chain.js';

const params = testGenesis().params;
const env: BlockEnv = { params, height: 1, slot: 5, parentSlot: 4, producer: new Uint8Array(20).fill(0xee), vrfOutput: new Uint8Array(32), timestampMs: 5000 };
const buggyPayload = struct({ n: uint() });
const buggyKind = defineTxKind({
  id: 200,
  name: 'buggy',
  payload: buggyPayload,
  maxPayloadBytes: 16,
  gas: () => 21_000,
  async apply() {
    throw new TypeError("Cannot read properties of undefined (reading 'power')");
  },
});

async function fundedState(keys: Uint8Array[]): Promise<StateDb> {
  const kv = new MemoryKv();
  const overlay = new Overlay(kv);
  const setup = new StateDb(overlay);
  for (const key of keys) await putAccount(setup, addressOf(key), { balance: bcr(10), nonce: 0, vesting: null });
  await setup.commit();
  kv.apply(overlay.entries());
  return new StateDb(new Overlay(kv));
}

describe('packing a block around a buggy tx handler', () => {
  const [a, b] = [sha256(new Uint8Array([1])), sha256(new Uint8Array([2]))];
  const buggy = verifyTx(kindTx(a, 0, buggyKind, buggyPayload, { n: 1 }, params.chainId), params);
  const transfer = verifyTx(transferTx(b, 0, addressOf(a), bcr(1), 1n, params.chainId), params);

  it('leaves the tx out with EXECUTION_FAILED, charges it nothing, and packs the others', async () => {
    const state = await fundedState([a, b]);
    const result = await packBlockTxs(state, env, [buggy, transfer]);
    expect(result.included.map((t) => t.id)).toEqual([transfer.id]);
    expect(result.rejected.map((r) => r.error.code)).toEqual(['EXECUTION_FAILED']);
    expect(result.rejected[0]!.error.message).toMatch(/reading 'power'/);
    // The buggy tx's fee and nonce were rolled back with it.
    expect(await getAccount(state, addressOf(a))).toEqual({ balance: bcr(11), nonce: 0, vesting: null });
  });

  it('an importer refuses a block carrying it', async () => {
    await expect(applyBlockTxs(await fundedState([a, b]), env, [buggy])).rejects.toThrow(TypeError);
  });
});
