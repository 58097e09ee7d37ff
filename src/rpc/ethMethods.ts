// The Ethereum-compatible subset (eth_*, net_*, web3_*), so ethers, viem and MetaMask can hold and
// send BCR. Balances are atto (= wei, 18 decimals). Blocks are BCR blocks shown in Ethereum's shape:
// hash = block id, number = height, miner = the producing miner's owner, baseFeePerGas = the minimum
// gas price (paid to the producer, not burned). No EVM: eth_call and eth_estimateGas answer for
// plain value transfers only; eth_getCode is always 0x.
import { blockId, type Block, type ChainStore } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { bytesEqual, fromHex, toChecksumAddress, toHex } from '../primitives/index.js';
import { TRANSFER_GAS, decodeEthTx, getMiner, isEthTx, verifyTx, type VerifiedTx } from '../state/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor, type ParamSpec } from './jsonRpc.js';
import { MAX_FEE_HISTORY_BLOCKS, feeSummary } from './fees.js';
import { addressParam, anyParam, boolParam, hexDataParam, parseRpcInteger, uintParam } from './params.js';

const q = (n: number | bigint) => '0x' + n.toString(16);
const ZERO32 = '0x' + '00'.repeat(32);
const EMPTY_BLOOM = '0x' + '00'.repeat(256);
export const CLIENT_VERSION = 'bcr-node/0.1.0';

const BLOCK_TAGS = ['latest', 'pending', 'safe', 'finalized', 'earliest'] as const;
type BlockSelector = (typeof BLOCK_TAGS)[number] | number | { blockHash: Uint8Array };

