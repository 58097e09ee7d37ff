// Durable writes: the target is replaced whole (never torn), concurrent saves share writes, a failed
// write does not stop later ones, and a torn key file in a keystore is reported, never skipped.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableSnapshot, writeFileDurable, writeFileDurableSync } from '../../src/util/durableFile.js';
import { findKeystore, saveKeystore, scanKeystores } from '../../src/wallet/index.js';
import { tempDir } from '../helpers/chain.js';

const dir = tempDir('bcr-durable-');
afterAll(() => dir.cleanup());

describe('durable files', () => {
  it('replaces a file whole, creating its directory, and leaves no temporary file behind', async () => {
    const path = join(dir.path, 'a', 'b', 'file.json');
    await writeFileDurable(path, 'one');
    await writeFileDurable(path, 'two');
    writeFileDurableSync(path, 'three');
    expect(readFileSync(path, 'utf8')).toBe('three');
    expect(readdirSync(join(dir.path, 'a', 'b'))).toEqual(['file.json']);
  });

  it('coalesces concurrent saves, each resolving with its records on disk, and recovers after a failed write', async () => {
    const path = join(dir.path, 'snap.json');
    let value = 0;
    let snapshots = 0;
    const snap = new DurableSnapshot(path, () => {
      snapshots++;
      return String(value);
    });
    const saves = [];
    for (let i = 1; i <= 20; i++) {
      value = i;
      saves.push(snap.save().then(() => Number(readFileSync(path, 'utf8'))));
    }
    const seen = await Promise.all(saves);
    // Every save saw a state at least as new as its own records.
    seen.forEach((v, i) => expect(v).toBeGreaterThanOrEqual(i + 1));
    expect(snapshots).toBeLessThan(20);
    // The target is a directory: the write fails, and the caller hears it...
    rmSync(path);
    mkdirSync(path);
    value = 99;
    await expect(snap.save()).rejects.toThrow();
    // ...but the next save, once the way is clear, writes the newest records.
    rmSync(path, { recursive: true });
    value = 100;
    await snap.save();
    expect(readFileSync(path, 'utf8')).toBe('100');
    await snap.settled();
  });

  it('reports a torn key file instead of skipping it', () => {
    const keystore = join(dir.path, 'keys');
    const saved = saveKeystore(keystore, new Uint8Array(32).fill(7), 'pw', 2);
    writeFileSync(join(keystore, 'UTC--2026-12-04T00-00-00.000Z--0000000000000000000000000000000000000001.json'), '{"version":3,"cryp');
    const { entries, unreadable } = scanKeystores(keystore);
    expect(entries.map((e) => e.file)).toEqual([saved.file]);
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0]!.reason).toMatch(/JSON/);
    expect(findKeystore(keystore, saved.address).file).toBe(saved.file);
    expect(() => findKeystore(keystore, '0x0000000000000000000000000000000000000001')).toThrow(/cannot be read \(torn or corrupt/);
  });
});
