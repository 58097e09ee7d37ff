// A CAR cut into smaller CARs at block boundaries, each small enough for one deal piece and each
// naming the whole DAG's root in its header. Every stored piece is then a CAR of whole blocks that
// its miner indexes and serves on its own; no block straddles two pieces (two sectors).
import { open } from 'node:fs/promises';
import { CarWriter } from '@ipld/car/writer';
import { varint } from 'multiformats';
import { CID } from 'multiformats/cid';
import { ContentError } from './cid.js';

/** One shard: its header, then sections (varint, CID, block) copied from the source CAR. */
export interface CarShard {
  header: Uint8Array;
  /** Byte ranges of whole sections in the source CAR, in order. */
  sections: { offset: number; length: number }[];
  /** The shard's size: header plus sections. */
  bytes: number;
  blocks: number;
}

/** The header of a CAR (v1) with `roots` and no blocks yet. */
export async function carHeader(roots: CID[]): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create(roots);
  const reading = (async () => {
    const parts: Uint8Array[] = [];
    for await (const part of out) parts.push(part);
    return Buffer.concat(parts);
  })();
  await writer.close();
  return new Uint8Array(await reading);
}

/**
 * The sections of a CAR file, read by their heads alone (varint and CID; the block bytes are skipped):
 * memory stays flat however large the CAR. For a CAR this process wrote (its blocks are not re-hashed).
 */
async function carSections(path: string): Promise<{ cid: CID; offset: number; length: number; sectionOffset: number }[]> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = new Uint8Array(160);
    const readHead = async (at: number) => head.subarray(0, (await handle.read(head, 0, head.length, at)).bytesRead);
    const [headerLength, headerVarint] = varint.decode(await readHead(0));
    const sections = [];
    for (let at = headerVarint + headerLength; at < size; ) {
      const bytes = await readHead(at);
      const [length, lengthVarint] = varint.decode(bytes);
      let cid: CID;
      let rest: Uint8Array;
      try {
        [cid, rest] = CID.decodeFirst(bytes.subarray(lengthVarint));
      } catch (error) {
        throw new ContentError('BAD_CAR', `no CID at byte ${at}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const cidLength = bytes.length - lengthVarint - rest.length;
      if (length < cidLength || at + lengthVarint + length > size) throw new ContentError('BAD_CAR', `the section at byte ${at} runs past the end`);
      sections.push({ cid, offset: at + lengthVarint + cidLength, length: length - cidLength, sectionOffset: at });
      at += lengthVarint + length;
    }
    return sections;
  } finally {
    await handle.close();
  }
}

/**
 * Plans the shards of the CAR at `path` (made by this process, its root in the header): blocks in
 * their order, a new shard whenever the next section would take one past `maxBytes`.
 */
export async function planCarShards(path: string, root: CID, maxBytes: number): Promise<CarShard[]> {
  const header = await carHeader([root]);
  const blocks = await carSections(path);
  const shards: CarShard[] = [];
  let current: CarShard | null = null;
  for (const block of blocks) {
    // A section is the varint and the CID, then the block.
    const { sectionOffset } = block;
    const sectionLength = block.offset - sectionOffset + block.length;
    if (header.length + sectionLength > maxBytes) throw new ContentError('BAD_CAR', `block ${block.cid} (${block.length} bytes) does not fit a piece of ${maxBytes} bytes`);
    if (!current || current.bytes + sectionLength > maxBytes) {
      current = { header, sections: [], bytes: header.length, blocks: 0 };
      shards.push(current);
    }
    const last = current.sections[current.sections.length - 1];
    // Neighbouring sections are read as one range.
    if (last && last.offset + last.length === sectionOffset) last.length += sectionLength;
    else current.sections.push({ offset: sectionOffset, length: sectionLength });
    current.bytes += sectionLength;
    current.blocks++;
  }
  return shards;
}

/** Reads byte ranges of a shard (its header, then its sections from the source CAR file). */
export function carShardReader(path: string, shard: CarShard): { size: number; read(offset: number, length: number): Promise<Uint8Array> } {
  return {
    size: shard.bytes,
    async read(offset, length) {
      const out = new Uint8Array(Math.max(0, Math.min(length, shard.bytes - offset)));
      let filled = 0;
      // The header, then each section, mapped onto the requested window.
      const parts: { at: number; length: number; source: number | Uint8Array }[] = [{ at: 0, length: shard.header.length, source: shard.header }];
      let at = shard.header.length;
      for (const section of shard.sections) {
        parts.push({ at, length: section.length, source: section.offset });
        at += section.length;
      }
      const handle = await open(path, 'r');
      try {
        for (const part of parts) {
          const from = Math.max(offset, part.at);
          const to = Math.min(offset + out.length, part.at + part.length);
          if (from >= to) continue;
          if (part.source instanceof Uint8Array) out.set(part.source.subarray(from - part.at, to - part.at), from - offset);
          else await handle.read(out, from - offset, to - from, part.source + (from - part.at));
          filled += to - from;
        }
      } finally {
        await handle.close();
      }
      return out.subarray(0, filled);
    },
  };
}
