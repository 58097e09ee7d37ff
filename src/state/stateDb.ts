// Typed access to the authenticated state inside one block's execution: flat values under
// STATE_VALUE_PREFIX, committed by the sparse Merkle tree. Keeps a journal for per-tx rollback and
// the first-seen value of every key as the block's undo data.
import { concatBytes, keyString, sha256 } from '../primitives/index.js';
import type { StateEvent } from './events.js';
import type { Overlay } from './kv.js';
import { smtProve, smtRoot, smtUpdate, smtVerify, type SmtProof } from './smt.js';

export const STATE_VALUE_PREFIX = 0x10;
const FLAT_ID_PREFIX = String.fromCharCode(STATE_VALUE_PREFIX);

export interface UndoEntry {
  key: Uint8Array;
  /** Value before the block; null if the key did not exist. */
  value: Uint8Array | null;
}

/**
 * A touched key's value in this block. A typed value (an account) is kept decoded and encoded
 * only when its bytes are needed (commit, or a raw read), so a record that a block reads and
 * writes many times (the producer, a busy sender) is decoded once and encoded once.
 */
interface Entry {
  key: Uint8Array;
  /** undefined: not encoded yet (see `object`). null: deleted. */
  bytes: Uint8Array | null | undefined;
  object?: unknown;
  decoder?: (bytes: Uint8Array | undefined) => unknown;
  encoder?: (object: never) => Uint8Array;
}

interface JournalEntry {
  id: string;
  /** The entry before the write; undefined if the key had not been touched. */
  previous: Entry | undefined;
}

/** An emitted event sits in the journal too, so a reverted tx takes its events back with its writes. */
const EVENT_MARK = { event: true } as const;

export function flatKey(stateKey: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([STATE_VALUE_PREFIX]), stateKey);
}

/** The SMT key of a state key. */
export function smtKeyOf(stateKey: Uint8Array): Uint8Array {
  return sha256(stateKey);
}

function bytesOf(entry: Entry): Uint8Array | null {
  if (entry.bytes === undefined) entry.bytes = (entry.encoder as (object: unknown) => Uint8Array)(entry.object);
  return entry.bytes;
}

export class StateDb {
  /** Every key read or written in this block, with its current value. */
  private readonly current = new Map<string, Entry>();
  private readonly originals = new Map<string, UndoEntry>();
  private journal: (JournalEntry | typeof EVENT_MARK)[] = [];
  private events: StateEvent[] = [];

  constructor(private readonly store: Overlay) {}

  async get(stateKey: Uint8Array): Promise<Uint8Array | undefined> {
    return bytesOf(await this.entry(stateKey, keyString(stateKey))) ?? undefined;
  }

  /**
   * Reads a typed value, decoded at most once per block while it is unchanged. The object is
   * shared with later readers: treat it as read-only and write a new one with `setTyped`.
   */
  async getTyped<T>(stateKey: Uint8Array, decoder: (bytes: Uint8Array | undefined) => T): Promise<T> {
    const entry = await this.entry(stateKey, keyString(stateKey));
    if (entry.decoder !== decoder) {
      entry.object = decoder(bytesOf(entry) ?? undefined);
      entry.decoder = decoder;
    }
    return entry.object as T;
  }

  private async entry(stateKey: Uint8Array, id: string): Promise<Entry> {
    const touched = this.current.get(id);
    if (touched) return touched;
    const value = (await this.store.get(flatKey(stateKey), FLAT_ID_PREFIX + id)) ?? null;
    // A read during an await above may have recorded the key already.
    const raced = this.current.get(id);
    if (raced) return raced;
    if (!this.originals.has(id)) this.originals.set(id, { key: stateKey, value });
    const entry: Entry = { key: stateKey, bytes: value };
    this.current.set(id, entry);
    return entry;
  }

  /** Writes raw bytes (null deletes the key). */
  async set(stateKey: Uint8Array, value: Uint8Array | null): Promise<void> {
    await this.write(stateKey, { key: stateKey, bytes: value });
  }

  /** Writes a typed value (null deletes the key); it is encoded when its bytes are first needed. */
  async setTyped<T>(stateKey: Uint8Array, object: T | null, encoder: (object: T) => Uint8Array, decoder: (bytes: Uint8Array | undefined) => T): Promise<void> {
    await this.write(stateKey, object === null ? { key: stateKey, bytes: null } : { key: stateKey, bytes: undefined, object, decoder, encoder });
  }

  /** Writes must know the original value (the undo data), so an unread key is read first. */
  private async write(stateKey: Uint8Array, next: Entry): Promise<void> {
    const id = keyString(stateKey);
    const previous = await this.entry(stateKey, id);
    this.journal.push({ id, previous });
    this.current.set(id, next);
  }

  checkpoint(): number {
    return this.journal.length;
  }

  revertTo(checkpoint: number): void {
    while (this.journal.length > checkpoint) {
      const entry = this.journal.pop()!;
      if (!('id' in entry)) this.events.pop();
      else if (entry.previous) this.current.set(entry.id, entry.previous);
      else this.current.delete(entry.id);
    }
  }

  emit(event: StateEvent): void {
    this.events.push(event);
    this.journal.push(EVENT_MARK);
  }

  /** The events emitted since the last call (the caller keeps them with the block). */
  takeEvents(): StateEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  /** Writes flat values and tree nodes into the overlay; returns the new state root and the undo data. */
  async commit(): Promise<{ stateRoot: Uint8Array; undo: UndoEntry[] }> {
    const { changed, undo } = this.writeValues();
    const stateRoot = await smtUpdate(this.store, changed.map(({ key, value }) => ({ key: smtKeyOf(key), valueHash: value === null ? null : sha256(value) })));
    return { stateRoot, undo };
  }

  /**
   * Writes the flat values only, leaving the authenticated tree behind: for the simulations, which
   * run the state machine for years of blocks and never read a state root.
   */
  commitValues(): void {
    this.writeValues();
  }

  private writeValues(): { changed: { key: Uint8Array; value: Uint8Array | null }[]; undo: UndoEntry[] } {
    const changed = [];
    const undo: UndoEntry[] = [];
    for (const [id, entry] of this.current) {
      const original = this.originals.get(id)!;
      const value = bytesOf(entry);
      if (original.value === null ? value === null : value !== null && Buffer.compare(original.value, value) === 0) continue;
      undo.push(original);
      if (value === null) this.store.del(flatKey(entry.key), FLAT_ID_PREFIX + id);
      else this.store.put(flatKey(entry.key), value, FLAT_ID_PREFIX + id);
      changed.push({ key: entry.key, value });
    }
    this.current.clear();
    this.originals.clear();
    this.journal = [];
    return { changed, undo };
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
