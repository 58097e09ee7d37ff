// The transaction pool: per-sender nonce queues, best-price-first selection, replace-by-fee with a
// minimum bump, and bounds an attacker cannot turn into a denial of service:
// - pending txs (executable now) and queued txs (behind a nonce gap, which may never execute) are
//   limited apart: queued ones per sender, in total, and in lifetime, so a cheap flood of gapped txs
//   cannot fill the pool (geth's account/global queue, Lotus's per-actor limits);
// - a sender's pooled txs must together fit its spendable balance (value + maximum fee each);
// - the local miner's own txs (proofs, recoveries, sealing) have a reserved lane and are never
//   refused for a full pool, as Lotus prioritises local messages.
import { BcrError, formatBcr, hexKey, isBcrError } from '../primitives/index.js';
import type { ChainParams } from '../consensus/index.js';
import { maxFee, verifyTx, type VerifiedTx } from '../state/index.js';
import type { Metrics } from '../metrics/index.js';

export type MempoolErrorCode =
  | 'ALREADY_KNOWN'
  | 'NONCE_TOO_LOW'
  | 'NONCE_TOO_FAR'
  | 'REPLACEMENT_UNDERPRICED'
  | 'POOL_FULL'
  | 'QUEUE_FULL'
  | 'SENDER_QUEUE_FULL'
  | 'INSUFFICIENT_FUNDS';

/** Pool policy (duplicates, limits, balance): not the sender's fault, so gossip ignores the tx. */
export class MempoolError extends BcrError<MempoolErrorCode> {
  readonly action = 'IGNORE' as const;

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
  /** Txs from the network and RPC (the local lane is counted apart). */
  maxTotal: number;
  /** Txs one sender may have pooled: nonces at most this far ahead of its account nonce. */
  maxPerSender: number;
  /** Queued (nonce-gapped) txs one sender may have. */
  maxQueuedPerSender: number;
  /** Queued txs in all. */
  maxQueuedTotal: number;
  /** A queued tx older than this is dropped (its gap was never filled). */
  queuedLifetimeMs: number;
  /** The local miner's own txs. */
  maxLocal: number;
  priceBumpPercent: bigint;
  /** Wall clock for lifetimes (the pool is not consensus code). */
  now: () => number;
}

export const DEFAULT_MEMPOOL_OPTIONS: MempoolOptions = {
  maxTotal: 5120,
  maxPerSender: 64,
  maxQueuedPerSender: 16,
  maxQueuedTotal: 1024,
  queuedLifetimeMs: 10 * 60_000,
  maxLocal: 1024,
  priceBumpPercent: 10n,
  now: () => Date.now(),
};

/** Lifetimes are checked by a scan of the pool, so not on every admission during a flood. */
const EXPIRY_SCAN_MS = 1000;

export interface AddOptions {
  /** A tx of the local miner: reserved lane, never refused for a full pool. */
  local?: boolean;
}

interface Entry {
  tx: VerifiedTx;
  addedAt: number;
  local: boolean;
  queued: boolean;
  /** value moved + maximum fee: what the tx can take from the sender's balance. */
  cost: bigint;
}

export class Mempool {
  private readonly bySender = new Map<string, Map<number, Entry>>();
  private readonly byId = new Map<string, Entry>();
  private readonly options: MempoolOptions;
  private readonly addListeners: ((tx: VerifiedTx) => void)[] = [];
  private readonly reinjectListeners: ((txs: VerifiedTx[]) => void)[] = [];
  private remoteCount = 0;
  private localCount = 0;
  private queuedCount = 0;
  private evictions = 0;
  private lastExpiry = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly chain: MempoolChainView,
    options: Partial<MempoolOptions> = {},
    private readonly metrics: Metrics | null = null,
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

  /** Counts by lane and state (RPC status, metrics, tests). */
  stats(): { total: number; pending: number; queued: number; local: number; evicted: number } {
    return { total: this.byId.size, pending: this.byId.size - this.queuedCount, queued: this.queuedCount, local: this.localCount, evicted: this.evictions };
  }

  has(id: Uint8Array): boolean {
    return this.byId.has(hexKey(id));
  }

  get(id: Uint8Array): VerifiedTx | undefined {
    return this.byId.get(hexKey(id))?.tx;
  }

  /** Validates and adds a tx; returns it, or throws TxError / MempoolError with a precise code. */
  async add(input: Uint8Array | VerifiedTx, addOptions: AddOptions = {}): Promise<VerifiedTx> {
    if (!this.metrics) return this.admit(input, addOptions);
    try {
      return await this.admit(input, addOptions);
    } catch (error) {
      this.metrics.mempoolRefused.inc({ code: isBcrError(error) ? error.code : 'INTERNAL' });
      throw error;
    }
  }

