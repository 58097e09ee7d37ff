// One source for RPC params: the JSON Schema each param publishes (rpc.discover, docs/rpc.json) is
// enforced before its parser runs. For every method of the node and random JSON values, a value its
// schema rules out is refused with -32602 naming the param, so the published schema can never be
// wider than what the node takes; and a param's parser never takes a value its schema rules out.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bcrMethods } from '../../src/rpc/bcrMethods.js';
import { dealMethods } from '../../src/rpc/dealMethods.js';
import { ethMethods } from '../../src/rpc/ethMethods.js';
import { evmMethods } from '../../src/rpc/evmMethods.js';
import { contractMethods } from '../../src/rpc/contractMethods.js';
import { governanceMethods } from '../../src/rpc/governanceMethods.js';
import { RpcDispatcher, RpcErrorCode, type MethodDescriptor } from '../../src/rpc/jsonRpc.js';
import { marketMethods } from '../../src/rpc/marketMethods.js';
import { minerMethods } from '../../src/rpc/minerMethods.js';
import { netMethods } from '../../src/rpc/netMethods.js';
import { anyParam, stateBlockParam } from '../../src/rpc/params.js';
import { schemaViolation } from '../../src/rpc/paramSchema.js';
import { paychMethods } from '../../src/rpc/paychMethods.js';
import { walletMethods } from '../../src/rpc/walletMethods.js';

// Param specs do not touch the parts they serve: the handlers never run for refused params.
const none = null as never;
const methods: MethodDescriptor[] = [
  bcrMethods({ chain: none, mempool: none }),
  dealMethods({ chain: none, provider: none, miner: none }),
  paychMethods({ chain: none, retrieval: none }),
  governanceMethods({ chain: none }),
  minerMethods({ chain: none, miner: none }),
  ethMethods({ chain: none, mempool: none }),
  evmMethods({ chain: none }),
  contractMethods({ chain: none }),
  walletMethods({ chain: none, mempool: none, keys: [] }),
  netMethods({ chain: none, network: none, sync: none }),
  marketMethods({ orders: none, network: none, asks: none, chain: none }),
].flat();

describe('RPC params and their schemas', () => {
  it('gives every param of every method a schema Ajv compiles', () => {
    const dispatcher = new RpcDispatcher();
    expect(() => dispatcher.register(methods)).not.toThrow();
    expect(methods.flatMap((m) => m.params.filter((p) => !p.schema).map((p) => `${m.name}.${p.name}`))).toEqual([]);
  });

  it('refuses a value outside the schema before any parser sees it', async () => {
    const dispatcher = new RpcDispatcher();
    // A parser that would take anything: only the schema stands in the way.
    dispatcher.register([{ name: 'test_echo', description: '', params: [anyParam('n', false, { type: 'integer', minimum: 0 })], handler: async ([n]) => n }]);
    const call = async (param: unknown) => JSON.parse((await dispatcher.handleBody(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'test_echo', params: [param] })))!) as { result?: unknown; error?: { code: number; message: string } };
    expect((await call(7)).result).toBe(7);
    expect(await call('7')).toMatchObject({ error: { code: RpcErrorCode.invalidParams, message: 'invalid param 0 (n): value must be integer' } });
    expect(await call(-1)).toMatchObject({ error: { code: RpcErrorCode.invalidParams } });
  });

  it('documents what the parsers take: a height as a string is in the block param schema', () => {
    const block = stateBlockParam();
    for (const value of ['latest', 'finalized', 12, '12', '0xc']) {
      expect(schemaViolation(block.schema!, value)).toBeNull();
      expect(() => block.parse(value)).not.toThrow();
    }
  });

  it('never lets through, for any method, a value its schema rules out; no parser is wider than its schema', async () => {
    const dispatcher = new RpcDispatcher();
    dispatcher.register(methods);
    const withParams = methods.filter((m) => m.params.length > 0);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...withParams), fc.nat(), fc.jsonValue({ maxDepth: 2 }), async (method, at, value) => {
        const index = at % method.params.length;
        const spec = method.params[index]!;
        if (value === null) return;
        const outside = schemaViolation(spec.schema!, value);
        let parsed = true;
        try {
          spec.parse(value);
        } catch {
          parsed = false;
        }
        // A parser may be narrower than its schema (checksums, lengths), never wider.
        if (outside) expect(parsed && !isShapeCheckedByHandler(spec.schema!), `${method.name} param ${index} parses ${JSON.stringify(value)} outside its schema`).toBe(false);
        if (!outside) return;
        // Fill the params before it with values their schemas take, so the refusal is this param's.
        const params: unknown[] = method.params.slice(0, index).map((p) => sampleFor(p.schema!));
        params.push(value);
        const reply = JSON.parse((await dispatcher.handleBody(JSON.stringify({ jsonrpc: '2.0', id: 1, method: method.name, params })))!) as { error?: { code: number; message: string } };
        if (reply.error?.code === RpcErrorCode.forbidden) return;
        if (params.slice(0, index).some((p, i) => schemaViolation(method.params[i]!.schema!, p) !== null)) return;
        expect(reply.error?.code, `${method.name} took ${JSON.stringify(value)} for ${spec.name}`).toBe(RpcErrorCode.invalidParams);
      }),
      { numRuns: 2000, seed: 20261204 },
    );
  });
});

/** Params whose parser passes values through for the handler to check (the schema alone narrows them). */
function isShapeCheckedByHandler(schema: Record<string, unknown>): boolean {
  return schema.type === 'object' || schema.type === 'array';
}

/** A value `schema` takes, for filling the params before the one under test (best effort). */
function sampleFor(schema: Record<string, unknown>): unknown {
  const options = (schema.oneOf ?? schema.anyOf) as Record<string, unknown>[] | undefined;
  if (options) return sampleFor(options[0]!);
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 0;
    case 'boolean':
      return true;
    case 'object':
      return {};
    case 'array':
      return [];
    case 'string': {
      const pattern = typeof schema.pattern === 'string' ? schema.pattern : '';
      const hexLength = /\{(\d+)\}/.exec(pattern);
      if (pattern.startsWith('^0x')) return `0x${'11'.repeat(hexLength ? Number(hexLength[1]) / 2 : 1)}`;
      if (pattern.includes('[0-9]')) return '1';
      return 'x';
    }
    default:
      return 0;
  }
}
