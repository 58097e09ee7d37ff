// Payment channels (like Filecoin's paych actor, one lane): a client locks a deposit for a payee;
// off chain it signs cumulative vouchers (channel, amount so far, nonce); the payee redeems the latest
// at any time and is paid the difference. Either side starts settlement; after the settle delay the
// payee can no longer redeem and the client collects what is left.
import { Domain, amount, bytes, bytesEqual, concatBytes, decode, encode, recoverSigner, sign, struct, uint, uintToBytesBE, type Infer } from '../../primitives/index.js';
import { credit, debit } from '../accounts.js';
import { TxFailure } from '../errors.js';
import type { StateDb } from '../stateDb.js';
import { defineTxKind } from '../txKinds/registry.js';

/** State key prefix of payment channels. */
export const PAYCH_PREFIX = 0x0a;
/** Longest settle delay a channel may ask for, in slots. */
export const MAX_SETTLE_DELAY = 1_000_000;

const channelCodec = struct({
  from: bytes(20),
  to: bytes(20),
  deposit: amount(),
  /** Paid to `to` so far (the amount of the last redeemed voucher). */
  redeemed: amount(),
  /** Nonce of the last redeemed voucher. */
  nonce: uint(),
  settleDelay: uint(),
  /** Slot after which `to` cannot redeem and `from` may collect; 0 while open. */
  settleAt: uint(),
  collected: uint(1),
});
export type PaymentChannel = Infer<typeof channelCodec>;

export const voucherCodec = struct({ channel: uint(), amount: amount(), nonce: uint() });
export type Voucher = Infer<typeof voucherCodec>;

const key = (kind: number, ...parts: Uint8Array[]) => concatBytes(new Uint8Array([PAYCH_PREFIX, kind]), ...parts);
const channelKey = (id: number) => key(0, uintToBytesBE(id, 8));
const countKey = key(1);
const countCodec = struct({ n: uint() });

export function signVoucher(fromKey: Uint8Array, chainId: number, voucher: Voucher): Uint8Array {
  return sign(fromKey, Domain.voucher, chainId, encode(voucherCodec, voucher));
}

export async function getPaymentChannel(state: StateDb, id: number): Promise<PaymentChannel | null> {
  const raw = await state.get(channelKey(id));
  return raw ? decode(channelCodec, raw, 'payment channel') : null;
}

async function putChannel(state: StateDb, id: number, channel: PaymentChannel): Promise<void> {
  await state.set(channelKey(id), encode(channelCodec, channel));
}

export type ChannelStatus = 'open' | 'settling' | 'settled' | 'collected';

/** Where a channel is in its life at `slot`: open; settling (the payee may still redeem); settled; collected. */
export function channelStatus(channel: PaymentChannel, slot: number): ChannelStatus {
  if (channel.collected) return 'collected';
  if (channel.settleAt === 0) return 'open';
  return slot > channel.settleAt ? 'settled' : 'settling';
}

export async function paymentChannelCount(state: StateDb): Promise<number> {
  const raw = await state.get(countKey);
  return raw ? decode(countCodec, raw, 'channel count').n : 0;
}

/** Why a voucher cannot be redeemed on a channel now (null: it can). Pure checks, shared with providers. */
export function voucherProblem(channel: PaymentChannel | null, channelId: number, voucher: Voucher, signer: Uint8Array | null, slot: number): { code: string; message: string } | null {
  if (!channel) return { code: 'NO_SUCH_CHANNEL', message: `payment channel ${channelId} does not exist` };
  if (voucher.channel !== channelId) return { code: 'WRONG_CHANNEL', message: `the voucher is for channel ${voucher.channel}` };
  if (!signer || !bytesEqual(signer, channel.from)) return { code: 'BAD_VOUCHER_SIGNATURE', message: "the voucher is not signed by the channel's payer (for this chain)" };
  if (channel.collected || (channel.settleAt !== 0 && slot > channel.settleAt)) return { code: 'CHANNEL_SETTLED', message: 'the channel is settled' };
  if (voucher.amount > channel.deposit) return { code: 'VOUCHER_OVER_DEPOSIT', message: `the voucher pays ${voucher.amount} atto, the deposit is ${channel.deposit}` };
  if (voucher.nonce <= channel.nonce) return { code: 'VOUCHER_REPLAYED', message: `voucher nonce ${voucher.nonce} is not above the last redeemed ${channel.nonce}` };
  if (voucher.amount <= channel.redeemed) return { code: 'VOUCHER_NOT_HIGHER', message: `the voucher pays ${voucher.amount} atto in all, ${channel.redeemed} are redeemed already` };
  return null;
}

export function recoverVoucherSigner(chainId: number, voucher: Voucher, signature: Uint8Array): Uint8Array | null {
  try {
    return recoverSigner(Domain.voucher, chainId, encode(voucherCodec, voucher), signature);
  } catch {
    return null;
  }
}

