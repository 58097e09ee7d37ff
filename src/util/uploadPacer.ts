// An upload cap shared by every answer a server sends (a home uplink's rate, so that serving others
// leaves the owner's own line usable). Each send reserves its share of the line in turn; it waits
// until the line, after a short burst allowance, is free for it.
import { setTimeout as sleep } from 'node:timers/promises';

export class UploadPacer {
  /** When the line is next free (ms, on `now`'s clock). */
  private freeAt = 0;

  constructor(
    readonly bytesPerSecond: number,
    /** Bytes that may leave at once, ahead of the rate (smooths small answers). */
    private readonly burstBytes = Math.max(64 * 1024, bytesPerSecond / 20),
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError('an upload cap must be a positive number of bytes per second');
  }

  /** Waits until `bytes` may be sent (the caller then sends them at once). */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = this.now();
    const start = Math.max(now, this.freeAt);
    this.freeAt = start + (bytes * 1000) / this.bytesPerSecond;
    const wait = this.freeAt - now - (this.burstBytes * 1000) / this.bytesPerSecond;
    if (wait > 1) await sleep(wait, undefined, signal ? { signal } : {});
  }
}
