// Canonical msgpack codec: every hashed or signed object is a fixed-order array described by a schema.
// Decoding is strict (types, sizes, field count) and then proves canonicality by re-encoding: the only
// accepted bytes for a value are the bytes our encoder writes for it.
import { Packr } from 'msgpackr';
import { bigintToBytes, bytesEqual, bytesToBigint } from './bytes.js';
import { BcrError } from './errors.js';

export type Wire = number | bigint | Uint8Array | string | boolean | null | Wire[];

/** What a field is on the wire, for tools that read codecs (docs, fuzzers); decoding never uses it. */
export type FieldSchema =
  | { type: 'uint'; max: number }
  | { type: 'amount'; maxBytes: number }
  | { type: 'bytes'; length: number }
  | { type: 'varBytes'; maxLength: number }
  | { type: 'str'; maxBytes: number }
  | { type: 'bool' }
  | { type: 'list'; item: FieldSchema; maxItems: number }
  | { type: 'optional'; inner: FieldSchema }
  | { type: 'struct'; fields: readonly { name: string; schema: FieldSchema }[] };

export interface Field<T> {
  readonly schema: FieldSchema;
  toWire(value: T): Wire;
  fromWire(wire: unknown, path: string): T;
}

export type Infer<F> = F extends Field<infer T> ? T : never;

export class CodecError extends BcrError<'MALFORMED'> {
  constructor(message: string, path: string) {
    super('MALFORMED', `${path}: ${message}`, { path });
  }
}

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'bigint', mapsAsObjects: false });
const U32_MAX = 0xffff_ffff;

function fail(path: string, message: string): never {
  throw new CodecError(message, path);
}

function isBytes(wire: unknown): wire is Uint8Array {
  return wire instanceof Uint8Array;
}

/** Non-negative safe integer (heights, slots, nonces, gas). Values above 2^32 travel as msgpack int64. */
export function uint(max: number = Number.MAX_SAFE_INTEGER): Field<number> {
  return {
    schema: { type: 'uint', max },
    toWire(value) {
      if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new RangeError(`uint out of range: ${value}`);
      return value <= U32_MAX ? value : BigInt(value);
    },
    fromWire(wire, path) {
      let value: number;
      if (typeof wire === 'number') value = wire;
      else if (typeof wire === 'bigint') {
        if (wire > BigInt(Number.MAX_SAFE_INTEGER)) fail(path, 'integer too large');
        value = Number(wire);
      } else fail(path, `expected unsigned integer, got ${describe(wire)}`);
      if (!Number.isSafeInteger(value) || value < 0) fail(path, `expected unsigned integer, got ${value}`);
      if (value > max) fail(path, `integer ${value} above maximum ${max}`);
      return value;
    },
  };
}

/** Unsigned bigint (atto amounts, power) as minimal big-endian bytes: zero is empty, no leading zero byte. */
export function amount(maxBytes = 32): Field<bigint> {
  return {
    schema: { type: 'amount', maxBytes },
    toWire(value) {
      if (typeof value !== 'bigint' || value < 0n) throw new RangeError(`amount must be a non-negative bigint`);
      const bytes = bigintToBytes(value);
      if (bytes.length > maxBytes) throw new RangeError(`amount exceeds ${maxBytes} bytes`);
      return bytes;
    },
    fromWire(wire, path) {
      if (!isBytes(wire)) fail(path, `expected amount bytes, got ${describe(wire)}`);
      if (wire.length > maxBytes) fail(path, `amount longer than ${maxBytes} bytes`);
      if (wire.length > 0 && wire[0] === 0) fail(path, 'amount has a leading zero byte');
      return bytesToBigint(wire);
    },
  };
}

export function bytes(length: number): Field<Uint8Array> {
  return {
    schema: { type: 'bytes', length },
    toWire(value) {
      if (!(value instanceof Uint8Array) || value.length !== length) throw new RangeError(`expected ${length} bytes`);
      return value;
    },
    fromWire(wire, path) {
      if (!isBytes(wire)) fail(path, `expected ${length} bytes, got ${describe(wire)}`);
      if (wire.length !== length) fail(path, `expected ${length} bytes, got ${wire.length}`);
      return new Uint8Array(wire);
    },
  };
}

export function varBytes(maxLength: number): Field<Uint8Array> {
  return {
    schema: { type: 'varBytes', maxLength },
    toWire(value) {
      if (!(value instanceof Uint8Array) || value.length > maxLength) throw new RangeError(`expected at most ${maxLength} bytes`);
      return value;
    },
    fromWire(wire, path) {
      if (!isBytes(wire)) fail(path, `expected bytes, got ${describe(wire)}`);
      if (wire.length > maxLength) fail(path, `${wire.length} bytes above maximum ${maxLength}`);
      return new Uint8Array(wire);
    },
  };
}

export function str(maxBytes: number): Field<string> {
  return {
    schema: { type: 'str', maxBytes },
    toWire(value) {
      if (typeof value !== 'string' || Buffer.byteLength(value) > maxBytes) throw new RangeError(`string above ${maxBytes} bytes`);
      return value;
    },
    fromWire(wire, path) {
      if (typeof wire !== 'string') fail(path, `expected string, got ${describe(wire)}`);
      if (Buffer.byteLength(wire) > maxBytes) fail(path, `string above ${maxBytes} bytes`);
      return wire;
    },
  };
}

export function bool(): Field<boolean> {
  return {
    schema: { type: 'bool' },
    toWire: (value) => value,
    fromWire(wire, path) {
      if (typeof wire !== 'boolean') fail(path, `expected boolean, got ${describe(wire)}`);
      return wire;
    },
  };
}

