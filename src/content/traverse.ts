// The blocks of a DAG in depth-first order, as the IPFS trustless gateway's CAR responses carry them:
// every block once (dups=n), for one of three scopes. `block`: the root alone. `entity`: what it takes
// to read the root as one thing: a file's blocks (or only those holding a byte range), a directory's
// own nodes (HAMT shards included) without its children. `all`: everything reachable.
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import type { CID } from 'multiformats/cid';
import { ContentError, DAG_PB_CODE } from './cid.js';

export type DagScope = 'block' | 'entity' | 'all';

/** A byte range of a file, `to` inclusive, either end possibly counted from the end (negative) or open (null). */
export interface EntityBytes {
  from: number;
  to: number | null;
}

export type GetBlock = (cid: CID) => Promise<Uint8Array>;

/** Parses `entity-bytes=from:to` (`to` may be `*`; either may be negative, counted from the end). */
export function parseEntityBytes(text: string): EntityBytes {
  const match = /^(-?\d{1,15}):(-?\d{1,15}|\*)$/.exec(text);
  if (!match) throw new ContentError('BAD_CID', `entity-bytes must be FROM:TO (integers, TO may be *), got "${text}"`);
  return { from: Number(match[1]), to: match[2] === '*' ? null : Number(match[2]) };
}

/** The inclusive [first, last] byte indexes a range covers in a file of `size` bytes, or null when empty. */
export function resolveRange(range: EntityBytes, size: number): [number, number] | null {
  const first = range.from < 0 ? Math.max(0, size + range.from) : range.from;
  const last = range.to === null ? size - 1 : range.to < 0 ? size + range.to : Math.min(range.to, size - 1);
  return first > last || first >= size ? null : [first, last];
}

/** Every block of the scope, in DFS order, each once; `get` is asked for each in turn. */
export async function* dagBlocks(root: CID, get: GetBlock, scope: DagScope, range: EntityBytes | null = null): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const seen = new Set<string>();
  const visited = new Set<string>();
  // Read-ahead: the next few siblings are asked for while this one is being sent, so that reading
  // (and checking) a block overlaps with writing the one before.
  const ahead = new Map<string, Promise<Uint8Array>>();
  const fetchBlock = (cid: CID): Promise<Uint8Array> => {
    const key = cid.toString();
    const pending = ahead.get(key);
    if (pending) {
      ahead.delete(key);
      return pending;
    }
    return get(cid);
  };
  const readAhead = (cids: CID[]) => {
    for (const cid of cids.slice(0, READ_AHEAD)) {
      const key = cid.toString();
      if (ahead.has(key) || seen.has(key)) continue;
      const pending = get(cid);
      pending.catch(() => undefined); // awaited (and its error raised) when its turn comes
      ahead.set(key, pending);
    }
  };
  async function* visit(cid: CID, window: [number, number] | null, depth: number): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
    if (depth > MAX_DEPTH) throw new ContentError('BLOCK_MISMATCH', `the DAG is deeper than ${MAX_DEPTH} levels`);
    // A block already visited (for the same byte window) has had its whole subtree sent: a DAG that
    // links one node many times is walked once, not once per path (which could be 2^depth).
    const visitKey = window ? `${cid}@${window[0]}-${window[1]}` : cid.toString();
    if (visited.has(visitKey)) return;
    visited.add(visitKey);
    const key = cid.toString();
    const bytes = await fetchBlock(cid);
    if (!seen.has(key)) {
      seen.add(key);
      yield { cid, bytes };
    }
    if (scope === 'block' || cid.code !== DAG_PB_CODE) return;
    const node = decodeNode(cid, bytes);
    const unixfs = node.Data ? decodeUnixFs(node.Data) : null;
    const isFile = unixfs !== null && (unixfs.type === 'file' || unixfs.type === 'raw');
    if (scope === 'entity' && !isFile) {
      // A directory is its own nodes: a plain one is one block; a sharded one (HAMT) is its shards,
      // whose links are either further shards (a bare hex prefix as name: followed) or entries (not).
      if (unixfs?.type !== 'hamt-sharded-directory') return;
      const prefixLength = (Number(unixfs.fanout ?? 256n) - 1).toString(16).length;
      for (const link of node.Links) if ((link.Name ?? '').length === prefixLength) yield* visit(link.Hash, null, depth + 1);
      return;
    }
    if (isFile && window && unixfs) {
      // Only the children whose bytes overlap the window (their sizes are in blockSizes, in order).
      let start = 0;
      for (const [i, link] of node.Links.entries()) {
        const size = Number(unixfs.blockSizes[i] ?? 0n);
        const end = start + size - 1;
        if (end >= window[0] && start <= window[1]) yield* visit(link.Hash, [Math.max(0, window[0] - start), Math.min(size - 1, window[1] - start)], depth + 1);
        start += size;
      }
      return;
    }
    for (const [i, link] of node.Links.entries()) {
      readAhead(node.Links.slice(i + 1, i + 1 + READ_AHEAD).map((l) => l.Hash));
      yield* visit(link.Hash, null, depth + 1);
    }
  }
  let window: [number, number] | null = null;
  if (scope === 'entity' && range) {
    const rootBytes = await get(root);
    const size = root.code === DAG_PB_CODE ? fileSize(root, rootBytes) : rootBytes.length;
    window = size === null ? null : resolveRange(range, size);
    if (size !== null && window === null) {
      // An empty range: the root block alone says so.
      yield { cid: root, bytes: rootBytes };
      return;
    }
  }
  yield* visit(root, window, 0);
}

/** Blocks asked for ahead of the one being sent. */
const READ_AHEAD = 8;

/** Nesting past this is refused: a hostile DAG could otherwise recurse without end. */
const MAX_DEPTH = 256;

function decodeNode(cid: CID, bytes: Uint8Array): dagPb.PBNode {
  try {
    return dagPb.decode(bytes);
  } catch (error) {
    throw new ContentError('BLOCK_MISMATCH', `block ${cid} is not dag-pb: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function decodeUnixFs(data: Uint8Array): UnixFS | null {
  try {
    return UnixFS.unmarshal(data);
  } catch {
    return null; // dag-pb that is not UnixFS: its links are still followed
  }
}

/** A UnixFS file's size from its root node, or null when the root is not a file. */
function fileSize(cid: CID, bytes: Uint8Array): number | null {
  const node = decodeNode(cid, bytes);
  const unixfs = node.Data ? decodeUnixFs(node.Data) : null;
  if (!unixfs || (unixfs.type !== 'file' && unixfs.type !== 'raw')) return null;
  return Number(unixfs.fileSize());
}
