// The transaction pool: per-sender nonce queues, best-price-first selection, replace-by-fee with a
// minimum bump, global and per-sender bounds with eviction of the cheapest, and reorg handling.
// Defaults follow geth (5,120 global, 128 KiB max tx, +10% to replace) with a deeper per-sender
// queue (64) for miners that batch sector txs.
import { BcrError, hexKey, isBcrError } from '../primitives/index.js';
import type { ChainParams } from '../consensus/index.js';
import { maxFee, verifyTx, type VerifiedTx } from '../state/index.js';

export type MempoolErrorCode =
  | 'ALREADY_KNOWN'
  | 'NONCE_TOO_LOW'
  | 'NONCE_TOO_FAR'
  | 'REPLACEMENT_UNDERPRICED'
  | 'POOL_FULL'
  | 'INSUFFICIENT_FUNDS';

export class MempoolError extends BcrError<MempoolErrorCode> {
  constructor(code: MempoolErrorCode, message: string) {
    super(code, message);
    this.name = 'MempoolError';
  }
}

export interface MempoolChainView {
  params: ChainParams;
  /** Next nonce and spendable balance of an address at the head. */
  accountState(address: Uint8Array): Promise<{ nonce: number; spendable: bigint }>;
}

export interface MempoolOptions {
  maxTotal: number;
  maxPerSender: number;
  priceBumpPercent: bigint;
}

export const DEFAULT_MEMPOOL_OPTIONS: MempoolOptions = { maxTotal: 5120, maxPerSender: 64, priceBumpPercent: 10n };

export class Mempool {
  private readonly bySender = new Map<string, Map<number, VerifiedTx>>();
  private readonly byId = new Map<string, VerifiedTx>();
  private readonly options: MempoolOptions;
  private readonly addListeners: ((tx: VerifiedTx) => void)[] = [];
  private readonly reinjectListeners: ((txs: VerifiedTx[]) => void)[] = [];

  constructor(
    private readonly chain: MempoolChainView,
    options: Partial<MempoolOptions> = {},
  ) {
    this.options = { ...DEFAULT_MEMPOOL_OPTIONS, ...options };
  }

  /** Called for every tx admitted, re-injections after a reorg included. */
  onAdd(listener: (tx: VerifiedTx) => void): void {
    this.addListeners.push(listener);
  }

  /** Called once per head change with the txs of reverted blocks that went back into the pool. */
  onReinject(listener: (txs: VerifiedTx[]) => void): void {
    this.reinjectListeners.push(listener);
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: Uint8Array): boolean {
    return this.byId.has(hexKey(id));
  }

  get(id: Uint8Array): VerifiedTx | undefined {
    return this.byId.get(hexKey(id));
  }

  /** Validates and adds a tx; returns it, or throws TxError / MempoolError with a precise code. */
  async add(input: Uint8Array | VerifiedTx): Promise<VerifiedTx> {
    const tx = input instanceof Uint8Array ? verifyTx(input, this.chain.params) : input;
    if (this.byId.has(hexKey(tx.id))) throw new MempoolError('ALREADY_KNOWN', 'tx is already in the pool');
    const account = await this.chain.accountState(tx.sender);
    const nonce = tx.body.nonce;
    if (nonce < account.nonce) throw new MempoolError('NONCE_TOO_LOW', `nonce ${nonce} already used (next is ${account.nonce})`);
    if (nonce >= account.nonce + this.options.maxPerSender) {
      throw new MempoolError('NONCE_TOO_FAR', `nonce ${nonce} is more than ${this.options.maxPerSender} ahead of ${account.nonce}`);
    }
    if (account.spendable < maxFee(tx.body)) {
      throw new MempoolError('INSUFFICIENT_FUNDS', `spendable ${account.spendable} atto cannot cover the maximum fee ${maxFee(tx.body)} atto`);
    }
    const senderKey = hexKey(tx.sender);
    const queue = this.bySender.get(senderKey);
    const existing = queue?.get(nonce);
    if (existing) {
      const needed = existing.body.gasPrice + (existing.body.gasPrice * this.options.priceBumpPercent + 99n) / 100n;
      if (tx.body.gasPrice < needed) {
        throw new MempoolError('REPLACEMENT_UNDERPRICED', `replacement needs gas price >= ${needed} (+${this.options.priceBumpPercent}%)`);
      }
      this.remove(existing);
    } else if (this.byId.size >= this.options.maxTotal) {
      const cheapest = this.cheapestEvictable();
      if (!cheapest || cheapest.body.gasPrice >= tx.body.gasPrice) {
        throw new MempoolError('POOL_FULL', `pool is full (${this.options.maxTotal}) and the tx does not outbid the cheapest`);
      }
      this.remove(cheapest);
    }
    this.insert(tx);
    for (const listener of this.addListeners) listener(tx);
    return tx;
  }

