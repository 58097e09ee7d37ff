// An erasure-coded file's manifest comes back from a miner: hostile bytes until every field is
// checked. Parsed here against its schema (types, ranges, counts that agree with each other) before
// anything is fetched or allocated from it.
import { parseCid } from '../content/index.js';
import { ClientError } from './errors.js';
import type { FileManifest, StoredPiece } from './records.js';

/** The largest manifest read (a piece of a shard's miner: far above a real one). */
const MAX_MANIFEST_BYTES = 1 << 20;
const MAX_FILE_BYTES = 2 ** 40;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: Json | undefined, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;
const isHex32 = (v: Json | undefined): v is string => typeof v === 'string' && /^0x[0-9a-f]{64}$/.test(v);

function bad(why: string): never {
  throw new ClientError(`the manifest a miner served is not valid: ${why}`);
}

function piece(v: Json | undefined, where: string): StoredPiece {
  if (!isObject(v)) bad(`${where} is not an object`);
  const { pieceCommitment, pieceBytes, length, deal } = v;
  if (!isHex32(pieceCommitment)) bad(`${where}.pieceCommitment is not 32 bytes of lowercase 0x-hex`);
  if (!isUint(pieceBytes, 2 ** 36) || pieceBytes < 128 || (pieceBytes & (pieceBytes - 1)) !== 0) bad(`${where}.pieceBytes is not a power of two piece size`);
  if (!isUint(length) || length < 1 || length > pieceBytes) bad(`${where}.length is not within its piece`);
  if (!isUint(deal)) bad(`${where}.deal is not a deal id`);
  return { pieceCommitment, pieceBytes, length, deal };
}

/** The manifest in `bytes` (JSON, zero padding after it), checked field by field. */
export function parseManifest(bytes: Uint8Array): FileManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) bad(`larger than ${MAX_MANIFEST_BYTES} bytes`);
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let parsed: Json;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end))) as Json;
  } catch {
    bad('not JSON');
  }
  if (!isObject(parsed)) bad('not an object');
  const { format, name, size, sha256, cid, codec, shards } = parsed;
  if (format !== 'bcr-file/1') bad('format is not bcr-file/1');
  if (typeof name !== 'string' || name.length > 255) bad('name is not a string of at most 255 characters');
  if (!isUint(size, MAX_FILE_BYTES) || size < 1) bad('size is not a byte count');
  if (!isHex32(sha256)) bad('sha256 is not 32 bytes of 0x-hex');
  if (cid !== undefined) {
    if (typeof cid !== 'string') bad('cid is not a string');
    try {
      parseCid(cid);
    } catch {
      bad('cid is not a CID BCR serves');
    }
  }
  if (!isObject(codec) || codec.name !== 'reed-solomon-gf256') bad('codec is not reed-solomon-gf256');
  const { dataShards, parityShards, shardBytes } = codec;
  if (!isUint(dataShards, 32) || dataShards < 1 || !isUint(parityShards, 31) || dataShards + parityShards > 32) bad('the shard counts are not 1..32 in all');
  if (!isUint(shardBytes, MAX_FILE_BYTES) || shardBytes * dataShards < size || shardBytes > size) bad('shardBytes does not fit size');
  if (!Array.isArray(shards) || shards.length !== dataShards + parityShards) bad('shards does not list every shard');
  const seen = new Set<number>();
  const out: FileManifest['shards'] = shards.map((shard, i) => {
    if (!isObject(shard)) bad(`shard ${i} is not an object`);
    const { index, miner, pieces } = shard;
    if (!isUint(index, dataShards + parityShards - 1) || seen.has(index)) bad(`shard ${i} has a bad or repeated index`);
    seen.add(index);
    if (!isUint(miner, 2 ** 32)) bad(`shard ${i} names no miner`);
    if (!Array.isArray(pieces) || pieces.length < 1 || pieces.length > 4096) bad(`shard ${i} lists no pieces`);
    const list = pieces.map((p, j) => piece(p, `shards[${i}].pieces[${j}]`));
    if (list.reduce((sum, p) => sum + p.length, 0) !== shardBytes) bad(`shard ${i}'s pieces do not add up to shardBytes`);
    return { index, miner, pieces: list };
  });
  return { format, name, size, sha256, ...(cid !== undefined ? { cid } : {}), codec: { name: 'reed-solomon-gf256', dataShards, parityShards, shardBytes }, shards: out };
}
