// Fuzz targets: every decoder and entry point that takes bytes or JSON from outside, with inputs
// built by fast-check (random bytes, and mutations of valid encodings, which reach deeper). The
// contract of every target: it accepts the input, or refuses it with a typed error carrying a code
// (BcrError) or an exact JSON-RPC error code. Anything else (a TypeError, a RangeError, an internal
// error, a changed head after a refused block) is a crash and fails the run.
import { Transaction, Wallet } from 'ethers';
import fc from 'fast-check';
import { blockCodec, decodeBlock, encodeBlock, signHeader, type Block, type ChainStore } from '../../src/chain/index.js';
import type { ChainParams } from '../../src/consensus/index.js';
import { ORDER_CODECS, OrderBook, signOrder, type OrderKind } from '../../src/market/index.js';
import { Mempool } from '../../src/mempool/index.js';
import { idsRequestCodec, pushTxsCodec, pushTxsResultCodec, rangeRequestCodec, statusCodec } from '../../src/p2p/protocols.js';
import { BcrError, addressOf, bytesEqual, decode, encode, fromHex, hexKey, type Field } from '../../src/primitives/index.js';
import { decodeEthTx, verifyTx } from '../../src/state/index.js';
import { DEV_KEY, TEAM_ADDRESS, WORKER_KEY, nextBlock, nowForSlot, transferTx } from '../helpers/chain.js';

export interface FuzzTarget {
  name: string;
  arbitrary: fc.Arbitrary<unknown>;
  /** 'accepted', or the code of a proper refusal; throws a Crash otherwise. */
  run(input: unknown): Promise<string>;
}

export class Crash extends Error {}

export const ACCEPTED = 'accepted';

