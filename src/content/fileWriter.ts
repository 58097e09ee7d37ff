// A UnixFS file's bytes written to disk in order, straight from its DAG: each node's links read in
// order with a bounded window of blocks fetched ahead (what lets a source spread them over several
// providers), every block checked against its CID. Memory stays at the window however large the
// file: the exporter's own reader walks the DAG ahead of its consumer without a bound.
import type { FileHandle } from 'node:fs/promises';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import type { CID } from 'multiformats/cid';
import { ContentError, DAG_PB_CODE, verifyBlock } from './cid.js';
import type { BlockSource } from './unixfs.js';

const RAW_CODE = 0x55;
/** Nesting past this is refused (a balanced file of 174 links per node needs 6 levels for 2^40 bytes). */
const MAX_DEPTH = 32;

/** Writes the file `root` names to `handle` from its start; returns the bytes written. */
export async function writeFileContent(root: CID, source: BlockSource, handle: FileHandle, options: { readAhead?: number; signal?: AbortSignal } = {}): Promise<bigint> {
  const readAhead = Math.max(1, options.readAhead ?? 8);
  const getOptions = options.signal ? { signal: options.signal } : {};
  const fetchBlock = async (cid: CID): Promise<Uint8Array> => {
    const bytes = await source.get(cid, getOptions);
    await verifyBlock(cid, bytes);
    return bytes;
  };
  let written = 0n;
  let declared: bigint | null = null;
  const write = async (bytes: Uint8Array) => {
    written += BigInt(bytes.length);
    // A DAG that links one subtree many times could expand far past the size its root declares.
    if (declared !== null && written > declared) throw new ContentError('BLOCK_MISMATCH', `the file's DAG holds more than the ${declared} bytes its root declares`);
    await handle.write(bytes);
  };
  const visit = async (cid: CID, bytes: Uint8Array, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new ContentError('BLOCK_MISMATCH', `the file's DAG is deeper than ${MAX_DEPTH} levels`);
    if (cid.code === RAW_CODE) return write(bytes);
    if (cid.code !== DAG_PB_CODE) throw new ContentError('UNSUPPORTED_CID', `${cid} is not file content`);
    let node: dagPb.PBNode;
    let unixfs: UnixFS;
    try {
      node = dagPb.decode(bytes);
      unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array(0));
    } catch (error) {
      throw new ContentError('BLOCK_MISMATCH', `block ${cid} is not a UnixFS node: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (unixfs.type !== 'file' && unixfs.type !== 'raw') throw new ContentError('UNSUPPORTED_CID', `${cid} is a ${unixfs.type}, not a file`);
    if (declared === null) declared = unixfs.fileSize();
    if (unixfs.data && unixfs.data.length > 0) await write(unixfs.data);
    // Children in order, up to `readAhead` of them on their way at once.
    const links = node.Links.map((l) => l.Hash);
    const pending: Promise<Uint8Array>[] = [];
    let next = 0;
    const fill = () => {
      while (next < links.length && pending.length < readAhead) {
        const fetching = fetchBlock(links[next++]!);
        fetching.catch(() => undefined); // raised when its turn comes
        pending.push(fetching);
      }
    };
    for (let i = 0; i < links.length; i++) {
      fill();
      const child = await pending.shift()!;
      fill();
      await visit(links[i]!, child, depth + 1);
    }
  };
  await visit(root, await fetchBlock(root), 0);
  if (declared !== null && written !== declared) throw new ContentError('BLOCK_MISMATCH', `the file's DAG holds ${written} bytes, its root declares ${declared}`);
  return written;
}