  private async admit(input: Uint8Array | VerifiedTx, addOptions: AddOptions): Promise<VerifiedTx> {
    const tx = input instanceof Uint8Array ? verifyTx(input, this.chain.params) : input;
    const local = addOptions.local === true;
    const { options } = this;
    if (this.byId.has(hexKey(tx.id))) throw new MempoolError('ALREADY_KNOWN', 'tx is already in the pool');
    this.expireQueued();
    const account = await this.chain.accountState(tx.sender);
    const nonce = tx.body.nonce;
    if (nonce < account.nonce) throw new MempoolError('NONCE_TOO_LOW', `nonce ${nonce} already used (next is ${account.nonce})`);
    if (nonce >= account.nonce + options.maxPerSender) {
      throw new MempoolError('NONCE_TOO_FAR', `nonce ${nonce} is more than ${options.maxPerSender} ahead of ${account.nonce}`);
    }
    const senderKey = hexKey(tx.sender);
    const queue = this.bySender.get(senderKey);
    const existing = queue?.get(nonce);
    if (existing) {
      const needed = existing.tx.body.gasPrice + (existing.tx.body.gasPrice * options.priceBumpPercent + 99n) / 100n;
      if (tx.body.gasPrice < needed) {
        throw new MempoolError('REPLACEMENT_UNDERPRICED', `replacement needs gas price >= ${needed} (+${options.priceBumpPercent}%)`);
      }
    }
    const cost = maxFee(tx.body) + tx.kind.spends(tx.payload);
    let committed = cost;
    for (const entry of queue?.values() ?? []) if (entry !== existing) committed += entry.cost;
    if (account.spendable < committed) {
      throw new MempoolError('INSUFFICIENT_FUNDS', `spendable ${formatBcr(account.spendable)} BCR cannot cover this tx and the sender's other pooled txs (${formatBcr(committed)} BCR: values plus maximum fees)`);
    }
    const queued = nonce > this.firstGap(queue, account.nonce);
    if (queued && !local && !existing) {
      const senderQueued = [...(queue?.values() ?? [])].filter((e) => e.queued).length;
      if (senderQueued >= options.maxQueuedPerSender) {
        throw new MempoolError('SENDER_QUEUE_FULL', `sender already has ${senderQueued} txs waiting behind a nonce gap (at most ${options.maxQueuedPerSender}); send nonce ${this.firstGap(queue, account.nonce)} first`);
      }
      if (this.queuedCount >= options.maxQueuedTotal) throw new MempoolError('QUEUE_FULL', `${this.queuedCount} txs already wait behind nonce gaps (at most ${options.maxQueuedTotal})`);
    }
    if (existing) this.remove(existing);
    else if (local ? this.localCount >= options.maxLocal : this.remoteCount >= options.maxTotal) {
      const cheapest = local ? undefined : this.cheapestEvictable();
      if (!cheapest || cheapest.tx.body.gasPrice >= tx.body.gasPrice) {
        throw new MempoolError('POOL_FULL', `pool is full (${local ? options.maxLocal : options.maxTotal}) and the tx does not outbid the cheapest`);
      }
      this.remove(cheapest);
      this.evictions++;
      this.metrics?.mempoolEvictions.inc({ reason: 'outbid' });
    }
    this.insert({ tx, addedAt: options.now(), local, queued, cost });
    this.reclassify(senderKey, account.nonce);
    for (const listener of this.addListeners) listener(tx);
    return tx;
  }

  /** The first nonce at or after `from` that the sender's queue does not hold. */
  private firstGap(queue: Map<number, Entry> | undefined, from: number): number {
    let nonce = from;
    while (queue?.has(nonce)) nonce++;
    return nonce;
  }

  /** Marks each of a sender's txs pending (no gap before it) or queued. */
  private reclassify(senderKey: string, accountNonce: number): void {
    const queue = this.bySender.get(senderKey);
    if (!queue) return;
    const gap = this.firstGap(queue, accountNonce);
    for (const entry of queue.values()) {
      const queued = entry.tx.body.nonce > gap;
      if (queued !== entry.queued) this.queuedCount += queued ? 1 : -1;
      entry.queued = queued;
    }
  }

  private insert(entry: Entry): void {
    const senderKey = hexKey(entry.tx.sender);
    let queue = this.bySender.get(senderKey);
    if (!queue) this.bySender.set(senderKey, (queue = new Map()));
    queue.set(entry.tx.body.nonce, entry);
    this.byId.set(hexKey(entry.tx.id), entry);
    if (entry.local) this.localCount++;
    else this.remoteCount++;
    if (entry.queued) this.queuedCount++;
  }

  private remove(entry: Entry): void {
    const senderKey = hexKey(entry.tx.sender);
    const queue = this.bySender.get(senderKey);
    if (queue?.get(entry.tx.body.nonce) === entry) {
      queue.delete(entry.tx.body.nonce);
      if (queue.size === 0) this.bySender.delete(senderKey);
    }
    if (!this.byId.delete(hexKey(entry.tx.id))) return;
    if (entry.local) this.localCount--;
    else this.remoteCount--;
    if (entry.queued) this.queuedCount--;
  }

