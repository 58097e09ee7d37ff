// Where blocks live in the database and how they are read: block bodies by id, the canonical index by
// height, receipts, tx locations, undo data, and the side-block index (height, id) that lets blocks
// off the canonical chain be deleted once they fall below finality.
import { LRUCache } from 'lru-cache';
import { bytes, bytesEqual, concatBytes, decode, hexKey, list, optional, struct, uint, uintToBytesBE, varBytes } from '../primitives/index.js';
import { Bucket, bucketKey, type Database } from '../db/index.js';
import { blockEventsCodec, receiptCodec, type DealEvent, type KvReader, type Receipt, type StateEvent } from '../state/index.js';
import { decodeBlock, decodeHeader, type Block, type BlockHeader } from './block.js';

export const META_HEAD = bucketKey(Bucket.meta, new TextEncoder().encode('head'));
export const META_GENESIS = bucketKey(Bucket.meta, new TextEncoder().encode('genesis'));
/** The highest height whose block body and receipts were pruned (absent: none). */
export const META_PRUNED = bucketKey(Bucket.meta, new TextEncoder().encode('pruned'));

export const undoCodec = list(struct({ key: varBytes(64), value: optional(varBytes(1 << 20)) }), 1 << 22);
export const receiptsCodec = list(receiptCodec, 1 << 20);
export const txLocationCodec = struct({ blockId: bytes(32), index: uint() });

export interface HeadInfo {
  id: Uint8Array;
  header: BlockHeader;
}

export interface TxLocation {
  blockId: Uint8Array;
  height: number;
  index: number;
}

export function canonicalKey(height: number): Uint8Array {
  return bucketKey(Bucket.canonical, uintToBytesBE(height, 8));
}

export function sideBlockKey(height: number, id: Uint8Array): Uint8Array {
  return bucketKey(Bucket.sideBlocks, concatBytes(uintToBytesBE(height, 8), id));
}

const DEAL_INDEX_BY_CLIENT = 0;
const DEAL_INDEX_BY_PROVIDER = 1;

/** Index keys of a published deal: by client address and by provider id, each ending in the deal id. */
export function dealIndexKeys(event: Pick<DealEvent, 'client' | 'provider' | 'deal'>): Uint8Array[] {
  const id = uintToBytesBE(event.deal, 8);
  return [
    bucketKey(Bucket.dealIndex, concatBytes(new Uint8Array([DEAL_INDEX_BY_CLIENT]), event.client, id)),
    bucketKey(Bucket.dealIndex, concatBytes(new Uint8Array([DEAL_INDEX_BY_PROVIDER]), uintToBytesBE(event.provider, 8), id)),
  ];
}

const HEADER_CACHE_LIMIT = 4096;

export class BlockStore {
  private readonly headerCache = new LRUCache<string, BlockHeader>({ max: HEADER_CACHE_LIMIT });

  constructor(private readonly db: Database) {}

  async getBlock(id: Uint8Array): Promise<Block | undefined> {
    const bytes = await this.db.get(bucketKey(Bucket.block, id));
    return bytes ? decodeBlock(bytes) : undefined;
  }

  /** Known to this store: with its body, or as the header of a pruned block. */
  async hasBlock(id: Uint8Array): Promise<boolean> {
    return (await this.db.get(bucketKey(Bucket.block, id))) !== undefined || (await this.db.get(bucketKey(Bucket.header, id))) !== undefined;
  }

  /** A canonical block whose body was pruned: its header is all that is left. */
  async isPruned(id: Uint8Array): Promise<boolean> {
    return (await this.db.get(bucketKey(Bucket.header, id))) !== undefined;
  }

  async getHeader(id: Uint8Array): Promise<BlockHeader | undefined> {
    const key = hexKey(id);
    const cached = this.headerCache.get(key);
    if (cached) return cached;
    const block = await this.getBlock(id);
    let header = block?.header;
    if (!header) {
      const pruned = await this.db.get(bucketKey(Bucket.header, id));
      if (!pruned) return undefined;
      header = decodeHeader(pruned);
    }
    this.rememberHeader(id, header);
    return header;
  }

  rememberHeader(id: Uint8Array, header: BlockHeader): void {
    this.headerCache.set(hexKey(id), header);
  }

  forgetHeader(id: Uint8Array): void {
    this.headerCache.delete(hexKey(id));
  }

  async canonicalId(height: number, reader: KvReader = this.db): Promise<Uint8Array | undefined> {
    return reader.get(canonicalKey(height));
  }

  async isCanonical(id: Uint8Array, height: number, reader: KvReader = this.db): Promise<boolean> {
    const canonical = await this.canonicalId(height, reader);
    return canonical !== undefined && bytesEqual(canonical, id);
  }

  async getBlockByHeight(height: number): Promise<Block | undefined> {
    const id = await this.canonicalId(height);
    return id ? this.getBlock(id) : undefined;
  }

  async getReceipts(id: Uint8Array): Promise<Receipt[] | undefined> {
    const bytes = await this.db.get(bucketKey(Bucket.receipts, id));
    return bytes ? decode(receiptsCodec, bytes, 'receipts') : undefined;
  }

  async getEvents(id: Uint8Array): Promise<StateEvent[]> {
    const bytes = await this.db.get(bucketKey(Bucket.events, id));
    return bytes ? decode(blockEventsCodec, bytes, 'block events') : [];
  }

  /**
   * Ids of deals published by a client or with a provider, ascending, from `after` on, at most
   * `limit`. Built from published events, so it may name a deal a reorg took away: check the state.
   */
  async dealIdsOf(owner: { client: Uint8Array } | { provider: number }, after: number, limit: number): Promise<number[]> {
    const prefix = 'client' in owner ? concatBytes(new Uint8Array([Bucket.dealIndex, DEAL_INDEX_BY_CLIENT]), owner.client) : concatBytes(new Uint8Array([Bucket.dealIndex, DEAL_INDEX_BY_PROVIDER]), uintToBytesBE(owner.provider, 8));
    const ids: number[] = [];
    for await (const key of this.db.keys(concatBytes(prefix, uintToBytesBE(after + 1, 8)), concatBytes(prefix, new Uint8Array(8).fill(0xff)))) {
      ids.push(Number(new DataView(key.buffer, key.byteOffset + key.length - 8, 8).getBigUint64(0)));
      if (ids.length >= limit) break;
    }
    return ids;
  }

  async getTxLocation(txId: Uint8Array): Promise<TxLocation | undefined> {
    const bytes = await this.db.get(bucketKey(Bucket.txIndex, txId));
    if (!bytes) return undefined;
    const loc = decode(txLocationCodec, bytes, 'tx location');
    const header = await this.getHeader(loc.blockId);
    return { blockId: loc.blockId, height: header!.height, index: loc.index };
  }

  /** Side blocks at heights up to `height` (inclusive): index key, block id, height. */
  async sideBlocksUpTo(height: number): Promise<{ key: Uint8Array; id: Uint8Array; height: number }[]> {
    const out: { key: Uint8Array; id: Uint8Array; height: number }[] = [];
    for await (const key of this.db.keys(sideBlockKey(0, new Uint8Array(0)), sideBlockKey(height + 1, new Uint8Array(0)))) {
      const view = new DataView(key.buffer, key.byteOffset + 1, 8);
      out.push({ key, id: key.slice(9), height: Number(view.getBigUint64(0)) });
    }
    return out;
  }
}
