// The local miner's storage ask: signed with its worker key, admitted to the node's own book,
// gossiped, and signed again (a higher seq, a later expiry) before it runs out and every couple of
// minutes, so clients always see a live ask while the miner keeps its terms, late joiners included.
import { readFile } from 'node:fs/promises';
import { writeFileDurable } from '../util/durableFile.js';
import type { Logger } from '../util/logger.js';
import { toHex } from '../primitives/index.js';
import type { OrderBook } from './book.js';
import { signOrder, type SignedOrder, type StorageAsk } from './orders.js';

export interface AskTerms {
  pricePerGiBSlot: bigint;
  minPieceBytes: number;
  maxPieceBytes: number;
  collateralPerGiB: bigint;
  /** How long each signed ask lives, in slots. */
  expirySlots: number;
}

export interface AskPublisherOptions {
  book: OrderBook;
  /** Gossips an ask's bytes (none when the node has no network). */
  publish(bytes: Uint8Array): void;
  /** The local miner's id and worker key, while it runs. */
  signer(): { minerId: number; workerKey: Uint8Array } | null;
  chainId: number;
  currentSlot(): number;
  log: Logger;
  /**
   * Slots between re-announcements of the ask (signed again, a higher seq): gossip reaches only the
   * peers connected at the time, so nodes that joined later or missed it learn it this way.
   */
  republishSlots?: number;
  /** Where the terms are kept, so a restarted node publishes its ask again (none: memory only). */
  termsPath?: string;
}

const DEFAULT_REPUBLISH_SLOTS = 120;
const ANNOUNCE_MIN_SLOTS = 4;

export class AskPublisher {
  private terms: AskTerms | null = null;
  private current: SignedOrder<'storageAsk'> | null = null;
  /** A peer subscribed too soon after the last announcement: announce at the next refresh. */
  private announceWanted = false;

  constructor(private readonly opts: AskPublisherOptions) {}

  get ask(): SignedOrder<'storageAsk'> | null {
    return this.current;
  }

  /** Signs and publishes new terms at once; they are renewed from then on (and kept across restarts). */
  async set(terms: AskTerms): Promise<SignedOrder<'storageAsk'>> {
    this.terms = terms;
    const signed = await this.publish();
    if (this.opts.termsPath) await writeFileDurable(this.opts.termsPath, JSON.stringify({ ...terms, pricePerGiBSlot: terms.pricePerGiBSlot.toString(), collateralPerGiB: terms.collateralPerGiB.toString() }));
    return signed;
  }

  /** Reads the terms of the last run; the ask is published at the first refresh the miner can sign. */
  async restore(): Promise<boolean> {
    if (!this.opts.termsPath) return false;
    let text: string;
    try {
      text = await readFile(this.opts.termsPath, 'utf8');
    } catch {
      return false;
    }
    const t = JSON.parse(text) as Omit<AskTerms, 'pricePerGiBSlot' | 'collateralPerGiB'> & { pricePerGiBSlot: string; collateralPerGiB: string };
    this.terms = { pricePerGiBSlot: BigInt(t.pricePerGiBSlot), minPieceBytes: t.minPieceBytes, maxPieceBytes: t.maxPieceBytes, collateralPerGiB: BigInt(t.collateralPerGiB), expirySlots: t.expirySlots };
    return true;
  }

  /** Renews the ask when a quarter of its life is left, and re-announces it every `republishSlots` (call on every new head). */
  async refresh(): Promise<void> {
    if (!this.terms) return;
    if (!this.current) {
      // Terms restored from the last run: publish once the miner is there to sign.
      if (this.opts.signer()) await this.publish().catch((error: unknown) => this.opts.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'Publishing the restored storage ask failed'));
      return;
    }
    const slot = this.opts.currentSlot();
    const left = this.current.order.expirySlot - slot;
    const age = slot - (this.current.order.expirySlot - this.terms.expirySlots);
    if (this.announceWanted && age >= ANNOUNCE_MIN_SLOTS) return this.announce();
    if (left > Math.max(1, Math.floor(this.terms.expirySlots / 4)) && age < (this.opts.republishSlots ?? DEFAULT_REPUBLISH_SLOTS)) return;
    await this.publish().catch((error: unknown) => this.opts.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'Renewing the storage ask failed'));
  }

  /**
   * Announces the ask again now (a peer just subscribed to asks and missed it), at most once every
   * few slots: a burst of joining peers costs one message.
   */
  async announce(): Promise<void> {
    if (!this.terms || !this.current) return;
    const sinceLast = this.opts.currentSlot() - (this.current.order.expirySlot - this.terms.expirySlots);
    if (sinceLast < ANNOUNCE_MIN_SLOTS) {
      this.announceWanted = true;
      return;
    }
    this.announceWanted = false;
    await this.publish().catch((error: unknown) => this.opts.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'Announcing the storage ask failed'));
  }

  private async publish(): Promise<SignedOrder<'storageAsk'>> {
    const signer = this.opts.signer();
    if (!signer || !this.terms) throw new Error('this node runs no miner');
    const slot = this.opts.currentSlot();
    // The slot orders asks across restarts too: a new ask always outranks the node's last one.
    const seq = Math.max(slot, (this.current?.order.seq ?? 0) + 1);
    const { expirySlots, ...terms } = this.terms;
    const ask: StorageAsk = { miner: signer.minerId, ...terms, expirySlot: slot + expirySlots, seq };
    const signed = await this.opts.book.admit('storageAsk', signOrder('storageAsk', ask, signer.workerKey, this.opts.chainId));
    this.opts.publish(signed.bytes);
    this.current = signed;
    this.opts.log.info({ miner: ask.miner, seq, expirySlot: ask.expirySlot, id: toHex(signed.id) }, 'Published storage ask');
    return signed;
  }
}
