// Compact sparse Merkle tree over 256-bit hashed keys: the authenticated state (stateRoot).
// The hashes are those of a binary tree: a subtree with one leaf is that leaf (collapsed), an empty
// subtree hashes to zero, an inner node is sha256(left || right). The shape depends only on the set
// of (key, valueHash), never on history, so undoing writes restores the exact earlier root.
//
// Storage is paged (as in Diem's Jellyfish Merkle tree): a page holds 4 binary levels, i.e. the 16
// slots below a position at a depth that is a multiple of 4. A slot is empty, one leaf (when exactly
// one key lies below it), or a sub-page (two or more keys). A page's inner hashes are recomputed
// from its slots, so an update reads and writes one record per 4 levels of each changed path, not
// one per level: about 5x fewer store operations than a node per position.
import { bytesEqual, concatBytes, hashPair, hexKey, keyString, sha256 } from '../primitives/index.js';
import type { KvReader } from './kv.js';

export const ZERO_HASH = new Uint8Array(32);
/** Leading byte of tree records: pages by position, and the root record. */
export const SMT_NODE_PREFIX = 0x12;
/** The per-position binary nodes of earlier versions (migrated on open, see chain/). */
export const LEGACY_SMT_NODE_PREFIX = 0x11;

const PAGE_BITS = 4;
const SLOTS = 1 << PAGE_BITS;
const ROOT_KEY = new Uint8Array([SMT_NODE_PREFIX]);

type Empty = { readonly t: 'empty' };
type Leaf = { readonly t: 'leaf'; readonly key: Uint8Array; readonly valueHash: Uint8Array; readonly hash: Uint8Array };
type PageRef = { readonly t: 'page'; readonly hash: Uint8Array };
type Slot = Empty | Leaf | PageRef;

const EMPTY: Empty = { t: 'empty' };

export interface SmtChange {
  key: Uint8Array;
  /** null deletes the key. */
  valueHash: Uint8Array | null;
}

export interface NodeWriter extends KvReader {
  put(key: Uint8Array, value: Uint8Array, id?: string): void;
  del(key: Uint8Array, id?: string): void;
}

export interface SmtProof {
  siblings: Uint8Array[];
  /** The node the path ends at: a leaf (maybe of another key, proving absence) or null for empty. */
  terminal: { key: Uint8Array; valueHash: Uint8Array } | null;
}

const leafInput = new Uint8Array(65); // [0] stays 0: the leaf domain byte

export function leafHash(key: Uint8Array, valueHash: Uint8Array): Uint8Array {
  // Proofs from peers may carry odd lengths: hash exactly what was given.
  if (key.length !== 32 || valueHash.length !== 32) return sha256(concatBytes(new Uint8Array([0]), key, valueHash));
  leafInput.set(key, 1);
  leafInput.set(valueHash, 33);
  return sha256(leafInput);
}

function bitAt(key: Uint8Array, depth: number): number {
  return ((key[depth >> 3] as number) >> (7 - (depth & 7))) & 1;
}

/** The slot index of `key` in the page at `depth` (a multiple of 4): the key's nibble there. */
function nibbleAt(key: Uint8Array, depth: number): number {
  const byte = key[depth >> 3] as number;
  return depth & 4 ? byte & 0x0f : byte >> 4;
}

function slotHash(slot: Slot): Uint8Array {
  return slot.t === 'empty' ? ZERO_HASH : slot.hash;
}

function makeLeaf(key: Uint8Array, valueHash: Uint8Array): Leaf {
  return { t: 'leaf', key, valueHash, hash: leafHash(key, valueHash) };
}

// ---- pages ----

/** Storage key of the page at `depth` on the path of `key`: prefix byte, depth / 4, masked key prefix. */
function pageKey(depth: number, key: Uint8Array): Uint8Array {
  const prefixBytes = (depth + 7) >> 3;
  const out = new Uint8Array(2 + prefixBytes);
  out[0] = SMT_NODE_PREFIX;
  out[1] = depth >> 2;
  for (let i = 0; i < prefixBytes; i++) out[2 + i] = key[i] as number;
  if (depth & 4) out[1 + prefixBytes] = (out[1 + prefixBytes] as number) & 0xf0;
  return out;
}

/** Page record: 4 bytes of slot kinds (2 bits each: 0 empty, 1 leaf, 2 page), then each slot's data. */
function encodePage(slots: Slot[]): Uint8Array {
  let size = 4;
  for (const slot of slots) size += slot.t === 'leaf' ? 96 : slot.t === 'page' ? 32 : 0;
  const out = new Uint8Array(size);
  let offset = 4;
  slots.forEach((slot, i) => {
    if (slot.t === 'empty') return;
    out[i >> 2] = (out[i >> 2] as number) | ((slot.t === 'leaf' ? 1 : 2) << ((i & 3) * 2));
    if (slot.t === 'leaf') {
      out.set(slot.key, offset);
      out.set(slot.valueHash, offset + 32);
      out.set(slot.hash, offset + 64);
      offset += 96;
    } else {
      out.set(slot.hash, offset);
      offset += 32;
    }
  });
  return out;
}

