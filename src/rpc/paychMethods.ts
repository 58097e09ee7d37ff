// Payment channels and retrieval as RPC callers see them: a channel, the channels of a payer or a
// payee, and the local miner's retrieval price.
import type { ChainStore } from '../chain/index.js';
import type { RetrievalProvider } from '../market/index.js';
import { toChecksumAddress, toHex } from '../primitives/index.js';
import { channelStatus, getPaymentChannel, paymentChannelCount, type PaymentChannel } from '../state/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor } from './jsonRpc.js';
import { addressParam, attoParam, uintParam } from './params.js';

/** Channels one bcr_listPaymentChannels call looks through (newest first). */
const MAX_SCANNED_CHANNELS = 4096;

function channelJson(id: number, c: PaymentChannel, slot: number) {
  return {
    channel: id,
    from: toChecksumAddress(c.from),
    to: toChecksumAddress(c.to),
    deposit: c.deposit.toString(),
    redeemed: c.redeemed.toString(),
    remaining: (c.deposit - c.redeemed).toString(),
    nonce: c.nonce,
    settleDelay: c.settleDelay,
    settleAt: c.settleAt === 0 ? null : c.settleAt,
    state: channelStatus(c, slot),
  };
}

export function paychMethods({ chain, retrieval }: { chain: ChainStore; retrieval: RetrievalProvider | null }): MethodDescriptor[] {
  return [
    {
      name: 'bcr_getPaymentChannel',
      description: 'A payment channel: payer, payee, deposit, redeemed so far (atto), last voucher nonce, settle delay and state (open, settling, settled, collected).',
      params: [uintParam('channel')],
      handler: async ([id]) => {
        const channel = await getPaymentChannel(chain.headState(), id as number);
        return channel ? channelJson(id as number, channel, chain.head.header.slot) : null;
      },
    },
    {
      name: 'bcr_listPaymentChannels',
      description: `Payment channels paid from (\`from\`) or to (\`to\`) an address, newest first, among the newest ${MAX_SCANNED_CHANNELS} channels.`,
      params: [addressParam('address'), { name: 'side', schema: { type: 'string', enum: ['from', 'to'] }, parse: (v) => { if (v !== 'from' && v !== 'to') throw new Error('expected from or to'); return v; } }],
      cost: () => 64,
      handler: async ([address, side]) => {
        const state = chain.headState();
        const who = toHex(address as Uint8Array);
        const count = await paymentChannelCount(state);
        const out = [];
        for (let id = count; id >= 1 && id > count - MAX_SCANNED_CHANNELS; id--) {
          const channel = (await getPaymentChannel(state, id))!;
          if (toHex(side === 'from' ? channel.from : channel.to) === who) out.push(channelJson(id, channel, chain.head.header.slot));
        }
        return out;
      },
    },
    {
      name: 'bcr_minerSetRetrievalAsk',
      description: "Sets the local miner's retrieval price in atto per byte (0: free); clients read it over the retrieval-ask protocol (admin).",
      permission: 'admin',
      params: [attoParam('pricePerByte')],
      handler: async ([price]) => {
        if (!retrieval) throw new RpcError(RpcErrorCode.notFound, 'this node has no p2p: it serves no retrievals');
        await retrieval.setPrice(price as bigint);
        return { pricePerByte: retrieval.pricePerByte.toString() };
      },
    },
    {
      name: 'bcr_minerRetrievals',
      description: "The local miner's retrieval price and, per payment channel, the best voucher it holds and the bytes it served this run (admin).",
      permission: 'admin',
      params: [],
      handler: async () => {
        if (!retrieval) throw new RpcError(RpcErrorCode.notFound, 'this node has no p2p: it serves no retrievals');
        return {
          pricePerByte: retrieval.pricePerByte.toString(),
          channels: retrieval.bestVouchers().map((v) => ({ channel: v.channel, voucherAmount: v.amount.toString(), voucherNonce: v.nonce, servedBytes: (retrieval.served.get(v.channel) ?? 0n).toString(), servedValue: v.served.toString() })),
        };
      },
    },
  ];
}
