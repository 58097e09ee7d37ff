// The index behind eth_getLogs: for every canonical block, one key per distinct log address and per
// distinct topic at each position, ending in the block height. A query scans only the keys of the
// addresses and topics it names, intersects the heights, and reads the receipts of those blocks.
// Keys are written with the block and deleted when it is reverted (in the same batch), so the index
// follows the canonical chain; pruning deletes them with the receipts.
import { Bucket } from '../db/index.js';
import { bytesEqual, concatBytes, hexKey, keyString, uintToBytesBE } from '../primitives/index.js';
import type { EvmLog, Receipt } from '../state/index.js';

const ADDRESS = 0x00;
/** Topic at position i is kind TOPIC0 + i. */
const TOPIC0 = 0x01;
/** A created contract's address -> the id of the tx that created it (the explorer's "creator"). */
const CREATED = 0xff;

export const contractCreationKey = (address: Uint8Array): Uint8Array => concatBytes(new Uint8Array([Bucket.logIndex, CREATED]), address);

/** The creation index entries of a block: contract address -> creating tx id. */
export function contractCreations(receipts: Receipt[], txIds: Uint8Array[]): { key: Uint8Array; txId: Uint8Array }[] {
  const out: { key: Uint8Array; txId: Uint8Array }[] = [];
  receipts.forEach((receipt, i) => {
    const created = receipt.evm?.contractAddress;
    if (created) out.push({ key: contractCreationKey(created), txId: txIds[i]! });
  });
  return out;
}

function indexKey(kind: number, value: Uint8Array, height: number): Uint8Array {
  return concatBytes(new Uint8Array([Bucket.logIndex, kind]), value, uintToBytesBE(height, 8));
}

/** The index keys of a block's logs (one per distinct address and per distinct topic position). */
export function logIndexKeys(height: number, receipts: Receipt[]): Uint8Array[] {
  const keys = new Map<string, Uint8Array>();
  for (const receipt of receipts) {
    for (const log of receipt.evm?.logs ?? []) {
      const address = indexKey(ADDRESS, log.address, height);
      keys.set(keyString(address), address);
      log.topics.forEach((topic, i) => {
        const key = indexKey(TOPIC0 + i, topic, height);
        keys.set(keyString(key), key);
      });
    }
  }
  return [...keys.values()];
}

export interface LogFilter {
  fromHeight: number;
  toHeight: number;
  /** Logs from one of these addresses (empty list: from every address). */
  addresses: Uint8Array[];
  /** Per position, one of these topics; null or empty matches anything there. */
  topics: (Uint8Array[] | null)[];
}

export interface LogReader {
  keys(gte: Uint8Array, lt: Uint8Array): AsyncIterable<Uint8Array>;
}

/** Heights in range holding a log with any of `values` in `kind`, ascending. */
async function heightsWith(db: LogReader, kind: number, values: Uint8Array[], from: number, to: number, limit: number): Promise<Set<number>> {
  const heights = new Set<number>();
  for (const value of values) {
    for await (const key of db.keys(indexKey(kind, value, from), indexKey(kind, value, to + 1))) {
      heights.add(Number(new DataView(key.buffer, key.byteOffset + key.length - 8, 8).getBigUint64(0)));
      if (heights.size > limit) return heights;
    }
  }
  return heights;
}

/**
 * Candidate heights for `filter` from the index: every criterion's heights, intersected. Null when
 * the filter names no address and no topic (every block in the range is a candidate).
 * Throws past `limit` candidates so that a query's cost stays bounded.
 */
