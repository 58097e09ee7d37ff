// `bcr db stats`: what the chain store holds, per bucket (keys, logical bytes, LevelDB's disk estimate).
import { join } from 'node:path';
import type { Command } from 'commander';
import { Database } from '../../db/index.js';
import { errorMessage } from '../../primitives/index.js';
import { UsageError, printJson } from '../io.js';

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function registerDb(program: Command): void {
  const db = program.command('db').description("inspect a node's chain store (the node must be stopped: LevelDB allows one process)");
  db.command('stats')
    .description('keys and bytes per bucket of the chain store')
    .option('--data-dir <dir>', "the node's data dir", './data/devnet')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir: string; json?: boolean }) => {
      let store: Database;
      try {
        store = await Database.open(join(opts.dataDir, 'chain'));
      } catch (error) {
        throw new UsageError(`cannot open the chain store in ${opts.dataDir} (${errorMessage(error)}): is a node running on it? Stop it first`);
      }
      try {
        const buckets = (await store.bucketStats()).filter((b) => b.keys > 0);
        const total = { keys: buckets.reduce((n, b) => n + b.keys, 0), bytes: buckets.reduce((n, b) => n + b.bytes, 0), diskBytes: buckets.reduce((n, b) => n + b.diskBytes, 0) };
        if (opts.json) return printJson({ dataDir: opts.dataDir, buckets, total });
        console.log(`${'bucket'.padEnd(16)} ${'keys'.padStart(10)} ${'bytes'.padStart(12)} ${'on disk (est.)'.padStart(15)}`);
        for (const b of [...buckets, { bucket: 'total', ...total }]) console.log(`${b.bucket.padEnd(16)} ${String(b.keys).padStart(10)} ${human(b.bytes).padStart(12)} ${human(b.diskBytes).padStart(15)}`);
      } finally {
        await store.close();
      }
    });
}
