// Attestations (docs/protocol.md §14): a tx records a content hash with a short tag, an optional
// reference to an earlier attestation (a provenance chain) and small metadata. Records and both
// indexes (by hash, by attester) live in the state, so each answer about a hash can be proven against
// a block's state root: a light client checks the count, every index entry and every record.
import { bytes, bytesEqual, concatBytes, decode, encode, optional, str, struct, uint, uintToBytesBE, varBytes, type Infer } from '../primitives/index.js';
import { TxFailure } from './errors.js';
import type { StateDb } from './stateDb.js';
import { verifyStateProof, type StateProof } from './stateDb.js';
import { defineTxKind } from './txKinds/registry.js';

/** State key prefix of attestation records and indexes (0x0c). */
export const ATTEST_PREFIX = 0x0c;
export const MAX_TAG_BYTES = 64;
export const MAX_META_BYTES = 256;

const attestationCodec = struct({
  hash: bytes(32),
  tag: str(MAX_TAG_BYTES),
  ref: optional(bytes(32)),
  meta: varBytes(MAX_META_BYTES),
  attester: bytes(20),
  height: uint(),
  slot: uint(),
});
export type Attestation = Infer<typeof attestationCodec>;

const countCodec = uint();
export const attestationKey = (id: Uint8Array) => concatBytes(new Uint8Array([ATTEST_PREFIX, 0x00]), id);
export const hashCountKey = (hash: Uint8Array) => concatBytes(new Uint8Array([ATTEST_PREFIX, 0x01]), hash);
export const hashItemKey = (hash: Uint8Array, seq: number) => concatBytes(new Uint8Array([ATTEST_PREFIX, 0x02]), hash, uintToBytesBE(seq, 8));
export const attesterCountKey = (attester: Uint8Array) => concatBytes(new Uint8Array([ATTEST_PREFIX, 0x03]), attester);
export const attesterItemKey = (attester: Uint8Array, seq: number) => concatBytes(new Uint8Array([ATTEST_PREFIX, 0x04]), attester, uintToBytesBE(seq, 8));

export function decodeAttestation(raw: Uint8Array): Attestation {
  return decode(attestationCodec, raw, 'attestation');
}

export async function getAttestation(state: StateDb, id: Uint8Array): Promise<Attestation | null> {
  const raw = await state.get(attestationKey(id));
  return raw ? decodeAttestation(raw) : null;
}

async function countAt(state: StateDb, key: Uint8Array): Promise<number> {
  const raw = await state.get(key);
  return raw ? decode(countCodec, raw, 'count') : 0;
}

/** Ids of the attestations of a content hash, in the order they were recorded. */
export async function attestationIdsOfHash(state: StateDb, hash: Uint8Array): Promise<Uint8Array[]> {
  return (await attestationPageOfHash(state, hash, 0, Number.MAX_SAFE_INTEGER)).ids;
}

/** Ids of a hash's attestations from `from` (0-based, in the order recorded), at most `limit`, and how many there are. */
export async function attestationPageOfHash(state: StateDb, hash: Uint8Array, from: number, limit: number): Promise<{ ids: Uint8Array[]; total: number }> {
  const total = await countAt(state, hashCountKey(hash));
  const ids: Uint8Array[] = [];
  for (let seq = from; seq < Math.min(total, from + limit); seq++) ids.push((await state.get(hashItemKey(hash, seq)))!);
  return { ids, total };
}

/** Ids of an attester's attestations from `from` (0-based), at most `limit`, oldest first. */
export async function attestationIdsOfAttester(state: StateDb, attester: Uint8Array, from: number, limit: number): Promise<{ ids: Uint8Array[]; total: number }> {
  const total = await countAt(state, attesterCountKey(attester));
  const ids: Uint8Array[] = [];
  for (let seq = from; seq < Math.min(total, from + limit); seq++) ids.push((await state.get(attesterItemKey(attester, seq)))!);
  return { ids, total };
}

export const attestPayload = struct({ hash: bytes(32), tag: str(MAX_TAG_BYTES), ref: optional(bytes(32)), meta: varBytes(MAX_META_BYTES) });
export type AttestPayload = Infer<typeof attestPayload>;

