// The registry of transaction kinds: each kind brings its payload codec, gas cost and state handler.
// Later issues add miner, market, governance and attestation kinds here without touching the envelope.
import { decode, encode, type Field, type FieldSchema } from '../../primitives/index.js';
import type { ChainParams } from '../../consensus/index.js';
import type { StateDb } from '../stateDb.js';
import type { BlockEnv } from '../execute.js';
import type { EvmReceipt } from '../evm/receipt.js';

export interface TxContext {
  state: StateDb;
  params: ChainParams;
  sender: Uint8Array;
  txId: Uint8Array;
  height: number;
  slot: number;
  /** What the tx declared and the price it pays per gas (a metered kind charges by what it used). */
  gasLimit: number;
  gasPrice: bigint;
  block: BlockEnv;
}

/** What a metered kind reports: the gas it used, and for the EVM its receipt data. */
export interface TxOutcome {
  gasUsed: number;
  /** A failure code when the tx's effect was undone (it still pays for gasUsed). */
  failure: string | null;
  evm: EvmReceipt | null;
}

export interface TxKindSpec<P> {
  id: number;
  name: string;
  payload: Field<P>;
  maxPayloadBytes: number;
  gas(payload: P): number;
  /** Stateless rules beyond the codec (throws TxError); run when the tx is verified. */
  check?(payload: P): void;
  /** State keys the tx will read besides its sender's account (prefetched before execution). */
  touches?(payload: P): Uint8Array[];
  /** Atto the tx moves out of the sender's balance besides its fee (the pool checks it against the balance). */
  spends?(payload: P): bigint;
  /**
   * Metered kinds use a gas amount known only after execution: the sender is charged its gas limit
   * first, apply returns what was used, and the rest is refunded. `gas` is then the least it can use.
   */
  metered?: boolean;
  apply(ctx: TxContext, payload: P): Promise<void | TxOutcome>;
}

/** A kind with its payload type erased; decodePayload is the only way in, so types stay sound. */
export interface TxKind {
  id: number;
  name: string;
  /** The payload's wire schema (what docs and fuzzers read). */
  payloadSchema: FieldSchema;
  /** Decodes and checks a payload (codec errors, then the kind's stateless rules as TxError). */
  decodePayload(bytes: Uint8Array): unknown;
  /** Throws a RangeError when the value does not fit the payload's codec. */
  encodePayload(payload: unknown): Uint8Array;
  gas(payload: unknown): number;
  touches(payload: unknown): Uint8Array[];
  spends(payload: unknown): bigint;
  metered: boolean;
  apply(ctx: TxContext, payload: unknown): Promise<void | TxOutcome>;
}

const kinds = new Map<number, TxKind>();

export function defineTxKind<P>(spec: TxKindSpec<P>): TxKind {
  const kind: TxKind = {
    id: spec.id,
    name: spec.name,
    payloadSchema: spec.payload.schema,
    decodePayload: (bytes) => {
      const payload = decode(spec.payload, bytes, `${spec.name} payload`, spec.maxPayloadBytes);
      spec.check?.(payload);
      return payload;
    },
    encodePayload: (payload) => encode(spec.payload, payload as P),
    gas: (payload) => spec.gas(payload as P),
    touches: (payload) => spec.touches?.(payload as P) ?? [],
    spends: (payload) => spec.spends?.(payload as P) ?? 0n,
    metered: spec.metered ?? false,
    apply: (ctx, payload) => spec.apply(ctx, payload as P),
  };
  if (kinds.has(spec.id)) throw new Error(`tx kind id ${spec.id} registered twice`);
  kinds.set(spec.id, kind);
  return kind;
}

export function txKindById(id: number): TxKind | undefined {
  return kinds.get(id);
}

export function txKinds(): TxKind[] {
  return [...kinds.values()];
}
