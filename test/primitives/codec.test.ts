import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { Packr } from 'msgpackr';
import { CodecError, amount, bool, bytes, decode, encode, list, optional, str, struct, uint, varBytes } from '../../src/primitives/index.js';

const sample = struct({
  n: uint(),
  small: uint(1000),
  value: amount(),
  id: bytes(4),
  data: varBytes(16),
  name: str(12),
  flag: bool(),
  items: list(uint(), 5),
  maybe: optional(bytes(2)),
});

const arbSample = fc.record({
  n: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  small: fc.nat({ max: 1000 }),
  value: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
  id: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  data: fc.uint8Array({ maxLength: 16 }),
  name: fc.string({ maxLength: 12 }).filter((s) => Buffer.byteLength(s) <= 12),
  flag: fc.boolean(),
  items: fc.array(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { maxLength: 5 }),
  maybe: fc.option(fc.uint8Array({ minLength: 2, maxLength: 2 }), { nil: null }),
});

const raw = new Packr({ useRecords: false, moreTypes: false });

describe('canonical codec', () => {
  test.prop([arbSample])('decode(encode(x)) == x and encode(decode(b)) == b', (value) => {
    const bytes1 = encode(sample, value);
    const decoded = decode(sample, bytes1);
    expect(decoded).toEqual(value);
    expect(encode(sample, decoded)).toEqual(bytes1);
  });

  test.prop([arbSample, fc.nat(), fc.integer({ min: 1, max: 255 })])(
    'any accepted mutation re-encodes to itself (no second encoding of a value)',
    (value, position, xor) => {
      const good = encode(sample, value);
      const bad = good.slice();
      const at = position % bad.length;
      bad[at] = bad[at]! ^ xor;
      let decoded;
      try {
        decoded = decode(sample, bad);
      } catch (error) {
        expect(error).toBeInstanceOf(CodecError);
        return;
      }
      expect(encode(sample, decoded)).toEqual(bad);
    },
  );

  test.prop([arbSample, fc.uint8Array({ minLength: 1, maxLength: 8 })])('trailing bytes are rejected', (value, extra) => {
    const good = encode(sample, value);
    const withTrailing = new Uint8Array([...good, ...extra]);
    expect(() => decode(sample, withTrailing)).toThrow(CodecError);
  });

  test.prop([arbSample])('truncated input is rejected', (value) => {
    const good = encode(sample, value);
    for (const cut of [1, Math.floor(good.length / 2)]) {
      expect(() => decode(sample, good.subarray(0, good.length - cut))).toThrow(CodecError);
    }
  });

  const fields = sample.fields;
  const wireOf = (value: Parameters<typeof sample.toWire>[0]) => sample.toWire(value) as unknown[];
  const base = { n: 1, small: 2, value: 3n, id: new Uint8Array(4), data: new Uint8Array(0), name: 'x', flag: true, items: [], maybe: null };

  test('extra and missing fields are rejected', () => {
    expect(() => decode(sample, raw.pack([...wireOf(base), 1]))).toThrow(/expected 9 fields/);
    expect(() => decode(sample, raw.pack(wireOf(base).slice(0, fields.length - 1)))).toThrow(/expected 9 fields/);
  });

  test('wrong types are rejected with the field path', () => {
    const wire = wireOf(base);
    wire[0] = 'one';
    expect(() => decode(sample, raw.pack(wire), 'sample')).toThrow(/sample\.n: expected unsigned integer/);
    const wire2 = wireOf(base);
    wire2[3] = new Uint8Array(5);
    expect(() => decode(sample, raw.pack(wire2), 'sample')).toThrow(/sample\.id: expected 4 bytes/);
    const wire3 = wireOf(base);
    wire3[0] = 1.5;
    expect(() => decode(sample, raw.pack(wire3))).toThrow(CodecError);
    expect(() => decode(sample, raw.pack({ a: 1 }))).toThrow(CodecError);
  });

  test('oversize values are rejected', () => {
    const wire = wireOf(base);
    wire[1] = 1001;
    expect(() => decode(sample, raw.pack(wire))).toThrow(/above maximum 1000/);
    const wire2 = wireOf(base);
    wire2[4] = new Uint8Array(17);
    expect(() => decode(sample, raw.pack(wire2))).toThrow(/above maximum 16/);
    const wire3 = wireOf(base);
    wire3[7] = [1, 2, 3, 4, 5, 6];
    expect(() => decode(sample, raw.pack(wire3))).toThrow(/above maximum 5/);
    const wire4 = wireOf(base);
    wire4[2] = new Uint8Array(33).fill(1);
    expect(() => decode(sample, raw.pack(wire4))).toThrow(/longer than 32 bytes/);
  });

  test('non-minimal forms are rejected', () => {
    const wire = wireOf(base);
    wire[2] = new Uint8Array([0, 3]);
    expect(() => decode(sample, raw.pack(wire))).toThrow(/leading zero/);
    // 5 as a 2-byte uint16 (0xcd 0x00 0x05) instead of a positive fixint.
    const canonical = encode(struct({ v: uint() }), { v: 5 });
    expect(Array.from(canonical)).toEqual([0x91, 0x05]);
    expect(() => decode(struct({ v: uint() }), new Uint8Array([0x91, 0xcd, 0x00, 0x05]))).toThrow(/non-canonical/);
  });

  test('oversize input is rejected before parsing', () => {
    expect(() => decode(sample, new Uint8Array(100), 'x', 50)).toThrow(/above maximum 50/);
  });
});