/** A refusal must be a typed error with a code (returned); anything else is a crash. */
export function refusalCode(error: unknown): string {
  if (error instanceof BcrError && typeof error.code === 'string' && error.code.length > 0) return error.code;
  throw new Crash(`untyped failure: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
}

async function outcomeOf(step: () => unknown): Promise<string> {
  try {
    await step();
    return ACCEPTED;
  } catch (error) {
    return refusalCode(error);
  }
}

/** Valid bytes with a few changed bytes (mostly), or cut short, or with a tail appended. */
export function mutated(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const base = fc.constantFrom(...valid);
  const edited = fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 })).map(([bytes, edits]) => {
    const out = Uint8Array.from(bytes);
    for (const [at, value] of edits) out[at % out.length] = value;
    return out;
  });
  const cut = fc.tuple(base, fc.nat()).map(([bytes, at]) => bytes.slice(0, at % bytes.length));
  const extended = fc.tuple(base, fc.uint8Array({ minLength: 1, maxLength: 12 })).map(([bytes, tail]) => Uint8Array.from([...bytes, ...tail]));
  return fc.oneof({ arbitrary: edited, weight: 6 }, { arbitrary: cut, weight: 1 }, { arbitrary: extended, weight: 1 });
}

const bytesFrom = (valid: readonly Uint8Array[]) => fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated(valid));

/** A codec must refuse with a code, or accept exactly canonical bytes. */
function codecTarget<T>(name: string, codec: Field<T>, valid: Uint8Array[]): FuzzTarget {
  return {
    name,
    arbitrary: bytesFrom(valid),
    async run(input) {
      const bytes = input as Uint8Array;
      let value: T;
      try {
        value = decode(codec, bytes, name);
      } catch (error) {
        return refusalCode(error);
      }
      if (!bytesEqual(encode(codec, value), bytes)) throw new Crash(`${name}: accepted non-canonical bytes ${hexKey(bytes)}`);
      return ACCEPTED;
    },
  };
}

const ethWallet = new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');

/** One legacy, one EIP-2930 and one EIP-1559 transfer, signed by ethers. */
export async function ethTxSamples(chainId: number): Promise<Uint8Array[]> {
  const base = { to: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', value: 5n, nonce: 0, gasLimit: 21000n, chainId: BigInt(chainId) };
  const variants = [{ type: 0, gasPrice: 3n }, { type: 1, gasPrice: 3n, accessList: [] }, { type: 2, maxFeePerGas: 9n, maxPriorityFeePerGas: 2n }];
  return Promise.all(variants.map(async (v) => fromHex(await ethWallet.signTransaction(Transaction.from({ ...base, ...v })))));
}

/** Pure decoders: no chain needed (params only for the tx checks). */
export async function codecTargets(params: ChainParams, sampleBlock: Block): Promise<FuzzTarget[]> {
  const { chainId } = params;
  const eth = await ethTxSamples(chainId);
  const native = [transferTx(DEV_KEY, 0, TEAM_ADDRESS, 1n, 1n, chainId)];
  const orders = (['storageAsk', 'storageOrder', 'retrievalOrder'] as OrderKind[]).map((kind) => ({ kind, bytes: sampleOrder(kind, chainId) }));
  return [
    codecTarget('block', blockCodec, [encodeBlock(sampleBlock)]),
    codecTarget('status frame', statusCodec, [encode(statusCodec, { genesisId: new Uint8Array(32), headHeight: 5, headId: new Uint8Array(32).fill(1), finalizedHeight: 1 })]),
    codecTarget('blocks-by-range request', rangeRequestCodec, [encode(rangeRequestCodec, { start: 1, count: 64 })]),
    codecTarget('blocks-by-id request', idsRequestCodec, [encode(idsRequestCodec, { ids: [new Uint8Array(32).fill(7)] })]),
    codecTarget('push-txs request', pushTxsCodec(131_072), [encode(pushTxsCodec(131_072), { txs: native })]),
    codecTarget('push-txs result', pushTxsResultCodec, [encode(pushTxsResultCodec, { accepted: 1, ignored: 2, rejected: 3 })]),
    ...orders.map(({ kind }) => {
      const codec = ORDER_CODECS[kind] as Field<unknown>;
      return codecTarget(`${kind} body`, codec, [encode(codec, sampleOrderBody(kind))]);
    }),
    {
      name: 'tx (native and Ethereum envelopes)',
      arbitrary: fc.oneof(bytesFrom([...native, ...eth]), fc.uint8Array({ maxLength: 200 }).map((b) => Uint8Array.from([0x02, ...b])), fc.uint8Array({ maxLength: 200 }).map((b) => Uint8Array.from([0x01, ...b]))),
      run(input) {
        return outcomeOf(() => verifyTx(input as Uint8Array, params));
      },
    },
    {
      name: 'Ethereum envelope decoder',
      arbitrary: bytesFrom(eth),
      run(input) {
        return outcomeOf(() => decodeEthTx(input as Uint8Array));
      },
    },
  ];
}

function sampleOrderBody(kind: OrderKind): unknown {
  const expirySlot = 1_000;
  if (kind === 'storageAsk') return { miner: 1, pricePerGiBSlot: 5n, minPieceBytes: 128, maxPieceBytes: 2048, collateralPerGiB: 1n, expirySlot, seq: 1 };
  if (kind === 'storageOrder') return { pieceCommitment: new Uint8Array(32).fill(3), pieceBytes: 1024, durationSlots: 500, maxPricePerGiBSlot: 9n, replicas: 2, expirySlot, nonce: 1 };
  return { pieceCommitment: new Uint8Array(32).fill(4), maxPricePerByte: 1n, expirySlot, nonce: 1 };
}

function sampleOrder(kind: OrderKind, chainId: number): Uint8Array {
  return signOrder(kind, sampleOrderBody(kind) as never, kind === 'storageAsk' ? WORKER_KEY : DEV_KEY, chainId);
}

/**
 * Entry points with a chain behind them: gossip blocks (full import), gossip and pushed txs
 * (mempool), market orders of every topic (order book).
 */
export async function chainTargets(chain: ChainStore): Promise<FuzzTarget[]> {
  const chainId = chain.params.chainId;
  const devNonce = (await chain.getAccount(addressOf(DEV_KEY))).nonce;
  const block = await nextBlock(chain, chain.head.header.slot + 1, [transferTx(DEV_KEY, devNonce, TEAM_ADDRESS, 1n, 1n, chainId)]);
  const now = nowForSlot(chain, block.header.slot);
  const mempool = new Mempool({ params: chain.params, accountState: async (address) => ({ nonce: (await chain.getAccount(address)).nonce, spendable: (await chain.getAccount(address)).balance }) });
  const book = new OrderBook({ chainId, currentSlot: () => 10, minerWorker: async (id) => (id === 1 ? addressOf(WORKER_KEY) : undefined) });
  const eth = await ethTxSamples(chainId);
  const orderKinds: OrderKind[] = ['storageAsk', 'storageOrder', 'retrievalOrder'];
  return [
    ...(await codecTargets(chain.params, block)),
    {
      name: 'gossip block (decode + full import)',
      arbitrary: mutated([encodeBlock(block)]),
      async run(input) {
        const headBefore = hexKey(chain.head.id);
        const outcome = await outcomeOf(async () => chain.importBlock(decodeBlock(input as Uint8Array, chain.params.maxBlockBytes), now));
        if (outcome !== ACCEPTED && hexKey(chain.head.id) !== headBefore) throw new Crash('a refused block moved the head');
        return outcome;
      },
    },
    {
      name: 'gossip block, header fields changed and re-signed by the miner',
      arbitrary: resignedHeaders(block),
      async run(input) {
        const headBefore = hexKey(chain.head.id);
        const outcome = await outcomeOf(async () => chain.importBlock(input as Block, now));
        if (outcome !== ACCEPTED && hexKey(chain.head.id) !== headBefore) throw new Crash('a refused block moved the head');
        return outcome;
      },
    },
    {
      name: 'gossip / pushed tx (mempool)',
      arbitrary: bytesFrom([transferTx(DEV_KEY, devNonce, TEAM_ADDRESS, 1n, 1n, chainId), transferTx(DEV_KEY, devNonce + 3, TEAM_ADDRESS, 1n, 1n, chainId), ...eth]),
      run(input) {
        return outcomeOf(() => mempool.add(input as Uint8Array));
      },
    },
    ...orderKinds.map((kind) => ({
      name: `gossip ${kind}`,
      arbitrary: bytesFrom([sampleOrder(kind, chainId)]),
      run(input: unknown) {
        return outcomeOf(() => book.admit(kind, input as Uint8Array));
      },
    })),
  ];
}

/** JSON-RPC error codes that are precise refusals; -32603 (internal) is a crash. */
export const PRECISE_RPC_CODES = new Set([-32700, -32600, -32601, -32602, -32000, -32001, -32002, -32005]);

interface MethodDoc {
  name: string;
  params: { name: string; schema: Record<string, unknown> }[];
}

/** Values a hostile caller sends, biased to the edges of each param's schema. */
function hostileValue(schema: Record<string, unknown>): fc.Arbitrary<unknown> {
  const edges = fc.constantFrom<unknown>(
    '0x', '0x0', '0x20000000000000', '0x10000000000000000', '0x' + 'f'.repeat(64), '0x' + 'f'.repeat(65), '-1', '1.5', '1e309', 'latest', 'pending', 'earliest',
    (1n << 256n).toString(), Number.MAX_SAFE_INTEGER + 2, -1, 1.5, 1e308, NaN, '', 'x'.repeat(300), [], {}, { blockHash: '0x' + '00'.repeat(32) }, null, true,
    '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92267', 'storageAsk', 'newHeads',
  );
  const hex = fc.uint8Array({ maxLength: 40 }).map((b) => '0x' + hexKey(b));
  const typed = schema.type === 'array' ? fc.array(fc.oneof(fc.double(), fc.integer()), { maxLength: 120 }) : schema.type === 'boolean' ? fc.boolean() : hex;
  return fc.oneof(edges, typed, fc.anything({ maxDepth: 2 }), fc.integer(), fc.bigInt({ min: 0n, max: 1n << 300n }).map(String));
}

/** Calls of every documented method with hostile params. */
export function rpcCalls(methods: MethodDoc[]): fc.Arbitrary<{ method: string; params: unknown[] }> {
  const usable = methods.filter((m) => m.name !== 'bcr_shutdown');
  return fc.constantFrom(...usable).chain((m) =>
    fc.array(fc.oneof(...(m.params.length ? m.params.map((p) => hostileValue(p.schema)) : [hostileValue({})])), { maxLength: m.params.length + 1 }).map((params) => ({ method: m.name, params })),
  );
}

/** A JSON-RPC call target against a running node: a result or a precise error code, never -32603. */
export function rpcTarget(url: string, token: string, methods: MethodDoc[]): FuzzTarget {
  return {
    name: `JSON-RPC params (${methods.length} methods)`,
    arbitrary: rpcCalls(methods),
    async run(input) {
      const { method, params } = input as { method: string; params: unknown[] };
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      if (response.status !== 200) throw new Crash(`${method}: HTTP ${response.status} for ${body.slice(0, 200)}`);
      const reply = (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
      if (!reply.error) return ACCEPTED;
      if (!PRECISE_RPC_CODES.has(reply.error.code)) throw new Crash(`${method}: error ${reply.error.code} (${reply.error.message}) for ${body.slice(0, 300)}`);
      return `${reply.error.code}`;
    },
  };
}

/** Blocks whose header fields were changed and then signed again with the miner's real worker key: past the signature check, into election and execution. */
function resignedHeaders(block: Block): fc.Arbitrary<Block> {
  const { signature: _signature, ...unsigned } = block.header;
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const fields: Record<string, fc.Arbitrary<unknown>> = {
    height: fc.integer({ min: 0, max: unsigned.height + 3 }),
    slot: fc.integer({ min: 0, max: unsigned.slot + 5 }),
    timestamp: fc.integer({ min: unsigned.timestamp - 2000, max: unsigned.timestamp + 2000 }),
    miner: fc.integer({ min: 0, max: 3 }),
    vrfOutput: bytes32,
    vrfProof: fc.uint8Array({ maxLength: 128 }),
    winningPost: fc.uint8Array({ maxLength: 512 }),
    txRoot: bytes32,
    receiptsRoot: bytes32,
    stateRoot: bytes32,
  };
  // One field at a time reaches the check that guards it; all the others still hold.
  const change = fc.oneof(...Object.entries(fields).map(([key, arbitrary]) => arbitrary.map((value) => ({ [key]: value }))));
  const txs = fc.oneof(fc.constant(block.txs), fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 3 }));
  return fc.tuple(change, txs).map(([changes, bodyTxs]) => ({ header: signHeader(WORKER_KEY, 3012, { ...unsigned, ...changes }), txs: bodyTxs }));
}
