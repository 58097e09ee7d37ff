// Block reads from files kept open: opening and closing a file per 256 KiB block doubled the trips to
// the thread pool. Handles are kept a while (a removed file is let go within `ttlMs`) and closed
// once the reads pending on them are done; bytes land in the shared block buffer pool.
import { open, type FileHandle } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { blockBuffers } from './bufferPool.js';

export class OpenFiles {
  private readonly handles: LRUCache<string, Promise<FileHandle>>;

  constructor(max: number, ttlMs?: number) {
    this.handles = new LRUCache<string, Promise<FileHandle>>({
      max,
      ...(ttlMs ? { ttl: ttlMs, ttlAutopurge: true } : {}),
      dispose: (handle) => void handle.then((h) => h.close()).catch(() => undefined),
    });
  }

  /** `length` bytes at `offset` of `path`, or null when the file is shorter; throws when it cannot be read. */
  async read(path: string, offset: number, length: number): Promise<Uint8Array | null> {
    let handle = this.handles.get(path);
    if (!handle) {
      handle = open(path, 'r');
      this.handles.set(path, handle);
    }
    try {
      // Not zero-filled first: every byte is read over (a short read is not served).
      const bytes = blockBuffers.take(length);
      const { bytesRead } = await (await handle).read(bytes, 0, length, offset);
      return bytesRead === length ? bytes : null;
    } catch (error) {
      this.handles.delete(path);
      throw error;
    }
  }

  close(): void {
    this.handles.clear();
  }
}