export function list<T>(item: Field<T>, maxItems: number): Field<T[]> {
  return {
    schema: { type: 'list', item: item.schema, maxItems },
    toWire(values) {
      if (values.length > maxItems) throw new RangeError(`list above ${maxItems} items`);
      return values.map((v) => item.toWire(v));
    },
    fromWire(wire, path) {
      if (!Array.isArray(wire)) fail(path, `expected list, got ${describe(wire)}`);
      if (wire.length > maxItems) fail(path, `${wire.length} items above maximum ${maxItems}`);
      return wire.map((w, i) => item.fromWire(w, `${path}[${i}]`));
    },
  };
}

export function optional<T>(inner: Field<T>): Field<T | null> {
  return {
    schema: { type: 'optional', inner: inner.schema },
    toWire: (value) => (value === null ? null : inner.toWire(value)),
    fromWire: (wire, path) => (wire === null ? null : inner.fromWire(wire, path)),
  };
}

type Shape = Record<string, Field<unknown>>;
export type InferShape<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

/** A record encoded as a fixed-order array; field order is the order of the shape's keys. */
export function struct<S extends Shape>(shape: S): Field<InferShape<S>> & { readonly fields: readonly (keyof S & string)[] } {
  const names = Object.keys(shape) as (keyof S & string)[];
  return {
    schema: { type: 'struct', fields: names.map((name) => ({ name, schema: (shape[name] as Field<unknown>).schema })) },
    fields: names,
    toWire(value) {
      return names.map((name) => (shape[name] as Field<unknown>).toWire(value[name]));
    },
    fromWire(wire, path) {
      if (!Array.isArray(wire)) fail(path, `expected array of ${names.length} fields, got ${describe(wire)}`);
      if (wire.length !== names.length) fail(path, `expected ${names.length} fields, got ${wire.length}`);
      const out: Record<string, unknown> = {};
      names.forEach((name, i) => {
        out[name] = (shape[name] as Field<unknown>).fromWire(wire[i], `${path}.${name}`);
      });
      return out as InferShape<S>;
    },
  };
}

/**
 * A struct that grew: `base` is the record as first defined, `tail` fields came later. A tail field
 * is null when absent, and trailing nulls are not written, so records written before the tail
 * existed keep their bytes (and the hashes over them) and still decode.
 */
export function extendedStruct<S extends Shape, T extends Shape>(
  base: S,
  tail: T,
): Field<InferShape<S> & { [K in keyof T]?: Infer<T[K]> | null }> & { readonly fields: readonly string[] } {
  const head = struct(base);
  const tailNames = Object.keys(tail) as (keyof T & string)[];
  const all = [...head.fields, ...tailNames];
  type Value = InferShape<S> & { [K in keyof T]?: Infer<T[K]> | null };
  return {
    schema: { type: 'struct', fields: all.map((name) => ({ name, schema: name in tail ? { type: 'optional' as const, inner: (tail[name] as Field<unknown>).schema } : (base[name] as Field<unknown>).schema })) },
    fields: all,
    toWire(value: Value) {
      const wire = head.toWire(value) as Wire[];
      const extra = tailNames.map((name) => {
        const v = value[name];
        return v === undefined || v === null ? null : (tail[name] as Field<unknown>).toWire(v);
      });
      while (extra.length > 0 && extra[extra.length - 1] === null) extra.pop();
      return [...wire, ...extra];
    },
    fromWire(wire, path) {
      if (!Array.isArray(wire)) fail(path, `expected array of ${head.fields.length} to ${all.length} fields, got ${describe(wire)}`);
      if (wire.length < head.fields.length || wire.length > all.length) fail(path, `expected ${head.fields.length} to ${all.length} fields, got ${wire.length}`);
      const out = head.fromWire(wire.slice(0, head.fields.length), path) as Record<string, unknown>;
      tailNames.forEach((name, i) => {
        const w: unknown = wire[head.fields.length + i];
        out[name] = w === undefined || w === null ? null : (tail[name] as Field<unknown>).fromWire(w, `${path}.${name}`);
      });
      return out as Value;
    },
  };
}

function describe(wire: unknown): string {
  if (wire === null) return 'nil';
  if (Array.isArray(wire)) return 'array';
  if (wire instanceof Uint8Array) return 'bytes';
  if (typeof wire === 'number' && !Number.isInteger(wire)) return 'float';
  return typeof wire;
}

export function encode<T>(field: Field<T>, value: T): Uint8Array {
  return new Uint8Array(packr.pack(field.toWire(value)));
}

/** Strict decode: rejects trailing bytes, wrong types, wrong field counts, oversize values, non-canonical forms. */
export function decode<T>(field: Field<T>, data: Uint8Array, what = 'value', maxBytes?: number): T {
  if (!(data instanceof Uint8Array)) throw new CodecError('expected bytes', what);
  if (maxBytes !== undefined && data.length > maxBytes) throw new CodecError(`${data.length} bytes above maximum ${maxBytes}`, what);
  let wire: unknown;
  try {
    // A fresh view: msgpackr caches a DataView on the buffer it reads, which must not leak to callers.
    wire = packr.unpack(Buffer.from(data.buffer, data.byteOffset, data.length));
  } catch (error) {
    throw new CodecError(`not valid msgpack (${error instanceof Error ? error.message : String(error)})`, what);
  }
  const value = field.fromWire(wire, what);
  if (!bytesEqual(encode(field, value), data)) throw new CodecError('non-canonical encoding', what);
  return value;
}