export const paychOpenPayload = struct({ to: bytes(20), deposit: amount(), settleDelay: uint(MAX_SETTLE_DELAY) });
export const paychFundPayload = struct({ channel: uint(), value: amount() });
export const paychRedeemPayload = struct({ voucher: voucherCodec, signature: bytes(65) });
export const paychChannelPayload = struct({ channel: uint() });

async function loadChannel(state: StateDb, id: number): Promise<PaymentChannel> {
  const channel = await getPaymentChannel(state, id);
  if (!channel) throw new TxFailure('NO_SUCH_CHANNEL', `payment channel ${id} does not exist`);
  return channel;
}

export const paychOpenKind = defineTxKind({
  id: 16,
  name: 'paychOpen',
  payload: paychOpenPayload,
  maxPayloadBytes: 96,
  gas: () => 40_000,
  spends: (p) => p.deposit,
  async apply(ctx, p) {
    if (bytesEqual(p.to, ctx.sender)) throw new TxFailure('SELF_CHANNEL', 'a channel pays someone else');
    await debit(ctx.state, ctx.sender, p.deposit, ctx.slot);
    const id = (await paymentChannelCount(ctx.state)) + 1;
    await ctx.state.set(countKey, encode(countCodec, { n: id }));
    await putChannel(ctx.state, id, { from: ctx.sender, to: p.to, deposit: p.deposit, redeemed: 0n, nonce: 0, settleDelay: p.settleDelay, settleAt: 0, collected: 0 });
  },
});

export const paychFundKind = defineTxKind({
  id: 17,
  name: 'paychFund',
  payload: paychFundPayload,
  maxPayloadBytes: 64,
  gas: () => 30_000,
  spends: (p) => p.value,
  async apply(ctx, p) {
    const channel = await loadChannel(ctx.state, p.channel);
    if (!bytesEqual(channel.from, ctx.sender)) throw new TxFailure('NOT_PAYER', "only the channel's payer adds funds");
    if (channel.settleAt !== 0 || channel.collected) throw new TxFailure('CHANNEL_SETTLING', 'the channel is settling');
    await debit(ctx.state, ctx.sender, p.value, ctx.slot);
    await putChannel(ctx.state, p.channel, { ...channel, deposit: channel.deposit + p.value });
  },
});

export const paychRedeemKind = defineTxKind({
  id: 18,
  name: 'paychRedeem',
  payload: paychRedeemPayload,
  maxPayloadBytes: 160,
  gas: () => 50_000,
  async apply(ctx, { voucher, signature }) {
    const channel = await loadChannel(ctx.state, voucher.channel);
    if (!bytesEqual(channel.to, ctx.sender)) throw new TxFailure('NOT_PAYEE', "only the channel's payee redeems");
    const problem = voucherProblem(channel, voucher.channel, voucher, recoverVoucherSigner(ctx.params.chainId, voucher, signature), ctx.slot);
    if (problem) throw new TxFailure(problem.code, problem.message);
    await credit(ctx.state, channel.to, voucher.amount - channel.redeemed);
    await putChannel(ctx.state, voucher.channel, { ...channel, redeemed: voucher.amount, nonce: voucher.nonce });
  },
});

export const paychSettleKind = defineTxKind({
  id: 19,
  name: 'paychSettle',
  payload: paychChannelPayload,
  maxPayloadBytes: 16,
  gas: () => 30_000,
  async apply(ctx, p) {
    const channel = await loadChannel(ctx.state, p.channel);
    if (!bytesEqual(channel.from, ctx.sender) && !bytesEqual(channel.to, ctx.sender)) throw new TxFailure('NOT_A_PARTY', 'only the payer or the payee settles');
    if (channel.settleAt !== 0 || channel.collected) throw new TxFailure('CHANNEL_SETTLING', 'settlement has started');
    await putChannel(ctx.state, p.channel, { ...channel, settleAt: ctx.slot + channel.settleDelay });
  },
});

export const paychCollectKind = defineTxKind({
  id: 20,
  name: 'paychCollect',
  payload: paychChannelPayload,
  maxPayloadBytes: 16,
  gas: () => 30_000,
  async apply(ctx, p) {
    const channel = await loadChannel(ctx.state, p.channel);
    if (!bytesEqual(channel.from, ctx.sender)) throw new TxFailure('NOT_PAYER', "only the channel's payer collects");
    if (channel.collected) throw new TxFailure('CHANNEL_SETTLED', 'already collected');
    if (channel.settleAt === 0 || ctx.slot <= channel.settleAt) throw new TxFailure('NOT_SETTLED', channel.settleAt === 0 ? 'start settlement first' : `the payee may redeem until slot ${channel.settleAt}`);
    await credit(ctx.state, channel.from, channel.deposit - channel.redeemed);
    await putChannel(ctx.state, p.channel, { ...channel, collected: 1 });
  },
});
