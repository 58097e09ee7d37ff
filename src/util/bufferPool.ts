// Buffers for block reads, handed back once their bytes are on the wire: a gateway reading a 256 KiB
// block per request made the garbage collector its third-largest cost. Only buffers of the pooled
// sizes are kept, a bounded number of each; anything else is left to the collector.
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();

  constructor(
    /** The lengths worth keeping (the block sizes that come most often). */
    private readonly sizes: readonly number[],
    /** Buffers kept per size. */
    private readonly perSize: number,
  ) {}

  /** A buffer of exactly `length` bytes, not zeroed: the caller fills all of it. */
  take(length: number): Buffer {
    return this.free.get(length)?.pop() ?? Buffer.allocUnsafe(length);
  }

  /** Hands a buffer back; the caller must hold no reference to it afterwards. */
  give(bytes: Uint8Array): void {
    if (!Buffer.isBuffer(bytes) || !this.sizes.includes(bytes.length) || bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.length) return;
    let list = this.free.get(bytes.length);
    if (!list) this.free.set(bytes.length, (list = []));
    if (list.length < this.perSize) list.push(bytes);
  }
}

/** The pool block reads share (64 x 256 KiB at most: 16 MiB). */
export const blockBuffers = new BufferPool([256 * 1024], 64);