function corrupt(): never {
  throw new Error('corrupt SMT page in store');
}

function decodePage(bytes: Uint8Array): Slot[] {
  if (bytes.length < 4) corrupt();
  const slots: Slot[] = [];
  let offset = 4;
  for (let i = 0; i < SLOTS; i++) {
    const kind = ((bytes[i >> 2] as number) >> ((i & 3) * 2)) & 3;
    if (kind === 0) slots.push(EMPTY);
    else if (kind === 1) {
      if (offset + 96 > bytes.length) corrupt();
      slots.push({ t: 'leaf', key: bytes.subarray(offset, offset + 32), valueHash: bytes.subarray(offset + 32, offset + 64), hash: bytes.subarray(offset + 64, offset + 96) });
      offset += 96;
    } else if (kind === 2) {
      if (offset + 32 > bytes.length) corrupt();
      slots.push({ t: 'page', hash: bytes.subarray(offset, offset + 32) });
      offset += 32;
    } else corrupt();
  }
  if (offset !== bytes.length) corrupt();
  return slots;
}

/**
 * Hash of the binary node `level` levels below a page's top (0..4), at index `index` on that level:
 * zero if no key lies below, the leaf's hash if exactly one does, else the hash of its two halves.
 */
function regionHash(slots: Slot[], level: number, index: number): Uint8Array {
  if (level === PAGE_BITS) return slotHash(slots[index]!);
  const width = SLOTS >> level;
  let single: Slot | null = null;
  let count = 0;
  for (let i = index * width; i < (index + 1) * width; i++) {
    if (slots[i]!.t === 'empty') continue;
    count++;
    single = slots[i]!;
  }
  if (count === 0) return ZERO_HASH;
  if (count === 1 && single!.t === 'leaf') return single!.hash;
  return hashPair(regionHash(slots, level + 1, 2 * index), regionHash(slots, level + 1, 2 * index + 1));
}

async function readRecord(store: KvReader, key: Uint8Array): Promise<Uint8Array | undefined> {
  const id = keyString(key);
  // Most records an update visits are in memory: no promise round trip for those.
  const known = store.peek?.(id);
  return known !== undefined ? (known ?? undefined) : store.get(key, id);
}

async function loadPage(store: KvReader, depth: number, key: Uint8Array): Promise<Slot[]> {
  const bytes = await readRecord(store, pageKey(depth, key));
  return bytes ? decodePage(bytes) : corrupt();
}

/** Stores a page and returns the slot that refers to it. */
function storePage(store: NodeWriter, depth: number, key: Uint8Array, slots: Slot[]): PageRef {
  store.put(pageKey(depth, key), encodePage(slots));
  return { t: 'page', hash: regionHash(slots, 0, 0) };
}

// ---- root record ----

function encodeRoot(slot: Leaf | PageRef): Uint8Array {
  return slot.t === 'leaf' ? concatBytes(new Uint8Array([1]), slot.key, slot.valueHash, slot.hash) : concatBytes(new Uint8Array([2]), slot.hash);
}

async function readRoot(store: KvReader): Promise<Slot> {
  const bytes = await readRecord(store, ROOT_KEY);
  if (!bytes) return EMPTY;
  if (bytes[0] === 1 && bytes.length === 97) return { t: 'leaf', key: bytes.subarray(1, 33), valueHash: bytes.subarray(33, 65), hash: bytes.subarray(65, 97) };
  if (bytes[0] === 2 && bytes.length === 33) return { t: 'page', hash: bytes.subarray(1, 33) };
  return corrupt();
}

export async function smtRoot(store: KvReader): Promise<Uint8Array> {
  return slotHash(await readRoot(store));
}

// ---- update ----

/** The runs of items (sorted by key) that share a slot of the page at `depth`. */
function* nibbleRuns<T extends { key: Uint8Array }>(items: T[], depth: number): Generator<[number, T[]]> {
  for (let start = 0; start < items.length; ) {
    const nibble = nibbleAt(items[start]!.key, depth);
    let end = start + 1;
    while (end < items.length && nibbleAt(items[end]!.key, depth) === nibble) end++;
    yield [nibble, items.slice(start, end)];
    start = end;
  }
}

/** Applies changes (any order; the last change of a key wins) and returns the new root. */
export async function smtUpdate(store: NodeWriter, changes: SmtChange[]): Promise<Uint8Array> {
  const byKey = new Map<string, SmtChange>();
  for (const change of changes) byKey.set(hexKey(change.key), change);
  // Hex strings sort like the bytes they spell, without allocating per comparison.
  const sorted = [...byKey.keys()].sort().map((hex) => byKey.get(hex)!);
  const before = await readRoot(store);
  if (sorted.length === 0) return slotHash(before);
  const after = await updateSlot(store, 0, before, sorted);
  if (after.t === 'empty') store.del(ROOT_KEY);
  else store.put(ROOT_KEY, encodeRoot(after));
  return slotHash(after);
}

