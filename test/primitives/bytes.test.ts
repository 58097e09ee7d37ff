import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { compareBytes, hexKey, keyString } from '../../src/primitives/index.js';

describe('keyString', () => {
  test.prop([fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 80 })])('is one-to-one and sorts like the bytes (as hexKey does)', (a, b) => {
    expect(keyString(a) === keyString(b)).toBe(compareBytes(a, b) === 0);
    expect(Math.sign(keyString(a) < keyString(b) ? -1 : keyString(a) > keyString(b) ? 1 : 0)).toBe(Math.sign(compareBytes(a, b)));
    expect(keyString(a).length).toBe(a.length);
    expect(hexKey(a) === hexKey(b)).toBe(keyString(a) === keyString(b));
  });

  test.prop([fc.uint8Array({ minLength: 4, maxLength: 40 }), fc.nat({ max: 3 })])('reads a view at its own offset', (bytes, offset) => {
    expect(keyString(bytes.subarray(offset))).toBe(keyString(bytes.slice(offset)));
  });
});
