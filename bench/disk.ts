// Disk per block, archive vs --prune-blocks: a test-network chain of N blocks (default 10,000) made
// by the real miner loop with transfers in every block, measured as an archive, then pruned to
// --keep blocks beyond finality; each after a LevelDB compaction, as logical bytes per bucket and as
// the chain directory's size on disk. Reference: the encoded blocks themselves (what any archive
// must hold at least).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainStore, encodeBlock } from '../src/chain/index.js';
import { Database } from '../src/db/index.js';
import { silentLogger } from '../src/util/logger.js';
import { benchGenesis, buildBenchChain } from './benchChain.js';
import type { BenchArea, BenchRow } from './report.js';

function dirBytes(path: string): number {
  return readdirSync(path).reduce((sum, name) => sum + statSync(join(path, name)).size, 0);
}

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

async function measure(path: string): Promise<{ logical: number; disk: number; buckets: Record<string, number> }> {
  const db = await Database.open(path);
  await db.compact();
  const stats = await db.bucketStats();
  await db.close();
  return { logical: stats.reduce((n, b) => n + b.bytes, 0), disk: dirBytes(path), buckets: Object.fromEntries(stats.filter((b) => b.keys > 0).map((b) => [b.bucket, b.bytes])) };
}

export const diskBench: BenchArea = {
  name: 'disk',
  async run(args) {
    const blocks = option(args, '--blocks', 10_000);
    const keep = option(args, '--keep', 1000);
    const dataDir = mkdtempSync(join(tmpdir(), 'bcr-bench-disk-'));
    try {
      const chain = await buildBenchChain(dataDir, blocks);
      const encoded = chain.blocks.reduce((n, b) => n + encodeBlock(b).length, 0);
      const path = join(dataDir, 'chain');
      const archive = await measure(path);
      // The same store, reopened with pruning on: it catches up, then is measured again.
      const db = await Database.open(path);
      const store = await ChainStore.open({ db, genesis: benchGenesis(), log: silentLogger, pruneBlocks: keep });
      const start = performance.now();
      const prunedTo = await store.pruneToTarget();
      const pruneMs = performance.now() - start;
      await db.close();
      const pruned = await measure(path);
      const perBlock = (bytes: number) => bytes / blocks;
      const rows: BenchRow[] = [
        { name: 'chain', value: blocks, unit: 'blocks', note: `${chain.txs} txs, ${chain.windowPostTxs} WindowPoSts` },
        { name: 'encoded blocks (reference)', value: perBlock(encoded), unit: 'bytes/block', note: 'what an archive must hold at least' },
        { name: 'archive: logical', value: perBlock(archive.logical), unit: 'bytes/block', note: 'keys + values, all buckets' },
        { name: 'archive: on disk', value: perBlock(archive.disk), unit: 'bytes/block', note: `${(archive.disk / 1048576).toFixed(1)} MiB after compaction` },
        { name: `pruned (keep ${keep}): logical`, value: perBlock(pruned.logical), unit: 'bytes/block' },
        { name: `pruned (keep ${keep}): on disk`, value: perBlock(pruned.disk), unit: 'bytes/block', note: `${(pruned.disk / 1048576).toFixed(1)} MiB; bodies kept from height ${prunedTo + 1}` },
        { name: 'pruned / archive on disk', value: pruned.disk / archive.disk, unit: 'ratio' },
        { name: 'pruning catch-up', value: (prunedTo * 1000) / pruneMs, unit: 'blocks/s' },
      ];
      const json: Record<string, number | string> = { blocks, keep, encodedPerBlock: perBlock(encoded), archiveLogicalPerBlock: perBlock(archive.logical), archiveDiskPerBlock: perBlock(archive.disk), prunedLogicalPerBlock: perBlock(pruned.logical), prunedDiskPerBlock: perBlock(pruned.disk), prunedTo };
      for (const [bucket, bytes] of Object.entries(archive.buckets)) json[`archive.${bucket}`] = bytes;
      for (const [bucket, bytes] of Object.entries(pruned.buckets)) json[`pruned.${bucket}`] = bytes;
      return { rows, json };
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