/** New content of the slot at page depth `depth` on the path of `changes` (sorted, sharing that path). */
async function updateSlot(store: NodeWriter, depth: number, current: Slot, changes: SmtChange[]): Promise<Slot> {
  const pathKey = changes[0]!.key;
  if (current.t !== 'page') {
    // No page is stored at or below an empty or leaf slot: build from the leaf set.
    const leaves: Leaf[] = [];
    if (current.t === 'leaf' && !changes.some((c) => bytesEqual(c.key, current.key))) leaves.push(current);
    for (const change of changes) if (change.valueHash) leaves.push(makeLeaf(change.key, change.valueHash));
    if (leaves.length > 1) leaves.sort((a, b) => Buffer.compare(a.key, b.key));
    return buildSlot(store, depth, leaves);
  }
  const slots = await loadPage(store, depth, pathKey);
  for (const [nibble, run] of nibbleRuns(changes, depth)) slots[nibble] = await updateSlot(store, depth + PAGE_BITS, slots[nibble]!, run);
  let occupied = 0;
  let last: Slot = EMPTY;
  for (const slot of slots) {
    if (slot.t === 'empty') continue;
    occupied++;
    last = slot;
  }
  if (occupied === 0 || (occupied === 1 && last.t === 'leaf')) {
    // Fewer than two keys left below: no page here; a lone leaf moves up into the parent's slot.
    store.del(pageKey(depth, pathKey));
    return last;
  }
  return storePage(store, depth, pathKey, slots);
}

/** The slot holding exactly `leaves` (sorted, sharing the path to `depth`), storing the pages it needs. */
function buildSlot(store: NodeWriter, depth: number, leaves: Leaf[]): Slot {
  if (leaves.length === 0) return EMPTY;
  if (leaves.length === 1) return leaves[0]!;
  const slots: Slot[] = new Array<Slot>(SLOTS).fill(EMPTY);
  for (const [nibble, run] of nibbleRuns(leaves, depth)) slots[nibble] = buildSlot(store, depth + PAGE_BITS, run);
  return storePage(store, depth, leaves[0]!.key, slots);
}

// ---- proofs ----

/** Proof of presence or absence of `key` under the current root: the binary siblings down its path. */
export async function smtProve(store: KvReader, key: Uint8Array): Promise<SmtProof> {
  const siblings: Uint8Array[] = [];
  let slot = await readRoot(store);
  for (let depth = 0; slot.t === 'page'; depth += PAGE_BITS) {
    const slots = await loadPage(store, depth, key);
    const nibble = nibbleAt(key, depth);
    // Walk the page's 4 binary levels while the node on the path holds two or more keys.
    let level = 0;
    for (; level < PAGE_BITS; level++) {
      const index = nibble >> (PAGE_BITS - level);
      const width = SLOTS >> level;
      const below = slots.slice(index * width, (index + 1) * width).filter((s) => s.t !== 'empty');
      if (below.length === 0 || (below.length === 1 && below[0]!.t === 'leaf')) break;
      const childIndex = nibble >> (PAGE_BITS - level - 1);
      siblings.push(regionHash(slots, level + 1, childIndex ^ 1));
    }
    if (level < PAGE_BITS) {
      // The path ends inside this page, at an empty node or a collapsed leaf.
      const width = SLOTS >> level;
      const index = nibble >> (PAGE_BITS - level);
      const leaf = slots.slice(index * width, (index + 1) * width).find((s) => s.t === 'leaf') as Leaf | undefined;
      return { siblings, terminal: leaf ? { key: leaf.key.slice(), valueHash: leaf.valueHash.slice() } : null };
    }
    slot = slots[nibble]!;
  }
  return { siblings, terminal: slot.t === 'leaf' ? { key: slot.key.slice(), valueHash: slot.valueHash.slice() } : null };
}

function sharesPrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let d = 0; d < bits; d++) if (bitAt(a, d) !== bitAt(b, d)) return false;
  return true;
}

/**
 * Checks a proof against a root. valueHash = the expected value's hash for an inclusion proof,
 * or null for an exclusion proof.
 */
export function smtVerify(root: Uint8Array, key: Uint8Array, valueHash: Uint8Array | null, proof: SmtProof): boolean {
  if (key.length !== 32 || proof.siblings.length > 256) return false;
  const { terminal, siblings } = proof;
  if (valueHash) {
    if (!terminal || !bytesEqual(terminal.key, key) || !bytesEqual(terminal.valueHash, valueHash)) return false;
  } else if (terminal) {
    if (bytesEqual(terminal.key, key) || !sharesPrefix(terminal.key, key, siblings.length)) return false;
  }
  let hash = terminal ? leafHash(terminal.key, terminal.valueHash) : ZERO_HASH;
  for (let depth = siblings.length - 1; depth >= 0; depth--) {
    const sibling = siblings[depth]!;
    if (sibling.length !== 32) return false;
    hash = bitAt(key, depth) ? hashPair(sibling, hash) : hashPair(hash, sibling);
  }
  return bytesEqual(hash, root);
}
