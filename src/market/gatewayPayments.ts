// Paid access to the IPFS gateway, on the same payment channels, vouchers and per-payer ledger as
// libp2p retrieval (RetrievalPayments): what a payer owes is one figure, however it fetches.
//
// HTTP has no authenticated peer, so each paid request carries a voucher (header x-bcr-voucher)
// that is also its credential: signed by the channel's payer, with a nonce this gateway has not seen
// (a replayed header buys nothing). The voucher pays, cumulatively, for what the payer received and
// verified before; bytes are charged to the payer, durably, before they are sent, and the gateway
// serves a payer at most one payment interval beyond what its vouchers pay, over all its channels.
import type { ChainStore } from '../chain/index.js';
import { bytesEqual, decode, fromHex, hexKey, toHex } from '../primitives/index.js';
import { getPaymentChannel, recoverVoucherSigner, voucherProblem, type PaymentChannel } from '../state/index.js';
import { PaymentRefused, type RetrievalPayments } from './retrievalPayments.js';
import { RetrievalRefusal, signedVoucherCodec } from './retrievalProtocol.js';

/** The request header that carries a signed voucher (hex of the signed-voucher codec). */
export const VOUCHER_HEADER = 'x-bcr-voucher';

export interface GatewayTerms {
  pricePerByte: bigint;
  payee: Uint8Array;
  minSettleDelay: number;
  intervalBytes: number;
}

/** Charges the bytes of one answer to its payer before they are sent (throws PaymentRefused when it may not). */
export interface GatewayMeter {
  charge(bytes: number): Promise<void>;
}

/** Nonces within this distance below the highest seen are still taken (parallel requests arrive out of order). */
const NONCE_WINDOW = 4096;

interface NonceWindow {
  /** Every nonce at or below this is refused. */
  floor: number;
  top: number;
  seen: Set<number>;
}

export interface GatewayPaymentDeps {
  payments: RetrievalPayments;
  chain: ChainStore;
  /** The terms now (null or price 0: the gateway is free). */
  terms(): GatewayTerms | null;
  currentSlot(): number;
  /** Told of the bytes charged on a channel (the provider's count of bytes served this run). */
  onCharged?(channelId: number, bytes: number): void;
}

export class GatewayPaymentGate {
  private readonly windows = new Map<number, NonceWindow>();
  /** Charges per payer, one at a time: the unpaid check and the record are one step. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: GatewayPaymentDeps) {}

  terms(): GatewayTerms | null {
    const terms = this.deps.terms();
    return terms && terms.pricePerByte > 0n ? terms : null;
  }

  /**
   * Checks a request's voucher (the header's value, or null) and returns the meter its bytes are
   * charged through; null when the gateway is free.
   */
  async admit(header: string | null): Promise<GatewayMeter | null> {
    const terms = this.terms();
    if (!terms) return null;
    if (header === null) throw new PaymentRefused(RetrievalRefusal.paymentRequired, `this gateway asks ${terms.pricePerByte} atto per byte: send a voucher on a payment channel to ${toHex(terms.payee)} in ${VOUCHER_HEADER}`);
    let signed;
    try {
      if (!/^(0x)?[0-9a-fA-F]{2,1024}$/.test(header)) throw new Error('not hex');
      signed = decode(signedVoucherCodec, fromHex(header), 'voucher');
    } catch (error) {
      throw new PaymentRefused(RetrievalRefusal.badVoucher, `${VOUCHER_HEADER} is not a signed voucher (${error instanceof Error ? error.message : String(error)})`);
    }
    const { voucher, signature } = signed;
    const id = voucher.channel;
    const channel = await this.channel(id);
    if (!bytesEqual(channel.to, terms.payee)) throw new PaymentRefused(RetrievalRefusal.wrongPayee, `channel ${id} does not pay this gateway's ${toHex(terms.payee)}`);
    if (channel.collected || channel.settleAt !== 0) throw new PaymentRefused(RetrievalRefusal.channelSettled, `channel ${id} is settling`);
    if (channel.settleDelay < terms.minSettleDelay) throw new PaymentRefused(RetrievalRefusal.settleDelayShort, `channel ${id} settles ${channel.settleDelay} slots after notice; this gateway needs at least ${terms.minSettleDelay} to redeem`);
    const slot = this.deps.currentSlot();
    // Signature, deposit and the chain's nonce are checked before the amount: a voucher that pays no
    // more than was redeemed still proves who sends the request.
    const problem = voucherProblem(channel, id, voucher, recoverVoucherSigner(this.deps.chain.params.chainId, voucher, signature), slot);
    if (problem && problem.code !== 'VOUCHER_NOT_HIGHER') throw new PaymentRefused(RetrievalRefusal.badVoucher, `${problem.code}: ${problem.message}`);
    this.fresh(id, voucher.nonce, channel.nonce);
    await this.deps.payments.accept(id, channel, terms.payee, voucher, signature, slot);
    const payer = channel.from;
    return { charge: (bytes) => this.charge(id, payer, terms, bytes) };
  }

  private async channel(id: number): Promise<PaymentChannel> {
    const channel = await getPaymentChannel(this.deps.chain.headState(), id);
    if (!channel) throw new PaymentRefused(RetrievalRefusal.noSuchChannel, `payment channel ${id} does not exist`);
    return channel;
  }

  /** Refuses a nonce seen before on the channel (or too far below the newest to tell). */
  private fresh(channelId: number, nonce: number, chainNonce: number): void {
    let window = this.windows.get(channelId);
    if (!window) {
      // After a restart the nonces seen are gone: only nonces above every voucher held are taken.
      const held = this.deps.payments.best(channelId)?.voucher.nonce ?? 0;
      window = { floor: Math.max(held, chainNonce), top: 0, seen: new Set() };
      this.windows.set(channelId, window);
    }
    window.floor = Math.max(window.floor, chainNonce);
    if (nonce <= window.floor || window.seen.has(nonce)) throw new PaymentRefused(RetrievalRefusal.voucherReplayed, `voucher nonce ${nonce} on channel ${channelId} was used before: sign a new one for each request`);
    window.seen.add(nonce);
    if (nonce > window.top) window.top = nonce;
    if (window.top - NONCE_WINDOW > window.floor) {
      window.floor = window.top - NONCE_WINDOW;
      for (const seen of window.seen) if (seen <= window.floor) window.seen.delete(seen);
    }
  }

  private charge(channelId: number, payer: Uint8Array, terms: GatewayTerms, bytes: number): Promise<void> {
    const key = hexKey(payer);
    const run = (this.queues.get(key) ?? Promise.resolve()).then(async () => {
      const value = terms.pricePerByte * BigInt(bytes);
      const channel = await this.channel(channelId);
      const left = channel.deposit - this.deps.payments.served(channelId, channel);
      if (left < value) throw new PaymentRefused(RetrievalRefusal.fundsLow, `channel ${channelId} has ${left} atto left, the answer costs ${value}`);
      const owed = await this.deps.payments.unpaid(payer, (id) => getPaymentChannel(this.deps.chain.headState(), id));
      // A block larger than the interval is served when nothing is owed (else it could never be).
      if (owed > 0n && owed + value > terms.pricePerByte * BigInt(terms.intervalBytes)) {
        throw new PaymentRefused(RetrievalRefusal.paymentOverdue, `the payer owes ${owed} atto for bytes served before: no more until vouchers cover them`);
      }
      await this.deps.payments.charge(channelId, channel, value);
      this.deps.onCharged?.(channelId, bytes);
    });
    const settled = run.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }
}