/** Ethereum block tags and numbers: a tag, an exact hex quantity (< 2^53), or EIP-1898 {blockHash}. */
function blockTagParam(name = 'block', optional = true): ParamSpec {
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
    if (typeof tag === 'number') return tag;
    if (tag === 'earliest') return 0;
    if (tag === 'safe' || tag === 'finalized') return chain.finalizedHeight;
    if (typeof tag === 'object' && tag !== null) {
      if (!bytesEqual((tag as { blockHash: Uint8Array }).blockHash, chain.head.id)) throw new RpcError(RpcErrorCode.rejected, 'historical state is not kept: query latest');
    }
    return chain.head.header.height;
  };
  /** State reads are answered at the head: older heights need an archive (not kept). */
  const headOnly = (tag: unknown) => {
    if (heightOf(tag) !== chain.head.header.height) throw new RpcError(RpcErrorCode.rejected, 'historical state is not kept: query latest');
  };
  const txJson = (tx: VerifiedTx, block: Block | null, index: number | null) => {
    const eth = isEthTx(tx.bytes) ? decodeEthTx(tx.bytes).fields : null;
    const to = (tx.payload as { to?: Uint8Array }).to;
    return {
      hash: toHex(tx.id),
      nonce: q(tx.body.nonce),
      blockHash: block ? toHex(blockId(block.header)) : null,
      blockNumber: block ? q(block.header.height) : null,
      transactionIndex: index === null ? null : q(index),
      from: toChecksumAddress(tx.sender),
      to: to ? toChecksumAddress(to) : null,
      value: q((tx.payload as { value?: bigint }).value ?? 0n),
      gas: q(tx.body.gasLimit),
      gasPrice: q(tx.body.gasPrice),
      ...(eth?.type === 2 ? { maxFeePerGas: q(eth.maxFeePerGas), maxPriorityFeePerGas: q(eth.maxPriorityFeePerGas) } : {}),
      input: '0x',
      type: q(eth?.type ?? 0),
      chainId: q(chain.params.chainId),
      v: '0x0',
      r: ZERO32,
      s: ZERO32,
    };
  };
  const blockJson = async (block: Block, full: boolean) => {
    const id = blockId(block.header);
    const txs = block.txs.map((t) => verifyTx(t, chain.params));
    const owner = (await getMiner(chain.headState(), block.header.miner))?.owner ?? new Uint8Array(20);
    const gasUsed = txs.reduce((s, t) => s + t.gas, 0);
    return {
      number: q(block.header.height),
      hash: toHex(id),
      parentHash: toHex(block.header.parentId),
      nonce: '0x0000000000000000',
      sha3Uncles: '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347',
      logsBloom: EMPTY_BLOOM,
      transactionsRoot: toHex(block.header.txRoot),
      stateRoot: toHex(block.header.stateRoot),
      receiptsRoot: toHex(block.header.receiptsRoot),
      miner: toChecksumAddress(owner),
      difficulty: '0x0',
      totalDifficulty: '0x0',
      extraData: '0x',
      size: q(block.txs.reduce((s, t) => s + t.length, 600)),
      gasLimit: q(chain.params.blockGasLimit),
      gasUsed: q(gasUsed),
      timestamp: q(Math.floor(block.header.timestamp / 1000)),
      transactions: full ? txs.map((t, i) => txJson(t, block, i)) : txs.map((t) => toHex(t.id)),
      uncles: [],
      baseFeePerGas: q(chain.params.minGasPrice),
      mixHash: toHex(block.header.vrfOutput),
    };
  };
  const locate = async (id: Uint8Array) => {
    const loc = await chain.getTxLocation(id);
    if (!loc) return null;
    const block = await chain.requireBlock(loc.blockId);
    return { loc, block, tx: verifyTx(block.txs[loc.index]!, chain.params) };
  };
  const transferCheck = (call: unknown) => {
    const c = (call ?? {}) as { data?: string; input?: string; to?: string };
    const data = c.input ?? c.data;
    if (data && data !== '0x') throw new RpcError(RpcErrorCode.rejected, 'contract calls are not supported: BCR has no EVM (only plain value transfers)');
    if (!c.to) throw new RpcError(RpcErrorCode.rejected, 'contract creation is not supported: BCR has no EVM');
  };
  return [
    { name: 'eth_chainId', description: 'Chain id (hex).', params: [], handler: async () => q(chain.params.chainId) },
    { name: 'net_version', description: 'Chain id (decimal string).', params: [], handler: async () => String(chain.params.chainId) },
    { name: 'web3_clientVersion', description: 'Client name and version.', params: [], handler: async () => CLIENT_VERSION },
    { name: 'eth_blockNumber', description: 'Head height (hex).', params: [], handler: async () => q(chain.head.header.height) },
    { name: 'eth_syncing', description: 'false (no sync in progress).', params: [], handler: async () => false },
    {
      name: 'eth_getBalance',
      description: 'Balance in atto (= wei) at the head.',
      params: [addressParam(), blockTagParam()],
      handler: async ([address, tag]) => {
        headOnly(tag);
        return q((await chain.getAccount(address as Uint8Array)).balance);
      },
    },
    {
      name: 'eth_getTransactionCount',
      description: 'Next nonce: "pending" counts pooled txs.',
      params: [addressParam(), blockTagParam()],
      handler: async ([address, tag]) => {
        const { nonce } = await chain.getAccount(address as Uint8Array);
        return q(tag === 'pending' ? mempool.nextPendingNonce(address as Uint8Array, nonce) : nonce);
      },
    },
    { name: 'eth_getCode', description: 'Always 0x: no contracts.', params: [addressParam(), blockTagParam()], handler: async () => '0x' },
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
      name: 'eth_estimateGas',
      description: '21000 for a plain value transfer; contract calls are refused.',
      params: [anyParam('call', false, { type: 'object' }), blockTagParam()],
      handler: async ([call]) => {
        transferCheck(call);
        return q(TRANSFER_GAS);
      },
    },
    {
      name: 'eth_call',
      description: 'A plain value transfer returns 0x; contract calls are refused.',
      params: [anyParam('call', false, { type: 'object' }), blockTagParam()],
      handler: async ([call]) => {
        transferCheck(call);
        return '0x';
      },
    },
    {
      name: 'eth_sendRawTransaction',
      permission: 'write',
      description: 'Submits an Ethereum-signed value transfer (legacy EIP-155, EIP-2930 or EIP-1559) or a native BCR tx; returns its hash.',
      params: [hexDataParam('tx')],
      handler: async ([bytes]) => toHex((await mempool.add(bytes as Uint8Array)).id),
    },
    {
      name: 'eth_getTransactionByHash',
      description: 'A tx by hash, from the chain or the pool.',
      params: [hexDataParam('hash', 32)],
      handler: async ([hash]) => {
        const pooled = mempool.get(hash as Uint8Array);
        if (pooled) return txJson(pooled, null, null);
        const found = await locate(hash as Uint8Array);
        return found ? txJson(found.tx, found.block, found.loc.index) : null;
      },
    },
    {
      name: 'eth_getTransactionReceipt',
      description: 'Receipt of an included tx (status 0x1 success, 0x0 failed); no logs.',
      params: [hexDataParam('hash', 32)],
      handler: async ([hash]) => {
        const found = await locate(hash as Uint8Array);
        if (!found) return null;
        const receipt = (await chain.requireReceipts(found.loc.blockId))[found.loc.index]!;
        const to = (found.tx.payload as { to?: Uint8Array }).to;
        return {
          transactionHash: toHex(found.tx.id),
          transactionIndex: q(found.loc.index),
          blockHash: toHex(found.loc.blockId),
          blockNumber: q(found.loc.height),
          from: toChecksumAddress(found.tx.sender),
          to: to ? toChecksumAddress(to) : null,
          cumulativeGasUsed: q(receipt.gasUsed * (found.loc.index + 1)),
          gasUsed: q(receipt.gasUsed),
          effectiveGasPrice: q(found.tx.body.gasPrice),
          contractAddress: null,
          logs: [],
          logsBloom: EMPTY_BLOOM,
          status: receipt.status === 0 ? '0x1' : '0x0',
          type: q(isEthTx(found.tx.bytes) ? decodeEthTx(found.tx.bytes).fields.type : 0),
        };
      },
    },
    {
      name: 'eth_getBlockByNumber',
      description: 'A canonical block in Ethereum shape (hashes or full txs).',
      params: [blockTagParam('block', false), boolParam('fullTransactions', true)],
      handler: async ([tag, full]) => {
        const id = await chain.canonicalId(heightOf(tag));
        return id ? blockJson(await chain.requireBlock(id), full === true) : null;
      },
    },
    {
      name: 'eth_getBlockByHash',
      description: 'A block by id in Ethereum shape.',
      params: [hexDataParam('hash', 32), boolParam('fullTransactions', true)],
      handler: async ([hash, full]) => {
        if (!(await chain.hasBlock(hash as Uint8Array))) return null;
        return blockJson(await chain.requireBlock(hash as Uint8Array), full === true);
      },
    },
  ];
}

