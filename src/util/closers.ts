// What a composition root has started, closed in reverse: on stop, and on a start that fails half
// way (so a failure never leaves the database open or a port bound). A closer that throws is logged
// and the rest still run.
import type { Logger } from './logger.js';

export class Closers {
  private readonly stack: { name: string; close: () => Promise<void> | void }[] = [];

  /** Registers how to close a part, right after it started. */
  add(name: string, close: () => Promise<void> | void): void {
    this.stack.push({ name, close });
  }

  /** Closes every part, last started first. */
  async closeAll(log: Logger): Promise<void> {
    for (let part = this.stack.pop(); part; part = this.stack.pop()) {
      try {
        await part.close();
      } catch (error) {
        log.error({ part: part.name, err: error instanceof Error ? error.message : String(error) }, 'Closing a part failed; closing the rest');
      }
    }
  }
}
