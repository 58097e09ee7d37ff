// Parameter parsers shared by RPC methods; each throws a reason that names what is wrong.
import { fromHex, parseAddress } from '../primitives/index.js';
import type { ParamSpec } from './jsonRpc.js';

const HEX = '^0x([0-9a-fA-F]{2})*$';

export function addressParam(name = 'address'): ParamSpec {
  return {
    name,
    schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$', description: '20-byte address, EIP-55 checksum checked when mixed-case' },
    parse(value) {
      if (typeof value !== 'string') throw new Error('expected a 0x-hex address string');
      return parseAddress(value);
    },
  };
}

export function hexDataParam(name: string, length?: number): ParamSpec {
  return {
    name,
    schema: length === undefined ? { type: 'string', pattern: HEX } : { type: 'string', pattern: `^0x[0-9a-fA-F]{${length * 2}}$` },
    parse(value) {
      if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) throw new Error('expected 0x-prefixed hex bytes');
      const bytes = fromHex(value);
      if (length !== undefined && bytes.length !== length) throw new Error(`expected ${length} bytes, got ${bytes.length}`);
      return bytes;
    },
  };
}

/** Integers a caller may name (heights, counts, ids): exact, and no larger than a JS number holds exactly. */
export const MAX_RPC_INTEGER = Number.MAX_SAFE_INTEGER;

/** An exact non-negative integer from a JSON number, a decimal string or a 0x-hex quantity. */
export function parseRpcInteger(value: unknown, max = MAX_RPC_INTEGER): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0 && value <= max) return value;
  } else if (typeof value === 'string' && value.length <= 40 && /^(0x[0-9a-fA-F]+|\d+)$/.test(value)) {
    const n = BigInt(value);
    if (n <= BigInt(max)) return Number(n);
  }
  throw new Error(`expected an integer from 0 to ${max} (number, decimal or 0x-hex string)`);
}

export function uintParam(name: string, optional = false, max = MAX_RPC_INTEGER): ParamSpec {
  return {
    name,
    schema: { oneOf: [{ type: 'integer', minimum: 0, maximum: max }, { type: 'string', pattern: '^(0x[0-9a-fA-F]+|[0-9]+)$', maxLength: 40 }] },
    optional,
    parse: (value) => parseRpcInteger(value, max),
  };
}

const MAX_ATTO = (1n << 256n) - 1n;

/** An amount in atto as a decimal string (up to 2^256 - 1, what the amount codec carries). */
export function attoParam(name: string): ParamSpec {
  return {
    name,
    schema: { type: 'string', pattern: '^[0-9]{1,78}$', description: 'atto, decimal string' },
    parse(value) {
      if (typeof value !== 'string' || !/^[0-9]{1,78}$/.test(value) || BigInt(value) > MAX_ATTO) throw new Error('expected a decimal string of atto below 2^256');
      return BigInt(value);
    },
  };
}

export function boolParam(name: string, optional = true): ParamSpec {
  return {
    name,
    schema: { type: 'boolean' },
    optional,
    parse(value) {
      if (typeof value !== 'boolean') throw new Error('expected true or false');
      return value;
    },
  };
}

export function enumParam<T extends string>(name: string, values: readonly T[], optional = true): ParamSpec {
  return {
    name,
    schema: { type: 'string', enum: [...values] },
    optional,
    parse(value) {
      if (typeof value !== 'string' || !values.includes(value as T)) throw new Error(`expected one of ${values.join(', ')}`);
      return value;
    },
  };
}

/** Any JSON value (shape checked by the handler). */
export function anyParam(name: string, optional = true, schema: Record<string, unknown> = {}): ParamSpec {
  return { name, optional, schema, parse: (v) => v };
}

/** A block the state is read at: "latest" (the head), "finalized", or a height between them. */
export function stateBlockParam(name = 'block'): ParamSpec {
  return {
    name,
    optional: true,
    schema: { oneOf: [{ type: 'string', enum: ['latest', 'finalized'] }, { type: 'integer', minimum: 0, maximum: MAX_RPC_INTEGER }, { type: 'string', pattern: '^(0x[0-9a-fA-F]+|[0-9]+)$', maxLength: 40 }], description: '"latest" (default), "finalized", or a height from the finalized block to the head (a number, decimal or 0x-hex string)' },
    parse(value) {
      if (value === 'latest' || value === 'finalized') return value;
      return parseRpcInteger(value);
    },
  };
}
