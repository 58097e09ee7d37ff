// Paying gateways that ask a price, on payment channels: a channel per payee (an open one reused,
// else one opened with a deposit for `fundingBytes`), each voucher signed from the payer's own ledger
// for the bytes it verified. A gateway's terms are checked before a coin moves: its price against
// the most this payer pays, its payee against the address its miner is paid at on chain (a gateway
// cannot redirect the money to an account of its choosing).
import { signedVoucherCodec } from '../market/retrievalProtocol.js';
import { encode, toHex } from '../primitives/index.js';
import { signVoucher } from '../state/index.js';
import type { GatewayPayer, GatewayProvider, GatewayTerms } from './gatewayFetch.js';
import { callRpc } from './rpc.js';
import { defaultKeystoreDir } from '../wallet/index.js';
import { ChannelFunder, channelPayment } from './paymentChannels.js';
import type { Sender } from './txs.js';

/** Bytes a new channel's deposit (or a top-up) pays for at the gateway's price. */
export const GATEWAY_FUNDING_BYTES = 256 * 1024 * 1024;

export interface ChannelPayerOptions {
  rpc: string;
  sender: Sender;
  /** Where the payer's keystore is: its voucher ledger lives beside it. */
  keystore?: string;
  /** The most this payer pays per byte (a gateway asking more is not paid, and so not used). */
  maxPricePerByte: bigint;
  fundingBytes?: number;
  /** The address `provider` must be paid at (null: take the gateway's word). */
  payeeOf?: (provider: GatewayProvider) => Promise<string | null>;
  log?: (line: string) => void;
}

interface OpenChannel {
  channel: number;
  terms: GatewayTerms;
  payment: Awaited<ReturnType<typeof channelPayment>>;
}

export class ChannelPayer implements GatewayPayer {
  private readonly channels = new Map<string, Promise<OpenChannel>>();
  private readonly funder: ChannelFunder;

  constructor(private readonly options: ChannelPayerOptions) {
    this.funder = new ChannelFunder(options.rpc, options.sender);
  }

  async accept(provider: GatewayProvider, terms: GatewayTerms): Promise<string | null> {
    if (terms.pricePerByte > this.options.maxPricePerByte) return `asks ${terms.pricePerByte} atto per byte, above the ${this.options.maxPricePerByte} this payer pays`;
    const expected = await this.options.payeeOf?.(provider);
    if (expected && expected.toLowerCase() !== terms.payee.toLowerCase()) return `asks to be paid at ${terms.payee}, but its miner is paid at ${expected} on chain`;
    let opened = this.channels.get(provider.url);
    if (!opened) {
      const { rpc, sender } = this.options;
      opened = (async () => {
        const { channel, opened: isNew } = await this.funder.channelTo(terms.payee, terms.minSettleDelay, this.funding(terms));
        if (isNew) this.options.log?.(`opened payment channel ${channel} to ${provider.name} (${terms.payee})`);
        const { chainId } = await callRpc<{ chainId: number }>(rpc, 'bcr_nodeInfo');
        return { channel, terms, payment: await channelPayment(rpc, sender, chainId, channel, this.options.keystore ?? defaultKeystoreDir()) };
      })();
      this.channels.set(provider.url, opened);
      opened.catch(() => this.channels.delete(provider.url));
    }
    await opened;
    return null;
  }

  async voucher(provider: GatewayProvider, add: bigint): Promise<string> {
    // The ledger signs from what this payer signed before (the chain's redeemed state is its floor).
    const { channel, payment } = await this.channelOf(provider);
    const voucher = await payment.ledger.next(channel, add, payment.floor);
    return toHex(encode(signedVoucherCodec, { voucher, signature: signVoucher(payment.payerKey, payment.chainId, voucher) }));
  }

  async topUp(provider: GatewayProvider): Promise<void> {
    const { channel, terms } = await this.channelOf(provider);
    await this.funder.topUp(channel, this.funding(terms));
    this.options.log?.(`added funds to payment channel ${channel} (${provider.name})`);
  }

  private channelOf(provider: GatewayProvider): Promise<OpenChannel> {
    const opened = this.channels.get(provider.url);
    if (!opened) throw new Error(`no payment channel to ${provider.name}: its terms were not accepted`);
    return opened;
  }

  private funding(terms: GatewayTerms): bigint {
    return terms.pricePerByte * BigInt(this.options.fundingBytes ?? GATEWAY_FUNDING_BYTES);
  }
}
