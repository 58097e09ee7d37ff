// Ethereum block selectors and log filters as RPC parameters.
import type { ChainStore, StateBlock } from '../chain/index.js';
import { toHex } from '../primitives/index.js';
import type { LogFilter } from '../chain/logIndex.js';
import { fromHex, parseAddress } from '../primitives/index.js';
import { RpcError, RpcErrorCode, type ParamSpec } from './jsonRpc.js';
import { parseRpcInteger } from './params.js';

export const BLOCK_TAGS = ['latest', 'pending', 'safe', 'finalized', 'earliest'] as const;
export type BlockSelector = (typeof BLOCK_TAGS)[number] | number | { blockHash: Uint8Array };

/** Ethereum block tags and numbers: a tag, an exact hex quantity (< 2^53), or EIP-1898 {blockHash}. */
export function blockTagParam(name = 'block', optional = true): ParamSpec {
  return {
    name,
    optional,
    schema: { oneOf: [{ type: 'string', enum: [...BLOCK_TAGS] }, { type: 'string', pattern: '^0x[0-9a-fA-F]{1,14}$' }, { type: 'object', properties: { blockHash: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } }, required: ['blockHash'] }] },
    parse(value): BlockSelector {
      if (typeof value === 'string' && (BLOCK_TAGS as readonly string[]).includes(value)) return value as BlockSelector;
      if (typeof value === 'string' && value.startsWith('0x')) return parseRpcInteger(value);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const hash = (value as { blockHash?: unknown }).blockHash;
        if (typeof hash === 'string' && /^0x[0-9a-fA-F]{64}$/.test(hash)) return { blockHash: fromHex(hash) };
      }
      throw new Error('expected a block tag (latest, pending, safe, finalized, earliest), a hex block number below 2^53, or {blockHash}');
    },
  };
}

/** A tag or height as a state block (null for an EIP-1898 {blockHash}, which needs a lookup). */
export function tagStateBlock(tag: unknown): StateBlock | null {
  const selector = (tag ?? 'latest') as BlockSelector;
  if (selector === 'latest' || selector === 'pending') return 'latest';
  if (selector === 'safe' || selector === 'finalized') return 'finalized';
  if (selector === 'earliest') return 0;
  if (typeof selector === 'number') return selector;
  return null;
}

/** A block selector as a block whose state is kept: tags, heights, or a canonical block's hash (EIP-1898). */
export async function stateBlockOf(chain: ChainStore, tag: unknown): Promise<StateBlock> {
  const byTag = tagStateBlock(tag);
  if (byTag !== null) return byTag;
  const selector = tag as { blockHash: Uint8Array };
  const header = await chain.getHeader(selector.blockHash);
  if (!header || !(await chain.isCanonical(selector.blockHash, header.height))) throw new RpcError(RpcErrorCode.notFound, `block ${toHex(selector.blockHash)} is not on the canonical chain`);
  return header.height;
}

/** Addresses and topics one log filter may name (each position of topics counts separately). */
const MAX_FILTER_VALUES = 1000;

function filterError(message: string): never {
  throw new RpcError(RpcErrorCode.invalidParams, `invalid param 0 (filter): ${message}`);
}

function hash32(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) filterError(`${what} must be a 32-byte 0x-hex value`);
  return fromHex(value);
}

/** A height for a log filter bound: tags at this moment, or a number (past the head: the head). */
function heightOf(chain: ChainStore, value: unknown, what: string): number {
  if (value === undefined || value === null || value === 'latest' || value === 'pending') return chain.head.header.height;
  if (value === 'safe' || value === 'finalized') return chain.finalizedHeight;
  if (value === 'earliest') return 0;
  try {
    return Math.min(parseRpcInteger(value), chain.head.header.height);
  } catch {
    return filterError(`${what} must be a block tag or a 0x-hex block number`);
  }
}

/** The address and topic criteria of a log filter (eth_getLogs, eth_subscribe "logs"). */
export function parseLogCriteria(value: unknown): Pick<LogFilter, 'addresses' | 'topics'> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) filterError('expected an object');
  const filter = value as Record<string, unknown>;
  const address = filter.address;
  const addressList = address === undefined || address === null ? [] : Array.isArray(address) ? address : [address];
  if (addressList.length > MAX_FILTER_VALUES) filterError(`at most ${MAX_FILTER_VALUES} addresses`);
  const addresses = addressList.map((a) => {
    if (typeof a !== 'string') filterError('address must be a 0x-hex address or a list of them');
    try {
      return parseAddress(a);
    } catch (error) {
      return filterError(error instanceof Error ? error.message : String(error));
    }
  });
  const rawTopics = filter.topics ?? [];
  if (!Array.isArray(rawTopics) || rawTopics.length > 4) filterError('topics must be a list of at most 4 positions');
  const topics = rawTopics.map((position: unknown, i: number) => {
    if (position === null) return null;
    const values = Array.isArray(position) ? position : [position];
    if (values.length > MAX_FILTER_VALUES) filterError(`at most ${MAX_FILTER_VALUES} topics at position ${i}`);
    return values.map((t) => hash32(t, `topic ${i}`));
  });
  return { addresses, topics };
}

/** eth_getLogs' filter: {fromBlock, toBlock} or {blockHash}, address (one or a list), topics (per position: null, one, or a list). */
export async function parseLogFilter(chain: ChainStore, value: unknown): Promise<(LogFilter & { blockId?: undefined }) | (Pick<LogFilter, 'addresses' | 'topics'> & { blockId: Uint8Array })> {
  const { addresses, topics } = parseLogCriteria(value);
  const filter = value as Record<string, unknown>;
  if (filter.blockHash !== undefined && filter.blockHash !== null) {
    if (filter.fromBlock !== undefined || filter.toBlock !== undefined) filterError('blockHash excludes fromBlock and toBlock');
    const blockId = hash32(filter.blockHash, 'blockHash');
    if (!(await chain.hasBlock(blockId))) throw new RpcError(RpcErrorCode.notFound, `block ${filter.blockHash as string} is not in this node's store`);
    return { addresses, topics, blockId };
  }
  return { fromHeight: heightOf(chain, filter.fromBlock, 'fromBlock'), toHeight: heightOf(chain, filter.toBlock, 'toBlock'), addresses, topics };
}
