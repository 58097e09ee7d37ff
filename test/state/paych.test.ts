// Payment channels: vouchers are cumulative and signed by the payer for one channel and chain; the
// payee redeems the difference; over-deposit, replayed, stale, foreign-channel and foreign-chain
// vouchers are refused with a code; settlement ends redemption and the payer collects the rest. Every
// atto is conserved through any sequence (property test).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressOf, sha256 } from '../../src/primitives/index.js';
import {
  MemoryKv,
  Overlay,
  StateDb,
  TxFailure,
  getAccount,
  getPaymentChannel,
  paychCollectKind,
  paychFundKind,
  paychOpenKind,
  paychRedeemKind,
  paychSettleKind,
  putAccount,
  signVoucher,
  type TxContext,
} from '../../src/state/index.js';
import { testGenesis, txContext } from '../helpers/chain.js';

const params = testGenesis().params;
const payerKey = sha256(new Uint8Array([0x71]));
const payer = addressOf(payerKey);
const payee = addressOf(sha256(new Uint8Array([0x72])));

async function setup(balance: bigint) {
  const state = new StateDb(new Overlay(new MemoryKv()));
  await putAccount(state, payer, { ...(await getAccount(state, payer)), balance });
  let slot = 10;
  const ctx = (sender: Uint8Array): TxContext => txContext({ state, params, sender, txId: new Uint8Array(32), height: slot, slot });
  const run = async (kind: { apply(ctx: TxContext, p: unknown): Promise<unknown> }, sender: Uint8Array, payload: unknown): Promise<string> => {
    const checkpoint = state.checkpoint();
    try {
      await kind.apply(ctx(sender), payload);
      return 'ok';
    } catch (error) {
      if (!(error instanceof TxFailure)) throw error;
      state.revertTo(checkpoint);
      return error.code;
    }
  };
  const total = async () => {
    const channel = await getPaymentChannel(state, 1);
    const locked = channel && !channel.collected ? channel.deposit - channel.redeemed : 0n;
    return (await getAccount(state, payer)).balance + (await getAccount(state, payee)).balance + locked;
  };
  return { state, run, total, advance: (n: number) => (slot += n) };
}

const voucher = (channel: number, amount: bigint, nonce: number, key = payerKey, chainId = params.chainId) => ({ voucher: { channel, amount, nonce }, signature: signVoucher(key, chainId, { channel, amount, nonce }) });

describe('payment channels', () => {
  it('pays the payee the difference of cumulative vouchers and refuses bad ones with a code', async () => {
    const { state, run, advance } = await setup(10_000n);
    expect(await run(paychOpenKind, payer, { to: payee, deposit: 1000n, settleDelay: 5 })).toBe('ok');
    expect(await run(paychOpenKind, payer, { to: payer, deposit: 1n, settleDelay: 5 })).toBe('SELF_CHANNEL');
    expect(await run(paychRedeemKind, payee, voucher(1, 300n, 1))).toBe('ok');
    expect(await run(paychRedeemKind, payee, voucher(1, 300n, 1))).toBe('VOUCHER_REPLAYED'); // the same voucher twice
    expect(await run(paychRedeemKind, payee, voucher(1, 1001n, 2))).toBe('VOUCHER_OVER_DEPOSIT');
    expect(await run(paychRedeemKind, payee, voucher(1, 200n, 3))).toBe('VOUCHER_NOT_HIGHER');
    expect(await run(paychRedeemKind, payee, voucher(2, 400n, 3))).toBe('NO_SUCH_CHANNEL');
    expect(await run(paychOpenKind, payer, { to: payee, deposit: 500n, settleDelay: 5 })).toBe('ok');
    const other = voucher(2, 400n, 3);
    expect(await run(paychRedeemKind, payee, { voucher: { ...other.voucher, channel: 1 }, signature: other.signature })).toBe('BAD_VOUCHER_SIGNATURE'); // replayed on another channel
    expect(await run(paychRedeemKind, payee, voucher(1, 400n, 3, payerKey, params.chainId + 1))).toBe('BAD_VOUCHER_SIGNATURE'); // another chain
    expect(await run(paychRedeemKind, payer, voucher(1, 400n, 3))).toBe('NOT_PAYEE');
    expect(await run(paychRedeemKind, payee, voucher(1, 700n, 7))).toBe('ok');
    expect((await getAccount(state, payee)).balance).toBe(700n);
    expect(await run(paychFundKind, payer, { channel: 1, value: 100n })).toBe('ok');
    expect(await run(paychCollectKind, payer, { channel: 1 })).toBe('NOT_SETTLED');
    expect(await run(paychSettleKind, payee, { channel: 1 })).toBe('ok');
    expect(await run(paychFundKind, payer, { channel: 1, value: 100n })).toBe('CHANNEL_SETTLING');
    expect(await run(paychCollectKind, payer, { channel: 1 })).toBe('NOT_SETTLED');
    expect(await run(paychRedeemKind, payee, voucher(1, 800n, 8))).toBe('ok'); // until the settle slot
    advance(6);
    expect(await run(paychRedeemKind, payee, voucher(1, 900n, 9))).toBe('CHANNEL_SETTLED');
    expect(await run(paychCollectKind, payee, { channel: 1 })).toBe('NOT_PAYER');
    expect(await run(paychCollectKind, payer, { channel: 1 })).toBe('ok');
    expect(await run(paychCollectKind, payer, { channel: 1 })).toBe('CHANNEL_SETTLED');
    expect((await getAccount(state, payee)).balance).toBe(800n);
    expect((await getAccount(state, payer)).balance).toBe(10_000n - 1100n - 500n + 300n);
  });

  it('conserves funds through any sequence of vouchers, settlement and collection', async () => {
    type Op = { op: 'redeem'; amount: bigint; nonce: number } | { op: 'fund'; value: bigint } | { op: 'settle' } | { op: 'collect' } | { op: 'wait'; slots: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('redeem' as const), amount: fc.bigInt({ min: 0n, max: 3000n }), nonce: fc.nat({ max: 20 }) }),
      fc.record({ op: fc.constant('fund' as const), value: fc.bigInt({ min: 0n, max: 1000n }) }),
      fc.constant({ op: 'settle' as const }),
      fc.constant({ op: 'collect' as const }),
      fc.record({ op: fc.constant('wait' as const), slots: fc.nat({ max: 10 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 0n, max: 2000n }), fc.array(opArb, { maxLength: 25 }), async (deposit, ops) => {
        const { state, run, total, advance } = await setup(5000n);
        expect(await run(paychOpenKind, payer, { to: payee, deposit, settleDelay: 4 })).toBe('ok');
        const before = await total();
        let paid = 0n;
        for (const op of ops) {
          if (op.op === 'redeem') {
            const result = await run(paychRedeemKind, payee, voucher(1, op.amount, op.nonce));
            if (result === 'ok') paid = op.amount;
          } else if (op.op === 'fund') await run(paychFundKind, payer, { channel: 1, value: op.value });
          else if (op.op === 'settle') await run(paychSettleKind, payer, { channel: 1 });
          else if (op.op === 'collect') await run(paychCollectKind, payer, { channel: 1 });
          else advance(op.slots);
          expect(await total()).toBe(before);
          const channel = (await getPaymentChannel(state, 1))!;
          expect(channel.redeemed).toBe(paid);
          expect(channel.redeemed <= channel.deposit).toBe(true);
          expect((await getAccount(state, payee)).balance).toBe(paid);
        }
      }),
      { numRuns: 150 },
    );
  });
});
