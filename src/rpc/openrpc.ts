// OpenRPC document generated from the method descriptors (the same schemas that validate params),
// served by rpc.discover and committed as docs/rpc.json.
import type { MethodDescriptor } from './jsonRpc.js';
import { RpcErrorCode } from './jsonRpc.js';

export function openRpcDocument(methods: MethodDescriptor[], version: string) {
  return {
    openrpc: '1.2.6',
    info: {
      title: 'BCR node JSON-RPC',
      version,
      description: `JSON-RPC 2.0 over HTTP POST on "/". Errors: ${RpcErrorCode.parseError} parse error, ${RpcErrorCode.invalidRequest} invalid request, ${RpcErrorCode.methodNotFound} method not found, ${RpcErrorCode.invalidParams} invalid params (names the param), ${RpcErrorCode.internal} internal, ${RpcErrorCode.rejected} rejected (data.code gives the reason, e.g. NONCE_TOO_LOW), ${RpcErrorCode.notFound} not found, ${RpcErrorCode.forbidden} permission denied (data.needed names the permission), ${RpcErrorCode.limitExceeded} limit exceeded (work or result size of one request: split it). Bodies must be application/json. Amounts are decimal strings of atto in bcr_* and hex quantities of wei (= atto) in eth_*.`,
    },
    methods: [...methods]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((m) => ({
        name: m.name,
        description: m.description,
        paramStructure: 'by-position',
        'x-permission': m.permission ?? 'read',
        params: m.params.map((p) => ({ name: p.name, required: !p.optional, schema: p.schema ?? {} })),
        result: { name: 'result', schema: {} },
      })),
  };
}

export function discoverMethod(all: () => MethodDescriptor[], version: string): MethodDescriptor {
  return {
    name: 'rpc.discover',
    description: 'This OpenRPC document.',
    params: [],
    handler: async () => openRpcDocument(all(), version),
  };
}
