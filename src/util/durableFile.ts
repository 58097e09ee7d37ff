// Durable file writes for what a user cannot lose (vouchers, deal records, ledgers): write a
// temporary file beside the target, fsync it, rename it over the target, fsync the directory. A crash
// at any point leaves either the old file or the new one, never a torn one. (write-file-atomic 6 does
// the first three steps but not the directory fsync that makes the rename itself durable.)
import { mkdirSync, openSync, closeSync, fsyncSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;
const tmpName = (path: string) => join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data`, durably and atomically (creating its directory if needed). */
export async function writeFileDurable(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Writes `path` chunk by chunk (files too big for one buffer), then commits it like writeFileDurable. */
export async function writeFileDurableStreamed(path: string, chunks: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  const handle = await open(tmp, 'w', 0o600);
  try {
    let at = 0;
    await chunks(async (bytes) => {
      await handle.write(bytes, 0, bytes.length, at);
      at += bytes.length;
    });
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** The synchronous twin, for CLI paths that are synchronous already (keystore files). */
export function writeFileDurableSync(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * Keeps one file durably equal to a snapshot of some in-memory records: `save()` resolves once a
 * snapshot taken after the call is on disk. Concurrent saves share one write (group commit), a
 * snapshot equal to what was last written is not written again (callers may save on every tick), and
 * a failed write does not stop later ones: the next save retries with fresh records.
 */
export class DurableSnapshot {
  private writing: Promise<void> | null = null;
  private pending: Promise<void> | null = null;
  /** What the file holds (as far as this process wrote it): an unchanged snapshot is not written again. */
  private written: string | null = null;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => Uint8Array | string,
  ) {}

  save(): Promise<void> {
    if (this.pending) return this.pending;
    const after = this.writing ?? Promise.resolve();
    const next = after
      .catch(() => undefined)
      .then(async () => {
        this.pending = null;
        this.writing = next;
        try {
          const data = this.snapshot();
          const text = typeof data === 'string' ? data : null;
          if (text !== null && text === this.written) return;
          this.written = null;
          await writeFileDurable(this.path, data);
          this.written = text;
        } finally {
          if (this.writing === next) this.writing = null;
        }
      });
    this.pending = next;
    return next;
  }

  /** Resolves when no write is in flight (for shutdown). */
  async settled(): Promise<void> {
    while (this.pending || this.writing) await (this.pending ?? this.writing)!.catch(() => undefined);
  }
}
