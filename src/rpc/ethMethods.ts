// The Ethereum-compatible subset (eth_*, net_*, web3_*), so ethers, viem and MetaMask can hold and
// send BCR. Balances are atto (= wei, 18 decimals); blocks, txs and receipts in Ethereum's shapes
// (ethFormat.ts). The EVM's own methods (eth_call, eth_getLogs, ...) are in evmMethods.ts.
import type { ChainStore } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { anyTxId, getAccount, getMiner, verifyTx } from '../state/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor, type ParamSpec } from './jsonRpc.js';
import { MAX_FEE_HISTORY_BLOCKS, feeSummary } from './fees.js';
import { blockJson, q, receiptJson, txJson } from './ethFormat.js';
import { blockTagParam, stateBlockOf, type BlockSelector } from './ethParams.js';
import { addressParam, boolParam, hexDataParam, uintParam } from './params.js';
import { toHex } from '../primitives/index.js';

export const CLIENT_VERSION = 'bcr-node/0.1.0';

/** geth's cap on reward percentiles per call. */
export const MAX_REWARD_PERCENTILES = 100;

function percentilesParam(): ParamSpec {
  return {
    name: 'rewardPercentiles',
    optional: true,
    schema: { type: 'array', items: { type: 'number', minimum: 0, maximum: 100 }, maxItems: MAX_REWARD_PERCENTILES },
    parse(value) {
      if (!Array.isArray(value) || value.length > MAX_REWARD_PERCENTILES) throw new Error(`expected an array of at most ${MAX_REWARD_PERCENTILES} percentiles`);
      value.forEach((p, i) => {
        if (typeof p !== 'number' || !(p >= 0 && p <= 100)) throw new Error(`percentile ${i} must be a number from 0 to 100`);
        if (i > 0 && p < (value[i - 1] as number)) throw new Error('percentiles must not decrease');
      });
      return value as number[];
    },
  };
}

