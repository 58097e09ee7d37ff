import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ClientError, parseManifest, type FileManifest } from '../../src/client/index.js';

const hex = (byte: string) => `0x${byte.repeat(64)}`;
const good: FileManifest = {
  format: 'bcr-file/1',
  name: 'photo.jpg',
  size: 1000,
  sha256: hex('a'),
  cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
  codec: { name: 'reed-solomon-gf256', dataShards: 2, parityShards: 1, shardBytes: 504 },
  shards: [0, 1, 2].map((index) => ({ index, miner: index + 1, pieces: [{ pieceCommitment: hex('b'), pieceBytes: 512, length: 504, deal: 7 + index }] })),
};
const bytes = (value: unknown, padding = 0) => {
  const json = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(json.length + padding);
  out.set(json);
  return out;
};

describe('parseManifest', () => {
  it('takes a well-formed manifest (zero padding after it) and gives it back as it was', () => {
    expect(parseManifest(bytes(good, 300))).toEqual(good);
  });

  it('names the field that is wrong', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...good, format: 'bcr-file/2' }, /format/],
      [{ ...good, size: -1 }, /size/],
      [{ ...good, cid: 'not-a-cid' }, /cid/],
      [{ ...good, codec: { ...good.codec, dataShards: 40 } }, /shard counts/],
      [{ ...good, codec: { ...good.codec, shardBytes: 10 } }, /shardBytes/],
      [{ ...good, shards: good.shards.slice(1) }, /every shard/],
      [{ ...good, shards: good.shards.map((s) => ({ ...s, index: 0 })) }, /repeated index/],
      [{ ...good, shards: good.shards.map((s) => ({ ...s, pieces: [{ ...s.pieces[0], pieceBytes: 500 }] })) }, /power of two/],
      [{ ...good, shards: good.shards.map((s) => ({ ...s, pieces: [{ ...s.pieces[0], length: 100 }] })) }, /add up/],
      [[1, 2], /not an object/],
    ];
    for (const [value, why] of cases) expect(() => parseManifest(bytes(value))).toThrow(why);
    expect(() => parseManifest(new Uint8Array([0xff, 0xfe]))).toThrow(/not JSON/);
  });

  test.prop([fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.jsonValue().map((v) => bytes(v)), fc.anything().map((v) => bytes({ ...good, ...(typeof v === 'object' && v !== null ? v : { size: v }) })))])('refuses hostile bytes with a ClientError and nothing else', (input) => {
    try {
      parseManifest(input);
    } catch (error) {
      expect(error).toBeInstanceOf(ClientError);
    }
  });
});
