// The provider's side of retrieval payments: per payment channel, the value of what it served and the
// best voucher it holds, kept durably in one file. What a payer owes is counted per payer (over all
// its channels), across requests, streams, connections and restarts: the provider serves a chunk only
// while the payer's unpaid total stays within the payment interval, so a client that never pays gets
// at most one interval, however many times it asks (docs/protocol.md §13.8).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesEqual, decode, encode, fromHex, hexKey, toHex } from '../primitives/index.js';
import { recoverVoucherSigner, voucherCodec, voucherProblem, type PaymentChannel, type Voucher } from '../state/index.js';
import { DurableSnapshot } from '../util/durableFile.js';
import { RetrievalRefusal } from './retrievalProtocol.js';

export interface PaymentTerms {
  /** Bytes served to a payer beyond what its vouchers pay (raised to one chunk if smaller). */
  intervalBytes: number;
  /** Shortest settle delay (slots) of a channel served on: time for the redeem to land. */
  minSettleDelay: number;
}

interface ChannelRecord {
  payer: string;
  /** Atto of chunks sent on this channel (written before each chunk goes out). */
  served: bigint;
  best: { voucher: Voucher; signature: Uint8Array } | null;
}

export class PaymentRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PaymentRefused';
  }
}

const FILE = 'retrieval-payments.json';

export class RetrievalPayments {
  private readonly channels = new Map<number, ChannelRecord>();
  /** Channel ids by payer (hex): what a payer owes is summed per chunk, so no scan of every channel. */
  private readonly byPayer = new Map<string, Set<number>>();
  private readonly snapshot: DurableSnapshot;
  /** Streams waiting for a payer's vouchers to arrive on another stream. */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly dir: string,
    private readonly chainId: number,
  ) {
    this.snapshot = new DurableSnapshot(join(dir, FILE), () =>
      JSON.stringify(
        [...this.channels].map(([channel, r]) => ({
          channel,
          payer: r.payer,
          served: r.served.toString(),
          voucher: r.best ? toHex(encode(voucherCodec, r.best.voucher)) : null,
          signature: r.best ? toHex(r.best.signature) : null,
        })),
      ),
    );
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.dir, FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const r of JSON.parse(text) as { channel: number; payer: string; served: string; voucher: string | null; signature: string | null }[]) {
      this.index(r.payer, r.channel);
      this.channels.set(r.channel, {
        payer: r.payer,
        served: BigInt(r.served),
        best: r.voucher && r.signature ? { voucher: decode(voucherCodec, fromHex(r.voucher), 'stored voucher'), signature: fromHex(r.signature) } : null,
      });
    }
  }

  settled(): Promise<void> {
    return this.snapshot.settled();
  }

  /** What the vouchers of `channelId` pay in all: the best held, or what the chain says was redeemed. */
  paid(channelId: number, onChain: PaymentChannel): bigint {
    const best = this.channels.get(channelId)?.best;
    return best && best.voucher.amount > onChain.redeemed ? best.voucher.amount : onChain.redeemed;
  }

  private record(channelId: number, onChain: PaymentChannel): ChannelRecord {
    let record = this.channels.get(channelId);
    if (!record) {
      record = { payer: hexKey(onChain.from), served: 0n, best: null };
      this.channels.set(channelId, record);
      this.index(record.payer, channelId);
    }
    return record;
  }

  private index(payer: string, channelId: number): void {
    let ids = this.byPayer.get(payer);
    if (!ids) this.byPayer.set(payer, (ids = new Set()));
    ids.add(channelId);
  }

  /** Atto the payer of `onChain` owes over all its channels here: served and not yet covered by vouchers. */
  async unpaid(payer: Uint8Array, channelOf: (id: number) => Promise<PaymentChannel | null>): Promise<bigint> {
    let owed = 0n;
    for (const id of this.byPayer.get(hexKey(payer)) ?? []) {
      const record = this.channels.get(id)!;
      const onChain = await channelOf(id);
      const paid = onChain ? this.paid(id, onChain) : record.best?.voucher.amount ?? 0n;
      if (record.served > paid) owed += record.served - paid;
    }
    return owed;
  }

  /** Value served on the channel so far (at least what its vouchers pay). */
  served(channelId: number, onChain: PaymentChannel): bigint {
    const served = this.channels.get(channelId)?.served ?? 0n;
    const paid = this.paid(channelId, onChain);
    return served > paid ? served : paid;
  }

  /** Records `value` more served on the channel, durably, before the chunk is sent. */
  async charge(channelId: number, onChain: PaymentChannel, value: bigint): Promise<void> {
    const record = this.record(channelId, onChain);
    const paid = this.paid(channelId, onChain);
    record.served = (record.served > paid ? record.served : paid) + value;
    await this.snapshot.save();
  }

  /**
   * Checks a voucher the payer sent and keeps it if it pays more than the best held. A valid voucher
   * that pays no more (one overtaken by a later one from a parallel stream) changes nothing.
   */
  async accept(channelId: number, onChain: PaymentChannel, payee: Uint8Array, voucher: Voucher, signature: Uint8Array, slot: number): Promise<bigint> {
    if (!bytesEqual(onChain.to, payee)) throw new PaymentRefused(RetrievalRefusal.wrongPayee, 'the voucher does not pay this provider');
    const record = this.record(channelId, onChain);
    const best = record.best?.voucher;
    const problem = voucherProblem(onChain, channelId, voucher, recoverVoucherSigner(this.chainId, voucher, signature), slot);
    // Stale against the chain (already redeemed) or against the best voucher held: nothing new.
    const stale = problem?.code === 'VOUCHER_REPLAYED' || problem?.code === 'VOUCHER_NOT_HIGHER' || (!problem && best !== undefined && (voucher.amount <= best.amount || voucher.nonce <= best.nonce));
    if (problem && !stale) throw new PaymentRefused(RetrievalRefusal.badVoucher, `${problem.code}: ${problem.message}`);
    if (!stale) {
      record.best = { voucher, signature };
      await this.snapshot.save();
      const waiting = this.waiters.get(record.payer);
      this.waiters.delete(record.payer);
      for (const wake of waiting ?? []) wake();
    }
    return this.paid(channelId, onChain);
  }

  /**
   * Resolves when a new voucher of `payer` is accepted on any stream (a stream whose own chunks are
   * all paid waits here while the payer's other streams catch up); rejects after `timeoutMs`.
   */
  paymentFrom(payer: Uint8Array, timeoutMs: number): Promise<void> {
    const key = hexKey(payer);
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(key) ?? new Set<() => void>();
      this.waiters.set(key, set);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        set.delete(wake);
        reject(new PaymentRefused(RetrievalRefusal.paymentOverdue, `no voucher from the payer in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      set.add(wake);
    });
  }

  best(channelId: number): { voucher: Voucher; signature: Uint8Array } | null {
    return this.channels.get(channelId)?.best ?? null;
  }

  list(): { channel: number; amount: bigint; nonce: number; served: bigint }[] {
    return [...this.channels].map(([channel, r]) => ({ channel, amount: r.best?.voucher.amount ?? 0n, nonce: r.best?.voucher.nonce ?? 0, served: r.served }));
  }
}
