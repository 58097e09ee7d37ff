// Parameter parsers shared by RPC methods; each throws a reason that names what is wrong.
import { fromHex, parseAddress } from '../primitives/index.js';
import type { ParamSpec } from './jsonRpc.js';

export function addressParam(name = 'address'): ParamSpec {
  return {
    name,
    parse(value) {
      if (typeof value !== 'string') throw new Error('expected a 0x-hex address string');
      return parseAddress(value);
    },
  };
}

export function hexDataParam(name: string, length?: number): ParamSpec {
  return {
    name,
    parse(value) {
      if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) throw new Error('expected 0x-prefixed hex bytes');
      const bytes = fromHex(value);
      if (length !== undefined && bytes.length !== length) throw new Error(`expected ${length} bytes, got ${bytes.length}`);
      return bytes;
    },
  };
}

export function uintParam(name: string, optional = false): ParamSpec {
  return {
    name,
    optional,
    parse(value) {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
      if (typeof value === 'string' && /^(0x[0-9a-fA-F]+|\d+)$/.test(value)) {
        const n = Number(BigInt(value));
        if (Number.isSafeInteger(n)) return n;
      }
      throw new Error('expected a non-negative integer (number, decimal or 0x-hex string)');
    },
  };
}

export function boolParam(name: string, optional = true): ParamSpec {
  return {
    name,
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
    optional,
    parse(value) {
      if (typeof value !== 'string' || !values.includes(value as T)) throw new Error(`expected one of ${values.join(', ')}`);
      return value;
    },
  };
}
