// Fee statistics of canonical blocks (gas used, tx count, lowest and highest price), computed once
// per block and cached: fee history and gas price suggestions read the same blocks again and again.
import { hexKey } from '../primitives/index.js';
import type { ChainStore } from '../chain/index.js';
import { verifyTx } from '../state/index.js';

/** Blocks one fee history may cover (geth: 1024). */
export const MAX_FEE_HISTORY_BLOCKS = 1024;

export interface BlockFees {
  height: number;
  txs: number;
  gasUsed: number;
  /** Gas prices paid, ascending. */
  prices: bigint[];
}

const CACHE_LIMIT = 4096;
const cache = new Map<string, BlockFees>();

/** Fee statistics of the canonical block at `height`, or undefined past the head. */
export async function feeSummary(chain: ChainStore, height: number): Promise<BlockFees | undefined> {
  const id = await chain.canonicalId(height);
  if (!id) return undefined;
  const key = hexKey(id);
  const cached = cache.get(key);
  if (cached) return cached;
  const block = await chain.requireBlock(id);
  const txs = block.txs.map((t) => verifyTx(t, chain.params));
  // Genesis has no receipts stored.
  const receipts = height === 0 ? [] : await chain.requireReceipts(id);
  const fees: BlockFees = {
    height,
    txs: txs.length,
    gasUsed: receipts.reduce((sum, receipt) => sum + receipt.gasUsed, 0),
    prices: txs.map((tx) => tx.body.gasPrice).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, fees);
  return fees;
}

/** Median gas price of the txs in the last 20 blocks, never below the chain's minimum. */
export async function suggestedGasPrice(chain: ChainStore): Promise<bigint> {
  const prices: bigint[] = [];
  for (let h = chain.head.header.height; h > Math.max(0, chain.head.header.height - 20); h--) prices.push(...((await feeSummary(chain, h))?.prices ?? []));
  prices.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const median = prices.length ? prices[Math.floor(prices.length / 2)]! : 0n;
  return median > chain.params.minGasPrice ? median : chain.params.minGasPrice;
}
