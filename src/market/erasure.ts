// Erasure coding of files across miners: Reed-Solomon over GF(2^8) (@ronomon/reed-solomon, native):
// a file cut into K data shards of equal size (zero padded, a multiple of 8 bytes) and M parity
// shards; any K of the K+M shards give the file back.
import { createRequire } from 'node:module';
import type * as ReedSolomonModule from '@ronomon/reed-solomon';

// A native addon: loaded through Node's require (bundlers and test runners cannot inline it).
const ReedSolomon = createRequire(import.meta.url)('@ronomon/reed-solomon') as typeof ReedSolomonModule;

export interface ShardedFile {
  /** K data shards then M parity shards, each `shardBytes` long. */
  shards: Uint8Array[];
  shardBytes: number;
}

function run(context: ReedSolomonModule.Context, sources: number, targets: number, buffer: Buffer, parity: Buffer): Promise<void> {
  return new Promise((resolve, reject) => ReedSolomon.encode(context, sources, targets, buffer, 0, buffer.length, parity, 0, parity.length, (error) => (error ? reject(error) : resolve())));
}

function checkShape(k: number, m: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 0 || k > ReedSolomon.MAX_K || m > ReedSolomon.MAX_M) throw new RangeError(`K must be 1..${ReedSolomon.MAX_K} and M 0..${ReedSolomon.MAX_M}`);
}

/** Shard size for `size` bytes in K shards: ceil(size / K) rounded up to a multiple of 8 (at least 8). */
export function shardSizeFor(size: number, k: number): number {
  return Math.max(8, Math.ceil(Math.ceil(size / k) / 8) * 8);
}

export async function encodeShards(data: Uint8Array, k: number, m: number): Promise<ShardedFile> {
  checkShape(k, m);
  const shardBytes = shardSizeFor(data.length, k);
  const buffer = Buffer.alloc(shardBytes * k);
  buffer.set(data);
  const parity = Buffer.alloc(shardBytes * Math.max(1, m));
  if (m > 0) {
    let sources = 0;
    for (let i = 0; i < k; i++) sources |= 1 << i;
    let targets = 0;
    for (let i = k; i < k + m; i++) targets |= 1 << i;
    await run(ReedSolomon.create(k, m), sources, targets, buffer, parity.subarray(0, shardBytes * m));
  }
  const shards: Uint8Array[] = [];
  for (let i = 0; i < k; i++) shards.push(new Uint8Array(buffer.subarray(i * shardBytes, (i + 1) * shardBytes)));
  for (let i = 0; i < m; i++) shards.push(new Uint8Array(parity.subarray(i * shardBytes, (i + 1) * shardBytes)));
  return { shards, shardBytes };
}

/** The file from any K of its K+M shards (null where missing), cut to `size` bytes. */
export async function decodeShards(shards: (Uint8Array | null)[], k: number, m: number, shardBytes: number, size: number): Promise<Uint8Array> {
  checkShape(k, m);
  if (shards.length !== k + m) throw new RangeError(`expected ${k + m} shard slots, got ${shards.length}`);
  const present = shards.filter((s) => s !== null).length;
  if (present < k) throw new RangeError(`${present} shards cannot rebuild a file of ${k} data shards`);
  for (const s of shards) if (s && s.length !== shardBytes) throw new RangeError(`a shard of ${s.length} bytes, expected ${shardBytes}`);
  const buffer = Buffer.alloc(shardBytes * k);
  const parity = Buffer.alloc(shardBytes * Math.max(1, m));
  let sources = 0;
  let targets = 0;
  shards.forEach((shard, i) => {
    if (shard) {
      sources |= 1 << i;
      (i < k ? buffer : parity).set(shard, (i < k ? i : i - k) * shardBytes);
    } else if (i < k) targets |= 1 << i;
  });
  if (targets !== 0) await run(ReedSolomon.create(k, m), sources, targets, buffer, parity.subarray(0, shardBytes * m));
  if (size > buffer.length) throw new RangeError(`size ${size} is more than the ${buffer.length} bytes the shards hold`);
  return new Uint8Array(buffer.subarray(0, size));
}
