// The registry of transaction kinds: each kind brings its payload codec, gas cost and state handler.
// Later issues add miner, market, governance and attestation kinds here without touching the envelope.
import { decode, encode, type Field, type FieldSchema } from '../../primitives/index.js';
import type { ChainParams } from '../../consensus/index.js';
import type { StateDb } from '../stateDb.js';

export interface TxContext {
  state: StateDb;
  params: ChainParams;
  sender: Uint8Array;
  txId: Uint8Array;
  height: number;
  slot: number;
}

export interface TxKindSpec<P> {
  id: number;
  name: string;
  payload: Field<P>;
  maxPayloadBytes: number;
  gas(payload: P): number;
  /** State keys the tx will read besides its sender's account (prefetched before execution). */
  touches?(payload: P): Uint8Array[];
  /** Atto the tx moves out of the sender's balance besides its fee (the pool checks it against the balance). */
  spends?(payload: P): bigint;
  apply(ctx: TxContext, payload: P): Promise<void>;
}

/** A kind with its payload type erased; decodePayload is the only way in, so types stay sound. */
export interface TxKind {
  id: number;
  name: string;
  /** The payload's wire schema (what docs and fuzzers read). */
  payloadSchema: FieldSchema;
  decodePayload(bytes: Uint8Array): unknown;
  /** Throws a RangeError when the value does not fit the payload's codec. */
  encodePayload(payload: unknown): Uint8Array;
  gas(payload: unknown): number;
  touches(payload: unknown): Uint8Array[];
  spends(payload: unknown): bigint;
  apply(ctx: TxContext, payload: unknown): Promise<void>;
}

const kinds = new Map<number, TxKind>();

export function defineTxKind<P>(spec: TxKindSpec<P>): TxKind {
  const kind: TxKind = {
    id: spec.id,
    name: spec.name,
    payloadSchema: spec.payload.schema,
    decodePayload: (bytes) => decode(spec.payload, bytes, `${spec.name} payload`, spec.maxPayloadBytes),
    encodePayload: (payload) => encode(spec.payload, payload as P),
    gas: (payload) => spec.gas(payload as P),
    touches: (payload) => spec.touches?.(payload as P) ?? [],
    spends: (payload) => spec.spends?.(payload as P) ?? 0n,
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
