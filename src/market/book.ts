// The live order book every node keeps from gossip, and the gossip validation of orders: cheap
// checks first (size, decode, field sanity, expiry window, duplicate), then the signature, then the
// signer's right to the order (an ask must come from the miner's worker key).
import type { GossipAction } from '../chain/index.js';
import { BcrError, bytesEqual, hexKey, isBcrError } from '../primitives/index.js';
import { MAX_PIECE_BYTES, MIN_PIECE_BYTES, openOrder, type OrderKind, type OrderKinds, type SignedOrder } from './orders.js';

/** An order may live at most this many slots ahead of the current one. */
export const MAX_ORDER_LIFETIME_SLOTS = 7 * 24 * 3600;
const MAX_ORDERS = 20_000;
const MAX_ORDERS_PER_SIGNER = 32;

export type MarketErrorCode = 'MALFORMED' | 'BAD_SIGNATURE' | 'BAD_FIELD' | 'EXPIRED' | 'TOO_FAR_AHEAD' | 'DUPLICATE' | 'STALE_SEQ' | 'UNKNOWN_MINER' | 'NOT_MINER_WORKER' | 'SIGNER_LIMIT';

const IGNORED: ReadonlySet<MarketErrorCode> = new Set(['EXPIRED', 'DUPLICATE', 'STALE_SEQ', 'UNKNOWN_MINER', 'SIGNER_LIMIT']);

export class MarketError extends BcrError<MarketErrorCode> {
  readonly action: GossipAction;

  constructor(code: MarketErrorCode, message: string) {
    super(code, message);
    this.name = 'MarketError';
    this.action = IGNORED.has(code) ? 'IGNORE' : 'REJECT';
  }
}

/** What the book needs to know of the chain. */
export interface MarketChainView {
  chainId: number;
  currentSlot(): number;
  /** The worker address of a miner, or undefined if no such miner. */
  minerWorker(minerId: number): Promise<Uint8Array | undefined>;
}

function isPowerOfTwo(n: number): boolean {
  if (n < MIN_PIECE_BYTES || n > MAX_PIECE_BYTES) return false;
  const big = BigInt(n);
  return (big & (big - 1n)) === 0n;
}

function checkFields<K extends OrderKind>(kind: K, order: OrderKinds[K]): void {
  const bad = (message: string) => new MarketError('BAD_FIELD', message);
  if (kind === 'storageAsk') {
    const ask = order as OrderKinds['storageAsk'];
    if (!isPowerOfTwo(ask.minPieceBytes) || !isPowerOfTwo(ask.maxPieceBytes)) throw bad('piece sizes must be powers of two in [128 B, 64 GiB]');
    if (ask.minPieceBytes > ask.maxPieceBytes) throw bad('minPieceBytes above maxPieceBytes');
  } else if (kind === 'storageOrder') {
    const o = order as OrderKinds['storageOrder'];
    if (!isPowerOfTwo(o.pieceBytes)) throw bad('pieceBytes must be a power of two in [128 B, 64 GiB]');
    if (o.durationSlots === 0) throw bad('durationSlots must be positive');
    if (o.replicas === 0) throw bad('replicas must be positive');
  }
}

export class OrderBook {
  private readonly orders = new Map<string, SignedOrder>();
  /** Current ask per miner. */
  private readonly asks = new Map<number, SignedOrder<'storageAsk'>>();
  private readonly perSigner = new Map<string, number>();
  /** Bumped at every change: a snapshot of an unchanged book need not be taken again. */
  private changes = 0;

  constructor(private readonly chain: MarketChainView) {}

  /** Validates gossip bytes of `kind` and adds the order; throws MarketError (with its gossip action). */
  async admit<K extends OrderKind>(kind: K, data: Uint8Array): Promise<SignedOrder<K>> {
    let signed: SignedOrder<K>;
    try {
      signed = openOrder(kind, data, this.chain.chainId);
    } catch (error) {
      if (isBcrError(error, 'MALFORMED')) throw new MarketError('MALFORMED', error.message);
      throw new MarketError('BAD_SIGNATURE', `signature does not recover: ${error instanceof Error ? error.message : String(error)}`);
    }
    const { order } = signed;
    checkFields(kind, order);
    const slot = this.chain.currentSlot();
    if (order.expirySlot <= slot) throw new MarketError('EXPIRED', `expired at slot ${order.expirySlot} (now ${slot})`);
    if (order.expirySlot > slot + MAX_ORDER_LIFETIME_SLOTS) throw new MarketError('TOO_FAR_AHEAD', `expiry slot ${order.expirySlot} is more than ${MAX_ORDER_LIFETIME_SLOTS} slots ahead`);
    const key = hexKey(signed.id);
    if (this.orders.has(key)) throw new MarketError('DUPLICATE', 'order already known');
    if (kind === 'storageAsk') await this.admitAsk(signed as SignedOrder<'storageAsk'>);
    else this.count(signed.signer, +1);
    this.orders.set(key, signed);
    this.changes++;
    if (this.orders.size > MAX_ORDERS) this.prune(slot);
    return signed;
  }

  private async admitAsk(signed: SignedOrder<'storageAsk'>): Promise<void> {
    const { miner, seq } = signed.order;
    const worker = await this.chain.minerWorker(miner);
    if (!worker) throw new MarketError('UNKNOWN_MINER', `miner ${miner} does not exist`);
    if (!bytesEqual(worker, signed.signer)) throw new MarketError('NOT_MINER_WORKER', `ask for miner ${miner} is not signed by its worker key`);
    const current = this.asks.get(miner);
    if (current && current.order.seq >= seq) throw new MarketError('STALE_SEQ', `miner ${miner} already has ask seq ${current.order.seq}`);
    if (current) this.orders.delete(hexKey(current.id));
    this.asks.set(miner, signed);
  }

  private count(signer: Uint8Array, delta: number): void {
    const key = hexKey(signer);
    const next = (this.perSigner.get(key) ?? 0) + delta;
    if (next > MAX_ORDERS_PER_SIGNER) throw new MarketError('SIGNER_LIMIT', `signer already has ${MAX_ORDERS_PER_SIGNER} live orders`);
    if (next <= 0) this.perSigner.delete(key);
    else this.perSigner.set(key, next);
  }

  /** Drops orders that expired by `slot`. */
  prune(slot: number): void {
    for (const [key, signed] of this.orders) {
      if (signed.order.expirySlot > slot) continue;
      this.orders.delete(key);
      this.changes++;
      if (signed.kind === 'storageAsk') this.asks.delete((signed as SignedOrder<'storageAsk'>).order.miner);
      else this.count(signed.signer, -1);
    }
  }

  list<K extends OrderKind>(kind: K): SignedOrder<K>[] {
    const slot = this.chain.currentSlot();
    return [...this.orders.values()].filter((o): o is SignedOrder<K> => o.kind === kind && o.order.expirySlot > slot);
  }

  get size(): number {
    return this.orders.size;
  }

  /** A counter that moves whenever the book changes. */
  get version(): number {
    return this.changes;
  }

  /** Every live order as the bytes it was admitted from (to be admitted again after a restart). */
  entries(): { kind: OrderKind; bytes: Uint8Array }[] {
    return [...this.orders.values()].map((o) => ({ kind: o.kind, bytes: o.bytes }));
  }
}
