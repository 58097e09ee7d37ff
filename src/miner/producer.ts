// Block production loop: on each slot, if this node may produce, pack the best mempool txs into a
// block on the head and import it. Election is the genesis authority rule until the storage-weighted
// lottery lands; the loop itself does not change then.
import { slotAt, slotStart } from '../consensus/index.js';
import type { ChainStore } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { addressOf, bytesEqual, errorMessage, hexKey, toChecksumAddress } from '../primitives/index.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

export interface ProducerOptions {
  chain: ChainStore;
  mempool: Mempool;
  producerKey: Uint8Array;
  clock: Clock;
  log: Logger;
}

export class BlockProducer {
  private timer: NodeJS.Timeout | null = null;
  private readonly producer: Uint8Array;
  private stopped = false;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ProducerOptions) {
    this.producer = addressOf(opts.producerKey);
  }

  get address(): string {
    return toChecksumAddress(this.producer);
  }

  start(): void {
    this.stopped = false;
    this.scheduleNext();
  }

  /** Stops the loop and waits for a block being made to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const { chain, clock } = this.opts;
    const now = clock.now();
    const nextSlot = Math.max(slotAt(chain.params, now) + 1, chain.head.header.slot + 1);
    const delay = Math.max(0, slotStart(chain.params, nextSlot) - now);
    this.timer = setTimeout(() => {
      this.inFlight = this.produce(nextSlot).finally(() => this.scheduleNext());
    }, delay);
  }

  /** Makes and imports a block for `slot` if the head is older than it. */
  async produce(slot: number): Promise<void> {
    const { chain, mempool, clock, log } = this.opts;
    if (chain.head.header.slot >= slot) return;
    try {
      const candidates = await mempool.selectForBlock(chain.params.maxTxsPerBlock);
      const timestamp = Math.max(slotStart(chain.params, slot), Math.min(clock.now(), slotStart(chain.params, slot + 1) - 1));
      const { block, rejected } = await chain.buildBlock({ producerKey: this.opts.producerKey, producer: this.producer, slot, timestamp, candidates });
      for (const { tx, error } of rejected) log.debug({ tx: hexKey(tx.id), code: error.code }, 'Skipped tx while packing');
      const outcome = await chain.importBlock(block, clock.now());
      if (outcome.status === 'head' && bytesEqual(chain.head.header.producer, this.producer)) {
        log.info({ height: block.header.height, slot, txs: block.txs.length }, 'Produced block');
      }
    } catch (error) {
      log.warn({ slot, err: errorMessage(error) }, 'Block production failed');
    }
  }
}