/** An attestation's id is its tx's id. */
export const attestKind = defineTxKind({
  id: 25,
  name: 'attest',
  payload: attestPayload,
  maxPayloadBytes: 32 + MAX_TAG_BYTES + 32 + MAX_META_BYTES + 16,
  gas: (p) => 50_000 + 16 * p.meta.length,
  touches: (p) => [hashCountKey(p.hash), ...(p.ref ? [attestationKey(p.ref)] : [])],
  async apply(ctx, p) {
    await recordAttestation(ctx.state, ctx.txId, { ...p, attester: ctx.sender, height: ctx.height, slot: ctx.slot });
  },
});

/** How many attestations a content hash has. */
export function attestationCountOf(state: StateDb, hash: Uint8Array): Promise<number> {
  return countAt(state, hashCountKey(hash));
}

/** Writes an attestation under `id` with both index entries (from a tx, or from a contract through the system contract). */
export async function recordAttestation(state: StateDb, id: Uint8Array, record: Attestation): Promise<void> {
  if (record.tag.length === 0) throw new TxFailure('EMPTY_TAG', 'an attestation needs a tag (its schema or kind)');
  if (record.ref && !(await state.get(attestationKey(record.ref)))) throw new TxFailure('REF_NOT_FOUND', 'the referenced attestation does not exist');
  if (await state.get(attestationKey(id))) throw new TxFailure('ATTESTATION_EXISTS', 'an attestation with this id exists');
  await state.set(attestationKey(id), encode(attestationCodec, record));
  const bySeq = await countAt(state, hashCountKey(record.hash));
  await state.set(hashItemKey(record.hash, bySeq), id);
  await state.set(hashCountKey(record.hash), encode(countCodec, bySeq + 1));
  const byAttester = await countAt(state, attesterCountKey(record.attester));
  await state.set(attesterItemKey(record.attester, byAttester), id);
  await state.set(attesterCountKey(record.attester), encode(countCodec, byAttester + 1));
}

/** The state keys whose proofs establish every attestation of `hash`: the count, each index entry, each record. */
export function attestationProofKeys(hash: Uint8Array, ids: Uint8Array[], from = 0): Uint8Array[] {
  return [hashCountKey(hash), ...ids.map((_, i) => hashItemKey(hash, from + i)), ...ids.map(attestationKey)];
}

/**
 * Checks, against a state root the caller trusts, that `proofs` establish the complete list of
 * attestations of `hash` (or, with `page`, its entries `from` to `from + limit`, and how many there
 * are in all), and returns them (id and record, in order). Throws with the reason when a proof is
 * missing, does not verify, or proves something other than what it must.
 */
export function verifyAttestationPage(stateRoot: Uint8Array, hash: Uint8Array, proofs: StateProof[], page: { from: number; limit: number } = { from: 0, limit: Number.MAX_SAFE_INTEGER }): { total: number; records: { id: Uint8Array; record: Attestation }[] } {
  const byKey = new Map(proofs.map((p) => [Buffer.from(p.stateKey).toString('hex'), p]));
  const proven = (key: Uint8Array): Uint8Array | null => {
    const proof = byKey.get(Buffer.from(key).toString('hex'));
    if (!proof) throw new Error(`no proof for state key 0x${Buffer.from(key).toString('hex')}`);
    if (!verifyStateProof(stateRoot, proof)) throw new Error(`the proof of state key 0x${Buffer.from(key).toString('hex')} does not verify against state root 0x${Buffer.from(stateRoot).toString('hex')}`);
    return proof.value;
  };
  const countBytes = proven(hashCountKey(hash));
  const count = countBytes ? decode(countCodec, countBytes, 'count') : 0;
  const out: { id: Uint8Array; record: Attestation }[] = [];
  for (let seq = page.from; seq < Math.min(count, page.from + page.limit); seq++) {
    const id = proven(hashItemKey(hash, seq));
    if (!id || id.length !== 32) throw new Error(`index entry ${seq} of the hash is missing from the state`);
    const raw = proven(attestationKey(id));
    if (!raw) throw new Error(`attestation 0x${Buffer.from(id).toString('hex')} is missing from the state`);
    const record = decodeAttestation(raw);
    if (!bytesEqual(record.hash, hash)) throw new Error('an indexed attestation records another hash');
    out.push({ id, record });
  }
  return { total: count, records: out };
}

/** The complete list of a hash's attestations, proven (verifyAttestationPage over every entry). */
export function verifyAttestationProofs(stateRoot: Uint8Array, hash: Uint8Array, proofs: StateProof[]): { id: Uint8Array; record: Attestation }[] {
  return verifyAttestationPage(stateRoot, hash, proofs).records;
}
