// Compact sparse Merkle tree over 256-bit hashed keys: the authenticated state (stateRoot).
// A subtree with one leaf is that leaf (collapsed), an empty subtree hashes to zero, an inner node is
// sha256(left || right). The shape depends only on the set of (key, valueHash), never on history, so
// undoing writes restores the exact earlier root. Nodes are stored by position (depth + key prefix),
// so an update rewrites only the paths of the keys it changes: cost O(changed keys * log n).
import { bytesEqual, compareBytes, concatBytes, hashPair, hexKey, keyString, sha256 } from '../primitives/index.js';
import type { KvReader } from './kv.js';

export const ZERO_HASH = new Uint8Array(32);
export const SMT_NODE_PREFIX = 0x11;

type EmptyNode = { readonly t: 'empty' };
type LeafNode = { readonly t: 'leaf'; readonly key: Uint8Array; readonly valueHash: Uint8Array; readonly hash: Uint8Array };
/** `children`: bit 0 set if the left subtree is non-empty, bit 1 for the right: empty children are never read. */
type InnerNode = { readonly t: 'inner'; readonly hash: Uint8Array; readonly children: number };
export type SmtNode = EmptyNode | LeafNode | InnerNode;

const EMPTY: EmptyNode = { t: 'empty' };

export interface SmtChange {
  key: Uint8Array;
  /** null deletes the key. */
  valueHash: Uint8Array | null;
}

