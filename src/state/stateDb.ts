// Typed access to the authenticated state inside one block's execution: flat values under
// STATE_VALUE_PREFIX, committed by the sparse Merkle tree. Keeps a journal for per-tx rollback and
// the first-seen value of every key as the block's undo data.
import { concatBytes, hexKey, sha256 } from '../primitives/index.js';
import type { Overlay } from './kv.js';
import { smtProve, smtRoot, smtUpdate, smtVerify, type SmtProof } from './smt.js';

export const STATE_VALUE_PREFIX = 0x10;

export interface UndoEntry {
  key: Uint8Array;
  /** Value before the block; null if the key did not exist. */
  value: Uint8Array | null;
}

interface JournalEntry {
  hex: string;
  previous: Uint8Array | null;
  hadPrevious: boolean;
}

export function flatKey(stateKey: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([STATE_VALUE_PREFIX]), stateKey);
}

/** The SMT key of a state key. */
export function smtKeyOf(stateKey: Uint8Array): Uint8Array {
  return sha256(stateKey);
}

export class StateDb {
  /** Current value of each key touched in this block. */
  private readonly current = new Map<string, { key: Uint8Array; value: Uint8Array | null }>();
  private readonly originals = new Map<string, UndoEntry>();
  private journal: JournalEntry[] = [];

  constructor(private readonly store: Overlay) {}

  async get(stateKey: Uint8Array): Promise<Uint8Array | undefined> {
    const hex = hexKey(stateKey);
    const touched = this.current.get(hex);
    if (touched) return touched.value ?? undefined;
    const value = await this.store.get(flatKey(stateKey));
    if (!this.originals.has(hex)) this.originals.set(hex, { key: stateKey, value: value ?? null });
    return value;
  }

  /** Writes must follow a read of the same key (handlers read-modify-write), so the original is known. */
  async set(stateKey: Uint8Array, value: Uint8Array | null): Promise<void> {
    const hex = hexKey(stateKey);
    if (!this.originals.has(hex)) await this.get(stateKey);
    const touched = this.current.get(hex);
    this.journal.push({ hex, previous: touched?.value ?? null, hadPrevious: touched !== undefined });
    this.current.set(hex, { key: stateKey, value });
  }

  checkpoint(): number {
    return this.journal.length;
  }

  revertTo(checkpoint: number): void {
    while (this.journal.length > checkpoint) {
      const entry = this.journal.pop()!;
      if (entry.hadPrevious) this.current.get(entry.hex)!.value = entry.previous;
      else this.current.delete(entry.hex);
    }
  }

  /** Writes flat values and tree nodes into the overlay; returns the new state root and the undo data. */
  async commit(): Promise<{ stateRoot: Uint8Array; undo: UndoEntry[] }> {
    const changes = [];
    const undo: UndoEntry[] = [];
    for (const [hex, { key, value }] of this.current) {
      const original = this.originals.get(hex)!;
      if (original.value === null ? value === null : value !== null && Buffer.compare(original.value, value) === 0) continue;
      undo.push(original);
      if (value === null) this.store.del(flatKey(key));
      else this.store.put(flatKey(key), value);
      changes.push({ key: smtKeyOf(key), valueHash: value === null ? null : sha256(value) });
    }
    const stateRoot = await smtUpdate(this.store, changes);
    this.current.clear();
    this.originals.clear();
    this.journal = [];
    return { stateRoot, undo };
  }
}

export async function readStateRoot(store: Overlay | { get(key: Uint8Array): Promise<Uint8Array | undefined> }): Promise<Uint8Array> {
  return smtRoot(store);
}

export interface StateProof {
  stateKey: Uint8Array;
  value: Uint8Array | null;
  proof: SmtProof;
}

export async function proveState(store: { get(key: Uint8Array): Promise<Uint8Array | undefined> }, stateKey: Uint8Array): Promise<StateProof> {
  const value = (await store.get(flatKey(stateKey))) ?? null;
  return { stateKey, value, proof: await smtProve(store, smtKeyOf(stateKey)) };
}

export function verifyStateProof(stateRoot: Uint8Array, p: StateProof): boolean {
  return smtVerify(stateRoot, smtKeyOf(p.stateKey), p.value === null ? null : sha256(p.value), p.proof);
}
