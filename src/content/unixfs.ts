// Files and directories as UnixFS DAGs, with the ecosystem's own importer and exporter
// (ipfs-unixfs-importer/-exporter) under one fixed set of options, Kubo's `ipfs add --cid-version=1`
// (and Helia's @helia/unixfs defaults): CIDv1, raw leaves, 256 KiB fixed-size chunks, balanced
// layout with up to 174 links per node, directories sharded (HAMT) past 256 KiB of links. Anyone
// importing the same bytes with those options gets the same root CID. 256 KiB rather than IPIP-499's
// 1 MiB: a block and its CAR framing must fit one deal piece, and a devnet sector is 1 MiB. Blocks leave through a sink as they are made (nothing holds a whole
// file); blocks come back through a source that is verified against their CIDs before use.
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { exporter, type UnixFSEntry } from 'ipfs-unixfs-exporter';
import { importer, type ImportCandidate, type ImporterOptions } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { CID } from 'multiformats/cid';
import { ContentError, verifyBlock } from './cid.js';
import { writeFileContent } from './fileWriter.js';

/** The importer options every BCR client uses (the root CID depends on every one of them). */
export const UNIXFS_CHUNK_BYTES = 262_144;
export const UNIXFS_MAX_LINKS = 174;
const IMPORT_OPTIONS: ImporterOptions = {
  cidVersion: 1,
  rawLeaves: true,
  chunker: fixedSize({ chunkSize: UNIXFS_CHUNK_BYTES }),
  layout: balanced({ maxChildrenPerNode: UNIXFS_MAX_LINKS }),
  shardSplitThresholdBytes: 262_144,
  shardSplitStrategy: 'links-bytes',
};

/** Where imported blocks go, in the order they are made (leaves before their parents). */
export interface BlockSink {
  put(cid: CID, bytes: Uint8Array): Promise<void>;
}

/** Where blocks come from when a DAG is read back (possibly a liar: see verifiedSource). */
export interface BlockSource {
  get(cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
}

/** The importer's storage interface over a sink (it may hand a block over in pieces). */
function storage(sink: BlockSink) {
  return {
    async put(cid: CID, block: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> {
      await sink.put(cid, block instanceof Uint8Array ? block : await concat(block));
      return cid;
    },
  };
}

async function concat(parts: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const part of parts) chunks.push(part);
  return Buffer.concat(chunks);
}

/** The exporter's storage interface over a source, each block checked against its CID first. */
function readable(source: BlockSource) {
  return {
    async *get(cid: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
      const bytes = await source.get(cid, options);
      await verifyBlock(cid, bytes);
      yield bytes;
    },
  };
}

export interface ImportedRoot {
  cid: CID;
  /** Bytes of every block under the root (the DAG's cumulative size: content plus node overhead). */
  dagSize: bigint;
}

/** Imports bytes (or a byte stream) as one file. */
export async function importBytes(content: Uint8Array | AsyncIterable<Uint8Array>, sink: BlockSink): Promise<ImportedRoot> {
  let last: ImportedRoot | null = null;
  for await (const entry of importer([{ content }], storage(sink), IMPORT_OPTIONS)) last = { cid: entry.cid, dagSize: entry.size };
  return last!;
}

/** Imports a file, or a directory with everything under it (names relative to it), from disk. */
export async function importPath(path: string, sink: BlockSink): Promise<ImportedRoot & { directory: boolean }> {
  const info = await stat(path);
  if (!info.isDirectory()) return { ...(await importBytes(createReadStream(path, { highWaterMark: 1 << 20 }), sink)), directory: false };
  async function* candidates(dir: string): AsyncGenerator<ImportCandidate> {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const name = relative(path, full).split(sep).join('/');
      if (entry.isDirectory()) {
        // Directories come from their files' paths; only an empty one is named (naming every one
        // makes the importer emit an empty node first that nothing links to).
        if ((await readdir(full)).length === 0) yield { path: name };
        else yield* candidates(full);
      } else if (entry.isFile()) yield { path: name, content: createReadStream(full, { highWaterMark: 1 << 20 }) };
      // Symlinks, devices and sockets are not content: left out.
    }
  }
  let root: ImportedRoot | null = null;
  for await (const entry of importer(candidates(path), storage(sink), { ...IMPORT_OPTIONS, wrapWithDirectory: true })) if (entry.path === '') root = { cid: entry.cid, dagSize: entry.size };
  if (!root) throw new ContentError('BAD_CID', `nothing to import under ${path}`);
  return { ...root, directory: true };
}