export interface NodeWriter extends KvReader {
  put(key: Uint8Array, value: Uint8Array, hex?: string): void;
  del(key: Uint8Array, hex?: string): void;
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

function withBit(key: Uint8Array, depth: number, bit: number): Uint8Array {
  const out = key.slice();
  const mask = 1 << (7 - (depth & 7));
  out[depth >> 3] = bit ? (out[depth >> 3] as number) | mask : (out[depth >> 3] as number) & ~mask;
  return out;
}

/** Storage key of the position at `depth` on the path of `key`: prefix byte, depth (2 bytes), masked prefix. */
function positionKey(depth: number, key: Uint8Array): Uint8Array {
  const prefixBytes = (depth + 7) >> 3;
  const out = new Uint8Array(3 + prefixBytes);
  out[0] = SMT_NODE_PREFIX;
  out[1] = depth >> 8;
  out[2] = depth & 0xff;
  for (let i = 0; i < prefixBytes; i++) out[3 + i] = key[i] as number;
  if (depth & 7) out[2 + prefixBytes] = (out[2 + prefixBytes] as number) & (0xff << (8 - (depth & 7)));
  return out;
}

function encodeNode(node: LeafNode | InnerNode): Uint8Array {
  if (node.t === 'inner') {
    const out = new Uint8Array(34);
    out[0] = 2;
    out[1] = node.children;
    out.set(node.hash, 2);
    return out;
  }
  const out = new Uint8Array(97);
  out[0] = 1;
  out.set(node.key, 1);
  out.set(node.valueHash, 33);
  out.set(node.hash, 65);
  return out;
}

function decodeNode(bytes: Uint8Array | undefined): SmtNode {
  if (!bytes) return EMPTY;
  if (bytes[0] === 2 && bytes.length === 34) return { t: 'inner', children: bytes[1] as number, hash: bytes.subarray(2, 34) };
  if (bytes[0] === 1 && bytes.length === 97) {
    return { t: 'leaf', key: bytes.subarray(1, 33), valueHash: bytes.subarray(33, 65), hash: bytes.subarray(65, 97) };
  }
  throw new Error('corrupt SMT node in store');
}

function nodeHash(node: SmtNode): Uint8Array {
  return node.t === 'empty' ? ZERO_HASH : node.hash;
}

function makeLeaf(key: Uint8Array, valueHash: Uint8Array): LeafNode {
  return { t: 'leaf', key, valueHash, hash: leafHash(key, valueHash) };
}

async function readNode(store: KvReader, depth: number, key: Uint8Array): Promise<SmtNode> {
  const position = positionKey(depth, key);
  const id = keyString(position);
  // Most nodes an update visits are in memory: no promise round trip for those.
  const known = store.peek?.(id);
  return decodeNode(known !== undefined ? (known ?? undefined) : await store.get(position, id));
}

export async function smtRoot(store: KvReader): Promise<Uint8Array> {
  return nodeHash(await readNode(store, 0, ZERO_HASH));
}

/** Applies changes (any order; the last change of a key wins) and returns the new root. */
export async function smtUpdate(store: NodeWriter, changes: SmtChange[]): Promise<Uint8Array> {
  const byKey = new Map<string, SmtChange>();
  for (const change of changes) byKey.set(hexKey(change.key), change);
  // Hex strings sort like the bytes they spell, without allocating per comparison.
  const sorted = [...byKey.keys()].sort().map((hex) => byKey.get(hex)!);
  if (sorted.length === 0) return smtRoot(store);
  const root = await readNode(store, 0, ZERO_HASH);
  return nodeHash(await updateAt(store, 0, sorted[0]!.key, root, sorted));
}

async function updateAt(store: NodeWriter, depth: number, pathKey: Uint8Array, current: SmtNode, changes: SmtChange[]): Promise<SmtNode> {
  if (current.t !== 'inner') {
    // Nothing is stored below an empty or leaf position: rebuild this subtree from its leaf set.
    const leaves: LeafNode[] = [];
    const overridden = current.t === 'leaf' && changes.some((c) => bytesEqual(c.key, current.key));
    if (current.t === 'leaf' && !overridden) leaves.push(current);
    for (const change of changes) if (change.valueHash) leaves.push(makeLeaf(change.key, change.valueHash));
    leaves.sort((a, b) => compareBytes(a.key, b.key));
    return build(store, depth, pathKey, leaves, current.t !== 'empty');
  }
  const split = partition(changes, depth);
  // A side's changes share its path; only an unchanged side needs a path key made for it.
  const keys = [split[0][0]?.key ?? withBit(pathKey, depth, 0), split[1][0]?.key ?? withBit(pathKey, depth, 1)] as const;
  const children: SmtNode[] = [];
  for (const side of [0, 1] as const) {
    const existing = current.children & (1 << side) ? await readNode(store, depth + 1, keys[side]) : EMPTY;
    const sideChanges = split[side];
    children.push(sideChanges.length ? await updateAt(store, depth + 1, keys[side], existing, sideChanges) : existing);
  }
  const [left, right] = children as [SmtNode, SmtNode];
  const here = positionKey(depth, pathKey);
  if (left.t === 'empty' && right.t === 'empty') {
    store.del(here);
    return EMPTY;
  }
  const lone = left.t === 'empty' ? right : right.t === 'empty' ? left : null;
  if (lone && lone.t === 'leaf') {
    // Collapse: the only leaf below moves up to this position.
    store.del(positionKey(depth + 1, lone.key));
    store.put(here, encodeNode(lone));
    return lone;
  }
  const inner = makeInner(left, right);
  store.put(here, encodeNode(inner));
  return inner;
}

function makeInner(left: SmtNode, right: SmtNode): InnerNode {
  const children = (left.t === 'empty' ? 0 : 1) | (right.t === 'empty' ? 0 : 2);
  return { t: 'inner', hash: hashPair(nodeHash(left), nodeHash(right)), children };
}

function partition(changes: SmtChange[], depth: number): [SmtChange[], SmtChange[]] {
  const sides: [SmtChange[], SmtChange[]] = [[], []];
  for (const change of changes) sides[bitAt(change.key, depth)].push(change);
  return sides;
}

function build(store: NodeWriter, depth: number, pathKey: Uint8Array, leaves: LeafNode[], occupied: boolean): SmtNode {
  const here = positionKey(depth, pathKey);
  if (leaves.length === 0) {
    if (occupied) store.del(here);
    return EMPTY;
  }
  if (leaves.length === 1) {
    const leaf = leaves[0]!;
    store.put(here, encodeNode(leaf));
    return leaf;
  }
  const left = leaves.filter((leaf) => bitAt(leaf.key, depth) === 0);
  const right = leaves.filter((leaf) => bitAt(leaf.key, depth) === 1);
  // An empty side stores nothing, so its path key is never read.
  const l = build(store, depth + 1, left[0]?.key ?? pathKey, left, false);
  const r = build(store, depth + 1, right[0]?.key ?? pathKey, right, false);
  const inner = makeInner(l, r);
  store.put(here, encodeNode(inner));
  return inner;
}

/** Proof of presence or absence of `key` under the current root. */
export async function smtProve(store: KvReader, key: Uint8Array): Promise<SmtProof> {
  const siblings: Uint8Array[] = [];
  let node = await readNode(store, 0, key);
  let depth = 0;
  while (node.t === 'inner') {
    const side = bitAt(key, depth);
    const sibling = node.children & (1 << (side ^ 1)) ? await readNode(store, depth + 1, withBit(key, depth, side ^ 1)) : EMPTY;
    siblings.push(nodeHash(sibling));
    node = node.children & (1 << side) ? await readNode(store, depth + 1, key) : EMPTY;
    depth++;
  }
  return { siblings, terminal: node.t === 'leaf' ? { key: node.key.slice(), valueHash: node.valueHash.slice() } : null };
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