export async function candidateHeights(db: LogReader, filter: LogFilter, limit: number): Promise<number[] | null> {
  const criteria: { kind: number; values: Uint8Array[] }[] = [];
  if (filter.addresses.length > 0) criteria.push({ kind: ADDRESS, values: filter.addresses });
  filter.topics.forEach((values, i) => {
    if (values && values.length > 0) criteria.push({ kind: TOPIC0 + i, values });
  });
  if (criteria.length === 0) return null;
  let result = null as number[] | null;
  for (const { kind, values } of criteria) {
    const heights = await heightsWith(db, kind, values, filter.fromHeight, filter.toHeight, limit);
    if (heights.size > limit) throw new RangeError(`more than ${limit} blocks match; narrow the block range or the filter`);
    result = result === null ? [...heights] : result.filter((h) => heights.has(h));
    if (result.length === 0) break;
  }
  return (result ?? []).sort((a, b) => a - b);
}

export function logMatches(log: EvmLog, filter: Pick<LogFilter, 'addresses' | 'topics'>): boolean {
  if (filter.addresses.length > 0 && !filter.addresses.some((a) => bytesEqual(a, log.address))) return false;
  return filter.topics.every((values, i) => !values || values.length === 0 || (log.topics[i] !== undefined && values.some((t) => bytesEqual(t, log.topics[i]!))));
}

/** A short description of a filter for errors and logs. */
export function describeFilter(filter: LogFilter): string {
  return `blocks ${filter.fromHeight}-${filter.toHeight}, ${filter.addresses.length ? filter.addresses.map((a) => '0x' + hexKey(a)).join('|') : 'every address'}`;
}

export interface LocatedLog {
  log: EvmLog;
  height: number;
  blockId: Uint8Array;
  txIndex: number;
  txId: Uint8Array;
  /** Position among all logs of the block (Ethereum's logIndex). */
  logIndex: number;
}

/** Every log of a block with its place (tx, position in the block), in block order. */
export function locateLogs(height: number, blockId: Uint8Array, receipts: Receipt[], txIds: Uint8Array[]): LocatedLog[] {
  const out: LocatedLog[] = [];
  let logIndex = 0;
  receipts.forEach((receipt, txIndex) => {
    for (const log of receipt.evm?.logs ?? []) out.push({ log, height, blockId, txIndex, txId: txIds[txIndex]!, logIndex: logIndex++ });
  });
  return out;
}

export interface LogSource extends LogReader {
  canonicalId(height: number): Promise<Uint8Array | undefined>;
  /** The block's receipts and tx ids; throws PRUNED when they are gone. */
  blockReceipts(id: Uint8Array): Promise<{ receipts: Receipt[]; txIds: Uint8Array[] }>;
}

export interface LogLimits {
  /** Blocks one query may span. */
  maxRange: number;
  /** Logs one query may return. */
  maxLogs: number;
}

export class LogQueryError extends Error {}

/** The logs matching `filter` on the canonical chain, in chain order; refuses ranges and results past `limits`. */
export async function queryLogs(source: LogSource, filter: LogFilter, limits: LogLimits): Promise<LocatedLog[]> {
  if (filter.toHeight < filter.fromHeight) throw new LogQueryError(`fromBlock ${filter.fromHeight} is after toBlock ${filter.toHeight}`);
  if (filter.toHeight - filter.fromHeight + 1 > limits.maxRange) throw new LogQueryError(`a query spans at most ${limits.maxRange} blocks (asked ${filter.toHeight - filter.fromHeight + 1})`);
  let heights: number[] | null;
  try {
    heights = await candidateHeights(source, filter, limits.maxRange);
  } catch (error) {
    throw new LogQueryError(error instanceof Error ? error.message : String(error));
  }
  const out: LocatedLog[] = [];
  const scan = heights ?? Array.from({ length: filter.toHeight - filter.fromHeight + 1 }, (_, i) => filter.fromHeight + i);
  for (const height of scan) {
    const blockId = await source.canonicalId(height);
    if (!blockId) continue;
    const { receipts, txIds } = await source.blockReceipts(blockId);
    for (const located of locateLogs(height, blockId, receipts, txIds)) {
      if (!logMatches(located.log, filter)) continue;
      if (out.length >= limits.maxLogs) throw new LogQueryError(`more than ${limits.maxLogs} logs match (${describeFilter(filter)}); narrow the block range or the filter`);
      out.push(located);
    }
  }
  return out;
}