export function ethMethods({ chain, mempool }: { chain: ChainStore; mempool: Mempool }): MethodDescriptor[] {
  const heightOf = (tag: unknown): number => {
    const selector = tag as BlockSelector;
    if (typeof selector === 'number') return selector;
    if (selector === 'earliest') return 0;
    if (selector === 'safe' || selector === 'finalized') return chain.finalizedHeight;
    return chain.head.header.height;
  };
  const block = async (id: Uint8Array, full: boolean) => {
    const b = await chain.requireBlock(id);
    const owner = (await getMiner(chain.headState(), b.header.miner))?.owner ?? new Uint8Array(20);
    const receipts = (await chain.getReceipts(id)) ?? null;
    return blockJson(b, receipts, b.txs.map((t) => verifyTx(t, chain.params)), full, chain.params.chainId, owner, chain.params.blockGasLimit, chain.params.minGasPrice);
  };
  const locate = async (id: Uint8Array) => {
    const loc = await chain.getTxLocation(id);
    if (!loc) return null;
    const found = await chain.requireBlock(loc.blockId);
    return { loc, place: { block: found, blockId: loc.blockId, index: loc.index }, tx: verifyTx(found.txs[loc.index]!, chain.params) };
  };
  return [
    { name: 'eth_chainId', description: 'Chain id (hex).', params: [], handler: async () => q(chain.params.chainId) },
    { name: 'net_version', description: 'Chain id (decimal string).', params: [], handler: async () => String(chain.params.chainId) },
    { name: 'web3_clientVersion', description: 'Client name and version.', params: [], handler: async () => CLIENT_VERSION },
    { name: 'eth_blockNumber', description: 'Head height (hex).', params: [], handler: async () => q(chain.head.header.height) },
    { name: 'eth_syncing', description: 'false (no sync in progress).', params: [], handler: async () => false },
    {
      name: 'eth_getBalance',
      description: 'Balance in atto (= wei), at a block from the finalized one to the head.',
      params: [addressParam(), blockTagParam()],
      handler: async ([address, tag]) => q(await chain.readStateAt(await stateBlockOf(chain, tag), async (state) => (await getAccount(state, address as Uint8Array)).balance)),
    },
    {
      name: 'eth_getTransactionCount',
      description: 'Next nonce: "pending" counts pooled txs.',
      params: [addressParam(), blockTagParam()],
      handler: async ([address, tag]) => {
        if (tag === 'pending') return q(mempool.nextPendingNonce(address as Uint8Array, (await chain.getAccount(address as Uint8Array)).nonce));
        return q(await chain.readStateAt(await stateBlockOf(chain, tag), async (state) => (await getAccount(state, address as Uint8Array)).nonce));
      },
    },
    { name: 'eth_gasPrice', description: 'Suggested legacy gas price: the minimum plus a 1 gwei-equivalent tip.', params: [], handler: async () => q(chain.params.minGasPrice * 2n) },
    { name: 'eth_maxPriorityFeePerGas', description: 'Suggested EIP-1559 tip.', params: [], handler: async () => q(chain.params.minGasPrice) },
    {
      name: 'eth_feeHistory',
      description: `Base fee (constant: the minimum gas price) and gas used ratio of up to ${MAX_FEE_HISTORY_BLOCKS} blocks ending at newestBlock (not past the head); at most ${MAX_REWARD_PERCENTILES} reward percentiles.`,
      params: [uintParam('blockCount'), blockTagParam('newestBlock', false), percentilesParam()],
      cost: ([count, , percentiles]) => Math.min(count as number, MAX_FEE_HISTORY_BLOCKS) * (1 + ((percentiles as number[] | undefined)?.length ?? 0) / 10),
      handler: async ([count, newest, percentiles]) => {
        const head = chain.head.header.height;
        const last = heightOf(newest);
        if (last > head) throw new RpcError(RpcErrorCode.invalidParams, `invalid param 1 (newestBlock): ${last} is past the head ${head}`);
        const n = Math.min(MAX_FEE_HISTORY_BLOCKS, count as number);
        const first = Math.max(0, last - n + 1);
        const ratios: number[] = [];
        const rewards: string[][] = [];
        const reward = (percentiles as number[] | undefined)?.map(() => q(chain.params.minGasPrice));
        for (let h = first; h <= last && n > 0; h++) {
          const fees = await feeSummary(chain, h);
          ratios.push(fees ? fees.gasUsed / chain.params.blockGasLimit : 0);
          if (reward) rewards.push(reward);
        }
        const blocks = n > 0 ? last - first + 1 : 0;
        return { oldestBlock: q(n > 0 ? first : last + 1), baseFeePerGas: Array.from({ length: blocks + 1 }, () => q(chain.params.minGasPrice)), gasUsedRatio: ratios, ...(reward ? { reward: rewards } : {}) };
      },
    },
    {
      name: 'eth_sendRawTransaction',
      permission: 'write',
      description: 'Submits an Ethereum-signed tx (legacy EIP-155, EIP-2930 or EIP-1559: a transfer, a contract creation or a call) or a native BCR tx; returns its hash.',
      params: [hexDataParam('tx')],
      handler: async ([bytes]) => toHex((await mempool.add(bytes as Uint8Array)).id),
    },
    {
      name: 'eth_getTransactionByHash',
      description: 'A tx by hash, from the chain or the pool.',
      params: [hexDataParam('hash', 32)],
      handler: async ([hash]) => {
        const pooled = mempool.get(hash as Uint8Array);
        if (pooled) return txJson(pooled, chain.params.chainId, null);
        const found = await locate(hash as Uint8Array);
        return found ? txJson(found.tx, chain.params.chainId, found.place) : null;
      },
    },
    {
      name: 'eth_getTransactionReceipt',
      description: 'Receipt of an included tx (status 0x1 success, 0x0 failed) with its logs, created contract, and for a failed tx its error and revert reason.',
      params: [hexDataParam('hash', 32)],
      handler: async ([hash]) => {
        const found = await locate(hash as Uint8Array);
        if (!found) return null;
        const receipts = await chain.requireReceipts(found.loc.blockId);
        return receiptJson(found.tx, found.place, receipts, found.place.block.txs.map(anyTxId));
      },
    },
    {
      name: 'eth_getBlockByNumber',
      description: 'A canonical block in Ethereum shape (hashes or full txs).',
      params: [blockTagParam('block', false), boolParam('fullTransactions', true)],
      handler: async ([tag, full]) => {
        const id = await chain.canonicalId(heightOf(tag));
        return id ? block(id, full === true) : null;
      },
    },
    {
      name: 'eth_getBlockByHash',
      description: 'A block by id in Ethereum shape.',
      params: [hexDataParam('hash', 32), boolParam('fullTransactions', true)],
      handler: async ([hash, full]) => {
        if (!(await chain.hasBlock(hash as Uint8Array))) return null;
        return block(hash as Uint8Array, full === true);
      },
    },
  ];
}

