// The bcr_* namespace (the minimal set a miner and a wallet need first; issue 6 extends it).
import { TOTAL_SUPPLY, encodeHeader, type Block, type ChainStore, type StateBlock } from '../chain/index.js';
import { MINING_SUPPLY, issuanceSchedule, mintedAtSlot } from '../consensus/index.js';
import type { Mempool } from '../mempool/index.js';
import { fromHex, pairHashBackend, signatureBackend, toChecksumAddress, toHex } from '../primitives/index.js';
import { accountKey, circulatingSupply, storageKey, supplyOf, verifyTx } from '../state/index.js';
import { NODE_VERSION } from '../version.js';
import { MAX_FEE_HISTORY_BLOCKS, feeSummary, suggestedGasPrice } from './fees.js';
import { formatBlock, formatHeader, formatReceipt, formatTx, stateProofJson } from './format.js';
import type { MethodDescriptor, ParamSpec } from './jsonRpc.js';
import { addressParam, boolParam, enumParam, hexDataParam, stateBlockParam, uintParam } from './params.js';

/** Storage slots to prove beside an account: 32-byte 0x-hex each, at most 256. */
function storageSlotsParam(): ParamSpec {
  return {
    name: 'storageSlots',
    optional: true,
    schema: { type: 'array', items: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' }, maxItems: 256 },
    parse(value) {
      if (!Array.isArray(value) || value.length > 256 || !value.every((v) => typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v))) throw new Error('expected a list of at most 256 32-byte 0x-hex storage slots');
      return value.map((v: string) => fromHex(v));
    },
  };
}

export interface BcrRpcContext {
  chain: ChainStore;
  mempool: Mempool;
}

/** Headers one bcr_getHeaders call returns at most (about 400 KB). */
const MAX_HEADERS = 1024;