  private insert(tx: VerifiedTx): void {
    const senderKey = hexKey(tx.sender);
    let queue = this.bySender.get(senderKey);
    if (!queue) this.bySender.set(senderKey, (queue = new Map()));
    queue.set(tx.body.nonce, tx);
    this.byId.set(hexKey(tx.id), tx);
  }

  private remove(tx: VerifiedTx): void {
    const senderKey = hexKey(tx.sender);
    const queue = this.bySender.get(senderKey);
    if (queue?.get(tx.body.nonce) === tx) {
      queue.delete(tx.body.nonce);
      if (queue.size === 0) this.bySender.delete(senderKey);
    }
    this.byId.delete(hexKey(tx.id));
  }

  /** The cheapest tx that is the last of its sender's queue (evicting it leaves no nonce gap). */
  private cheapestEvictable(): VerifiedTx | undefined {
    let cheapest: VerifiedTx | undefined;
    for (const queue of this.bySender.values()) {
      let last: VerifiedTx | undefined;
      for (const tx of queue.values()) if (!last || tx.body.nonce > last.body.nonce) last = tx;
      if (last && (!cheapest || last.body.gasPrice < cheapest.body.gasPrice)) cheapest = last;
    }
    return cheapest;
  }

  /**
   * Txs ready for a block, best gas price first while keeping each sender's nonce order: a heap of
   * each sender's next executable tx.
   */
  async selectForBlock(maxCount: number): Promise<VerifiedTx[]> {
    const runs: VerifiedTx[][] = [];
    for (const queue of this.bySender.values()) {
      const first = queue.values().next().value as VerifiedTx;
      let { nonce } = await this.chain.accountState(first.sender);
      const run: VerifiedTx[] = [];
      for (let tx = queue.get(nonce); tx; tx = queue.get(++nonce)) run.push(tx);
      if (run.length) runs.push(run.reverse());
    }
    const out: VerifiedTx[] = [];
    const heap = new MaxHeap<VerifiedTx[]>((a, b) => comparePrice(a[a.length - 1]!, b[b.length - 1]!));
    for (const run of runs) heap.push(run);
    while (out.length < maxCount && heap.size) {
      const run = heap.pop()!;
      out.push(run.pop()!);
      if (run.length) heap.push(run);
    }
    return out;
  }

  /** After a head change: drop included and stale txs, re-inject txs of reverted blocks. */
  async onHeadChange(change: { reverted: { txs: Uint8Array[] }[]; applied: { txs: Uint8Array[] }[] }): Promise<{ reinjected: number; dropped: number }> {
    for (const block of change.applied) {
      for (const bytes of block.txs) {
        try {
          const tx = this.byId.get(hexKey(verifyTx(bytes, this.chain.params).id));
          if (tx) this.remove(tx);
        } catch {
          // Blocks on the chain hold only valid txs; nothing to remove otherwise.
        }
      }
    }
    const includedNow = new Set(change.applied.flatMap((b) => b.txs.map((t) => hexKey(t))));
    const reinjected: VerifiedTx[] = [];
    for (const block of change.reverted) {
      for (const bytes of block.txs) {
        if (includedNow.has(hexKey(bytes))) continue;
        try {
          reinjected.push(await this.add(bytes));
        } catch (error) {
          if (!isBcrError(error)) throw error;
        }
      }
    }
    let dropped = 0;
    for (const queue of [...this.bySender.values()]) {
      const first = queue.values().next().value as VerifiedTx;
      const { nonce } = await this.chain.accountState(first.sender);
      for (const tx of [...queue.values()]) {
        if (tx.body.nonce < nonce) {
          this.remove(tx);
          dropped++;
        }
      }
    }
    if (reinjected.length) for (const listener of this.reinjectListeners) listener(reinjected);
    return { reinjected: reinjected.length, dropped };
  }

  /** Every pooled tx, grouped by sender and ordered by nonce (for RPC). */
  content(): { sender: Uint8Array; txs: VerifiedTx[] }[] {
    return [...this.bySender.values()].map((queue) => {
      const txs = [...queue.values()].sort((a, b) => a.body.nonce - b.body.nonce);
      return { sender: txs[0]!.sender, txs };
    });
  }

  /** Highest pending nonce + 1 for a sender, or undefined if it has no pooled tx. */
  nextPendingNonce(sender: Uint8Array, fromNonce: number): number {
    const queue = this.bySender.get(hexKey(sender));
    let nonce = fromNonce;
    while (queue?.has(nonce)) nonce++;
    return nonce;
  }
}

function comparePrice(a: VerifiedTx, b: VerifiedTx): number {
  return a.body.gasPrice === b.body.gasPrice ? 0 : a.body.gasPrice > b.body.gasPrice ? 1 : -1;
}

class MaxHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(items[i]!, items[parent]!) <= 0) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.compare(items[l]!, items[best]!) > 0) best = l;
        if (r < items.length && this.compare(items[r]!, items[best]!) > 0) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}
