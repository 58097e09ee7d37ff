// The payer's own record of what it has signed on each payment channel: the cumulative amount of its
// last voucher and that voucher's nonce. A client signs every voucher from this record plus the price
// of bytes it has received and verified, never from a figure a provider sends, so a lying provider can
// never get a voucher for more than it served. The record is written durably before the voucher leaves
// (a crash can only make the payer think it paid one chunk more than the provider holds, never less).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Voucher } from '../state/index.js';
import { DurableSnapshot } from '../util/durableFile.js';

export interface ChannelFloor {
  /** What the chain says was redeemed on the channel, and the nonce of that voucher. */
  redeemed: bigint;
  nonce: number;
}

export interface VoucherLedger {
  /**
   * The next voucher on `channel`, paying `add` atto more than the last one this payer signed (and
   * never less than `floor`, the chain's redeemed state). Recorded durably before it is returned.
   */
  next(channel: number, add: bigint, floor: ChannelFloor): Promise<Voucher>;
  /** What this payer has signed on `channel` so far (0 if nothing). */
  signed(channel: number): bigint;
}

interface Entry {
  amount: bigint;
  nonce: number;
}

/** A ledger kept in memory only (tests, one-shot tools that never reuse a channel). */
export class MemoryVoucherLedger implements VoucherLedger {
  protected readonly entries = new Map<number, Entry>();
  private queue: Promise<unknown> = Promise.resolve();

  signed(channel: number): bigint {
    return this.entries.get(channel)?.amount ?? 0n;
  }

  next(channel: number, add: bigint, floor: ChannelFloor): Promise<Voucher> {
    if (add < 0n) throw new RangeError('a voucher never pays less than the last one');
    // One voucher at a time per ledger: parallel retrievals on one channel take consecutive nonces.
    const run = this.queue.then(async () => {
      const last = this.entries.get(channel);
      const base = last && last.amount >= floor.redeemed ? last.amount : floor.redeemed;
      const nonce = Math.max(last?.nonce ?? 0, floor.nonce) + 1;
      const entry = { amount: base + add, nonce };
      this.entries.set(channel, entry);
      await this.persist();
      return { channel, amount: entry.amount, nonce: entry.nonce };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  protected async persist(): Promise<void> {}
}

/** A ledger in a JSON file per chain and payer, written durably (tmp + fsync + rename). */
export class FileVoucherLedger extends MemoryVoucherLedger {
  private readonly snapshot: DurableSnapshot;

  private constructor(readonly path: string) {
    super();
    this.snapshot = new DurableSnapshot(path, () => JSON.stringify([...this.entries].map(([channel, e]) => ({ channel, amount: e.amount.toString(), nonce: e.nonce }))));
  }

  static async open(dir: string, chainId: number, payer: string): Promise<FileVoucherLedger> {
    const ledger = new FileVoucherLedger(join(dir, `${chainId}-${payer.toLowerCase()}.json`));
    let text: string | null = null;
    try {
      text = await readFile(ledger.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== null) {
      const rows = JSON.parse(text) as { channel: number; amount: string; nonce: number }[];
      if (!Array.isArray(rows)) throw new Error(`${ledger.path} is not a voucher ledger`);
      for (const r of rows) ledger.entries.set(r.channel, { amount: BigInt(r.amount), nonce: r.nonce });
    }
    return ledger;
  }

  protected override persist(): Promise<void> {
    return this.snapshot.save();
  }
}