export function bcrMethods({ chain, mempool }: BcrRpcContext): MethodDescriptor[] {
  /** What a canonical block credited its producer's owner: issuance since its parent's slot plus its txs' fees. */
  const producerReward = async (id: Uint8Array, block: Block): Promise<bigint | null> => {
    const receipts = await chain.getReceipts(id);
    const parent = block.header.height > 0 ? await chain.getHeader(block.header.parentId) : undefined;
    if (!receipts || !parent) return null;
    const minted = mintedAtSlot(block.header.slot, chain.params) - mintedAtSlot(parent.slot, chain.params);
    return receipts.reduce((sum, r) => sum + r.fee, minted);
  };
  const blockJson = async (id: Uint8Array | undefined, full: boolean) => {
    const block = id ? await chain.getBlock(id) : undefined;
    if (id && !block && (await chain.isPruned(id))) {
      // A pruned block still has its header: say what it was, and that its body is gone.
      return { ...formatHeader(id, (await chain.getHeader(id))!), pruned: true, txs: null, reward: null };
    }
    if (!id || !block) return null;
    return { ...formatBlock(id, block, full ? block.txs.map((t) => verifyTx(t, chain.params)) : null), reward: (await producerReward(id, block))?.toString() ?? null };
  };
  return [
    {
      name: 'bcr_chainHead',
      description: 'The canonical head: height, id, slot, timestamp, state root and the finalized height.',
      params: [],
      handler: async () => ({ ...formatHeader(chain.head.id, chain.head.header), finalizedHeight: chain.finalizedHeight }),
    },
    {
      name: 'bcr_getBlockByHeight',
      description: 'The canonical block at a height, optionally with its txs (each with its payload decoded as `args`), its producer reward and a summary of its proofs; a block this node pruned comes as its header with `pruned: true` and `txs: null`.',
      params: [uintParam('height'), boolParam('fullTxs')],
      handler: async ([height, full]) => blockJson(await chain.canonicalId(height as number), full === true),
    },
    {
      name: 'bcr_getHeaders',
      description: `Encoded canonical block headers from height \`from\`, at most \`count\` (up to ${MAX_HEADERS}): a light client links a block it trusts to a later one (each header's parentId is the SHA-256 of the one before), pruned blocks included.`,
      params: [uintParam('from'), uintParam('count', false, MAX_HEADERS)],
      cost: ([, count]) => 1 + Math.ceil((count as number) / 64),
      handler: async ([from, count]) => {
        const headers: string[] = [];
        for (let height = from as number; height < (from as number) + (count as number) && height <= chain.head.header.height; height++) {
          const id = await chain.canonicalId(height);
          const header = id ? await chain.getHeader(id) : undefined;
          if (!header) break;
          headers.push(toHex(encodeHeader(header)));
        }
        return { from, headers };
      },
    },
    {
      name: 'bcr_getBlockById',
      description: 'A block by id (canonical or side chain), shaped as bcr_getBlockByHeight answers.',
      params: [hexDataParam('id', 32), boolParam('fullTxs')],
      handler: async ([id, full]) => blockJson(id as Uint8Array, full === true),
    },
    {
      name: 'bcr_getBalance',
      description: 'Balance of an address at the head in atto (decimal string), with the vesting-locked part.',
      params: [addressParam()],
      handler: async ([address]) => {
        const account = await chain.getAccount(address as Uint8Array);
        const locked = await chain.getLocked(address as Uint8Array);
        return { balance: account.balance.toString(), locked: locked.toString(), spendable: (account.balance > locked ? account.balance - locked : 0n).toString() };
      },
    },
    {
      name: 'bcr_getNonce',
      description: 'Next nonce of an address: "latest" (chain) or "pending" (counting pooled txs).',
      params: [addressParam(), enumParam('tag', ['latest', 'pending'] as const)],
      handler: async ([address, tag]) => {
        const { nonce } = await chain.getAccount(address as Uint8Array);
        return tag === 'pending' ? mempool.nextPendingNonce(address as Uint8Array, nonce) : nonce;
      },
    },
    {
      name: 'bcr_sendRawTransaction',
      description: 'Submits a signed tx (0x-hex of its canonical bytes); returns its id.',
      permission: 'write',
      params: [hexDataParam('tx')],
      handler: async ([bytes]) => toHex((await mempool.add(bytes as Uint8Array)).id),
    },
    {
      name: 'bcr_getTransaction',
      description: 'A tx by id, from the chain or the pool, with its block position.',
      params: [hexDataParam('id', 32)],
      handler: async ([id]) => {
        const pooled = mempool.get(id as Uint8Array);
        if (pooled) return { ...formatTx(pooled), status: 'pending' };
        const loc = await chain.getTxLocation(id as Uint8Array);
        if (!loc) return null;
        const block = await chain.requireBlock(loc.blockId);
        const tx = verifyTx(block.txs[loc.index]!, chain.params);
        return { ...formatTx(tx), status: 'included', blockId: toHex(loc.blockId), height: loc.height, index: loc.index };
      },
    },
    {
      name: 'bcr_getTransactionReceipt',
      description: 'Receipt of an included tx: status, gas used, fee, block.',
      params: [hexDataParam('id', 32)],
      handler: async ([id]) => {
        const loc = await chain.getTxLocation(id as Uint8Array);
        if (!loc) return null;
        const receipts = await chain.requireReceipts(loc.blockId);
        return { ...formatReceipt(receipts[loc.index]!), blockId: toHex(loc.blockId), height: loc.height, index: loc.index };
      },
    },
    {
      name: 'bcr_issuance',
      description: 'Mining issuance: minted at the head (or a slot) and the per-quarter schedule, in atto.',
      params: [uintParam('slot', true)],
      handler: async ([slot]) => {
        const at = (slot as number | undefined) ?? chain.head.header.slot;
        return {
          slot: at,
          minted: mintedAtSlot(at, chain.params).toString(),
          schedule: issuanceSchedule(chain.params).map((q) => ({ quarter: q.quarter, firstSlot: q.firstSlot, issued: q.issued.toString(), cumulative: q.cumulative.toString() })),
        };
      },
    },
    {
      name: 'bcr_getProof',
      description: "Merkle proof of an account's state (or its absence) against the state root of the head, the finalized block, or a height between; with that block's id and encoded header. storageSlots adds proofs of a contract's storage slots (32-byte each; value = the slot's minimal big-endian bytes). For governance and attestation records: bcr_getProposal and bcr_getAttestations with proof, or bcr_getStateProofs.",
      params: [addressParam(), stateBlockParam(), storageSlotsParam()],
      // Rolling the state back is the work: one unit per block between the head and `block`.
      cost: ([, block, slots]) => 1 + chain.depthOf((block ?? 'latest') as StateBlock) + ((slots as unknown[] | undefined)?.length ?? 0),
      handler: async ([address, block, slots]) => {
        const at = address as Uint8Array;
        const storage = (slots as Uint8Array[] | undefined) ?? [];
        const { height, id, header, proofs } = await chain.proveAt((block ?? 'latest') as StateBlock, [accountKey(at), ...storage.map((slot) => storageKey(at, slot))]);
        const [account, ...slotProofs] = proofs;
        return {
          address: toChecksumAddress(at),
          height,
          blockId: toHex(id),
          stateRoot: toHex(header.stateRoot),
          header: toHex(encodeHeader(header)),
          ...stateProofJson(account!),
          ...(storage.length > 0 ? { storageProofs: slotProofs.map((p, i) => ({ slot: toHex(storage[i]!), ...stateProofJson(p) })) } : {}),
        };
      },
    },
    {
      name: 'bcr_mempoolStatus',
      description: 'Pooled txs: size (all), pending (executable), queued (behind a nonce gap), local (the miner\'s own lane), evicted so far.',
      params: [],
      handler: async () => {
        const { total, pending, queued, local, evicted } = mempool.stats();
        return { size: total, pending, queued, local, evicted };
      },
    },
    {
      name: 'bcr_mempoolContent',
      description: 'Every pooled tx, grouped by sender in nonce order.',
      params: [],
      cost: () => 100,
      handler: async () => mempool.content().map(({ sender, txs }) => ({ sender: toChecksumAddress(sender), txs: txs.map(formatTx) })),
    },
    {
      name: 'bcr_finalizedHead',
      description: 'The newest final block (reorgs never go below it).',
      params: [],
      handler: async () => {
        const id = (await chain.canonicalId(chain.finalizedHeight))!;
        return formatHeader(id, (await chain.getHeader(id))!);
      },
    },
    {
      name: 'bcr_gasPrice',
      description: 'Suggested gas price (atto per gas): the minimum, or the median price of txs in the last 20 blocks if higher.',
      params: [],
      handler: async () => (await suggestedGasPrice(chain)).toString(),
    },
    {
      name: 'bcr_estimateGas',
      description: 'Gas a signed or unsigned-but-encoded tx of a known kind will use.',
      params: [hexDataParam('tx')],
      handler: async ([bytes]) => verifyTx(bytes as Uint8Array, chain.params).gas,
    },
    {
      name: 'bcr_feeHistory',
      description: `Per block over the last \`count\` blocks (at most ${MAX_FEE_HISTORY_BLOCKS}): height, txs, gas used and the lowest and highest gas price paid.`,
      params: [uintParam('count')],
      cost: ([count]) => Math.min(count as number, MAX_FEE_HISTORY_BLOCKS),
      handler: async ([count]) => {
        const out = [];
        const last = chain.head.header.height;
        for (let h = Math.max(1, last - Math.min(MAX_FEE_HISTORY_BLOCKS, count as number) + 1); h <= last; h++) {
          const fees = await feeSummary(chain, h);
          if (!fees) break;
          out.push({ height: h, txs: fees.txs, gasUsed: fees.gasUsed, minGasPrice: fees.prices[0]?.toString() ?? null, maxGasPrice: fees.prices[fees.prices.length - 1]?.toString() ?? null });
        }
        return out;
      },
    },
    {
      name: 'bcr_supply',
      description: 'Supply breakdown in atto: total, minted by issuance so far, foundation (governed), vesting-locked, miner collateral and pledge, burned, circulating.',
      params: [],
      handler: async () => {
        const slot = chain.head.header.slot;
        const minted = mintedAtSlot(slot, chain.params);
        const vested = chain.genesis.allocations.filter((a) => a.vesting).map((a) => a.address);
        const s = await supplyOf(chain.headState(), slot, TOTAL_SUPPLY - MINING_SUPPLY + minted, vested);
        return {
          maxSupply: TOTAL_SUPPLY.toString(),
          total: s.total.toString(),
          minted: minted.toString(),
          foundation: s.foundation.toString(),
          vestingLocked: s.vestingLocked.toString(),
          minerCollateral: s.minerCollateral.toString(),
          minerPledge: s.minerPledge.toString(),
          burned: s.burned.toString(),
          circulating: circulatingSupply(s).toString(),
        };
      },
    },
    {
      name: 'bcr_nodeInfo',
      description: 'Node version, network, chain id, genesis id, head, and the live crypto backends.',
      params: [],
      handler: async () => ({
        version: NODE_VERSION,
        network: chain.params.network,
        chainId: chain.params.chainId,
        genesis: toHex(chain.genesisId),
        head: chain.head.header.height,
        finalizedHeight: chain.finalizedHeight,
        sha256: pairHashBackend,
        secp256k1: signatureBackend(),
      }),
    },
  ];
}