  /** Drops queued txs whose gap was not filled within their lifetime (a scan at most once a second). */
  private expireQueued(): number {
    const now = this.options.now();
    if (this.queuedCount === 0 || now - this.lastExpiry < EXPIRY_SCAN_MS) return 0;
    this.lastExpiry = now;
    const cutoff = now - this.options.queuedLifetimeMs;
    let expired = 0;
    for (const entry of [...this.byId.values()]) {
      if (entry.queued && entry.addedAt < cutoff) {
        this.remove(entry);
        expired++;
        this.metrics?.mempoolEvictions.inc({ reason: 'queued_expired' });
      }
    }
    return expired;
  }

  /**
   * The cheapest remote tx that can go without leaving a nonce gap behind it (the last of its
   * sender's queue); a queued tx goes before a pending one of the same price.
   */
  private cheapestEvictable(): Entry | undefined {
    let cheapest: Entry | undefined;
    for (const queue of this.bySender.values()) {
      let last: Entry | undefined;
      for (const entry of queue.values()) if (!last || entry.tx.body.nonce > last.tx.body.nonce) last = entry;
      if (!last || last.local) continue;
      const price = last.tx.body.gasPrice;
      if (!cheapest || price < cheapest.tx.body.gasPrice || (price === cheapest.tx.body.gasPrice && last.queued && !cheapest.queued)) cheapest = last;
    }
    return cheapest;
  }

  /**
   * Txs ready for a block, the local miner's own first, then best gas price first while keeping
   * each sender's nonce order: a heap of each sender's next executable tx.
   */
  async selectForBlock(maxCount: number): Promise<VerifiedTx[]> {
    const runs: Entry[][] = [];
    for (const queue of this.bySender.values()) {
      const first = queue.values().next().value as Entry;
      let { nonce } = await this.chain.accountState(first.tx.sender);
      const run: Entry[] = [];
      for (let entry = queue.get(nonce); entry; entry = queue.get(++nonce)) run.push(entry);
      if (run.length) runs.push(run.reverse());
    }
    const out: VerifiedTx[] = [];
    const heap = new MaxHeap<Entry[]>((a, b) => compareEntries(a[a.length - 1]!, b[b.length - 1]!));
    for (const run of runs) heap.push(run);
    while (out.length < maxCount && heap.size) {
      const run = heap.pop()!;
      out.push(run.pop()!.tx);
      if (run.length) heap.push(run);
    }
    return out;
  }

  /** After a head change: drop included and stale txs, re-inject txs of reverted blocks. */
  async onHeadChange(change: { reverted: { txs: Uint8Array[] }[]; applied: { txs: Uint8Array[] }[] }): Promise<{ reinjected: number; dropped: number }> {
    for (const block of change.applied) {
      for (const bytes of block.txs) {
        try {
          const entry = this.byId.get(hexKey(verifyTx(bytes, this.chain.params).id));
          if (entry) this.remove(entry);
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
    let dropped = this.expireQueued();
    for (const [senderKey, queue] of [...this.bySender]) {
      const first = queue.values().next().value as Entry;
      const { nonce } = await this.chain.accountState(first.tx.sender);
      for (const entry of [...queue.values()]) {
        if (entry.tx.body.nonce < nonce) {
          this.remove(entry);
          dropped++;
        }
      }
      this.reclassify(senderKey, nonce);
    }
    if (reinjected.length) for (const listener of this.reinjectListeners) listener(reinjected);
    return { reinjected: reinjected.length, dropped };
  }

  /** Every pooled tx, grouped by sender and ordered by nonce (for RPC). */
  content(): { sender: Uint8Array; txs: VerifiedTx[] }[] {
    return [...this.bySender.values()].map((queue) => {
      const txs = [...queue.values()].map((e) => e.tx).sort((a, b) => a.body.nonce - b.body.nonce);
      return { sender: txs[0]!.sender, txs };
    });
  }

  /** The local miner's own pooled txs, oldest nonce first per sender (pushed to peers as they connect). */
  localTxs(): VerifiedTx[] {
    return [...this.byId.values()].filter((e) => e.local).map((e) => e.tx).sort((a, b) => a.body.nonce - b.body.nonce);
  }

  /** Highest pending nonce + 1 for a sender, or undefined if it has no pooled tx. */
  nextPendingNonce(sender: Uint8Array, fromNonce: number): number {
    return this.firstGap(this.bySender.get(hexKey(sender)), fromNonce);
  }
}

/** Local before remote, then by gas price. */
function compareEntries(a: Entry, b: Entry): number {
  if (a.local !== b.local) return a.local ? 1 : -1;
  return comparePrice(a.tx, b.tx);
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