/** A name from a DAG (hostile) that is safe as one path component. */
function safeName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) throw new ContentError('BLOCK_MISMATCH', `the DAG names an entry "${name}": not a safe file name`);
  return name;
}

/** Streams one file's bytes from a DAG, every block verified. */
export async function* fileContent(root: CID, source: BlockSource, options: { offset?: number; length?: number; signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
  const entry = await exporter(root, readable(source), options.signal ? { signal: options.signal } : {});
  if (entry.type === 'directory') throw new ContentError('BAD_CID', `${root} is a directory`);
  if (entry.type === 'object') throw new ContentError('UNSUPPORTED_CID', `${root} is not a file`);
  yield* entry.content({ ...(options.offset !== undefined ? { offset: options.offset } : {}), ...(options.length !== undefined ? { length: options.length } : {}), ...(options.signal ? { signal: options.signal } : {}) });
}

/**
 * Writes the file or directory `root` names to `out`, every block verified; returns bytes written.
 * `concurrency` blocks are read at once (siblings ahead of the one being written): what lets a source
 * spread them over many providers, and what bounds the memory held.
 */
export async function exportTo(root: CID, source: BlockSource, out: string, options: { signal?: AbortSignal; concurrency?: number } = {}): Promise<{ bytes: bigint; files: number; directory: boolean }> {
  // The exporter reads an entry's root to learn its type; the file writer then starts from it, not again.
  const recent = new Map<string, Uint8Array>();
  const remembering: BlockSource = {
    get: async (cid, getOptions) => {
      const bytes = await source.get(cid, getOptions);
      recent.set(cid.toString(), bytes);
      if (recent.size > 4) recent.delete(recent.keys().next().value!);
      return bytes;
    },
  };
  const rereading: BlockSource = { get: async (cid, getOptions) => recent.get(cid.toString()) ?? source.get(cid, getOptions) };
  const store = readable(remembering);
  const readOptions = { ...(options.signal ? { signal: options.signal } : {}), blockReadConcurrency: options.concurrency ?? 8 };
  const totals = { bytes: 0n, files: 0 };
  const walk = async (cid: CID, target: string, depth: number): Promise<boolean> => {
    if (depth > MAX_DEPTH) throw new ContentError('BLOCK_MISMATCH', `the DAG nests directories deeper than ${MAX_DEPTH}`);
    const entry = await exporter(cid, store, readOptions);
    if (entry.type !== 'directory') {
      totals.bytes += await writeEntry(entry, target, rereading, readOptions);
      totals.files++;
      return false;
    }
    await mkdir(target, { recursive: true });
    // Names come from the DAG: each is checked before it touches the disk.
    for await (const child of entry.entries(readOptions)) await walk(child.cid, join(target, safeName(child.name)), depth + 1);
    return true;
  };
  const directory = await walk(root, out, 0);
  return { ...totals, directory };
}

/** Directories nested deeper than this are refused (a hostile DAG could otherwise recurse without end). */
const MAX_DEPTH = 64;

async function writeEntry(entry: UnixFSEntry, path: string, source: BlockSource, options: { signal?: AbortSignal; blockReadConcurrency: number }): Promise<bigint> {
  if (entry.type === 'directory' || entry.type === 'object') throw new ContentError('UNSUPPORTED_CID', `${entry.cid} is not file content`);
  const handle = await open(path, 'w');
  try {
    let written = 0n;
    if (entry.type === 'file' || entry.type === 'raw') {
      written = await writeFileContent(entry.cid, source, handle, { readAhead: options.blockReadConcurrency, ...(options.signal ? { signal: options.signal } : {}) });
    } else {
      // An identity CID: its bytes are in the CID itself.
      for await (const chunk of entry.content(options)) {
        await handle.write(chunk);
        written += BigInt(chunk.length);
      }
    }
    await handle.sync();
    return written;
  } finally {
    await handle.close();
  }
}
