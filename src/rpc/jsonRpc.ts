// JSON-RPC 2.0 envelope handling: parse, validate, dispatch, batch, exact error codes.
import { BcrError, errorMessage } from '../primitives/index.js';
import type { Permission } from './auth.js';
import type { Metrics } from '../metrics/index.js';
import { schemaValidator, schemaViolation, type JsonSchema } from './paramSchema.js';

export const RpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** Application: the tx or block was rejected (data.code says why). */
  rejected: -32000,
  /** Application: the requested object does not exist. */
  notFound: -32001,
  /** Application: the caller lacks the permission the method needs (data.needed names it). */
  forbidden: -32002,
  /** The request asks for more work or data than one request may (geth uses the same code). */
  limitExceeded: -32005,
} as const;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export type { JsonSchema } from './paramSchema.js';

export interface ParamSpec {
  name: string;
  /** Returns the parsed value or throws with a reason. */
  parse(value: unknown): unknown;
  optional?: boolean;
  /** JSON Schema of the accepted value: the same one documents it in OpenRPC. */
  schema?: JsonSchema;
}

export interface MethodDescriptor {
  name: string;
  description: string;
  params: ParamSpec[];
  /** Needed permission (default read). */
  permission?: Permission;
  /** Work units of one call with these (parsed) params, against the request's budget; default 1. */
  cost?(params: unknown[]): number;
  handler(params: unknown[]): Promise<unknown>;
}

/** What a caller may do: the permissions of its token (or its connection). */
export interface CallContext {
  permissions: ReadonlySet<Permission>;
}

const OPEN: CallContext = { permissions: new Set<Permission>(['read', 'write', 'sign', 'admin']) };

interface RpcResponse {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export const MAX_BATCH = 1000;
/** Work units one request (a call or a whole batch) may spend: e.g. ten 1,024-block fee histories. */
export const MAX_REQUEST_COST = 10_240;
/** Bytes of results one request may return (geth's batch response limit: 25 MB). */
export const MAX_RESPONSE_BYTES = 25 * 1024 * 1024;

/** What is left of one request's allowance, shared by the calls of a batch. */
interface Budget {
  cost: number;
  bytes: number;
}

export class RpcDispatcher {
  private readonly methods = new Map<string, MethodDescriptor>();

  constructor(private readonly metrics: Metrics | null = null) {}

  register(methods: MethodDescriptor[]): void {
    for (const method of methods) {
      // A schema Ajv cannot compile is a bug of ours: found at start, not at the first call.
      for (const spec of method.params) if (spec.schema) schemaValidator(spec.schema);
      this.methods.set(method.name, method);
    }
  }

  list(): MethodDescriptor[] {
    return [...this.methods.values()];
  }

  /** Handles a raw request body; returns the response body, or null when nothing is owed (notifications). */
  async handleBody(body: string, context: CallContext = OPEN): Promise<string | null> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return JSON.stringify(errorResponse(null, RpcErrorCode.parseError, 'parse error'));
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) return JSON.stringify(errorResponse(null, RpcErrorCode.invalidRequest, 'empty batch'));
      if (parsed.length > MAX_BATCH) return JSON.stringify(errorResponse(null, RpcErrorCode.invalidRequest, `batch above ${MAX_BATCH} calls`));
      const budget: Budget = { cost: MAX_REQUEST_COST, bytes: MAX_RESPONSE_BYTES };
      const responses: string[] = [];
      // One call at a time: a batch cannot run a thousand expensive handlers at once.
      for (const call of parsed) {
        const response = await this.handleCall(call, context, budget);
        if (response) responses.push(this.serialize(response, budget));
      }
      return responses.length ? `[${responses.join(',')}]` : null;
    }
    const budget: Budget = { cost: MAX_REQUEST_COST, bytes: MAX_RESPONSE_BYTES };
    const response = await this.handleCall(parsed, context, budget);
    return response ? this.serialize(response, budget) : null;
  }

  /** A response's JSON, or a limit error in its place once the request's byte allowance is spent. */
  private serialize(response: RpcResponse, budget: Budget): string {
    const text = JSON.stringify(response);
    budget.bytes -= text.length;
    if (budget.bytes >= 0) return text;
    return JSON.stringify(errorResponse(response.id, RpcErrorCode.limitExceeded, `response above ${MAX_RESPONSE_BYTES} bytes: ask for less per request`));
  }

  async handleCall(call: unknown, context: CallContext = OPEN, budget: Budget = { cost: MAX_REQUEST_COST, bytes: MAX_RESPONSE_BYTES }): Promise<RpcResponse | null> {
    if (!call || typeof call !== 'object' || Array.isArray(call)) return errorResponse(null, RpcErrorCode.invalidRequest, 'request must be an object');
    const { jsonrpc, method, params, id } = call as Record<string, unknown>;
    const validId = id === undefined || id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
    const echoId = validId && id !== undefined ? (id as string | number | null) : null;
    if (jsonrpc !== '2.0' || typeof method !== 'string' || !validId) {
      return errorResponse(echoId, RpcErrorCode.invalidRequest, 'invalid request: needs jsonrpc "2.0", a string method and a string/number/null id');
    }
    const isNotification = id === undefined;
    const response = this.metrics ? await this.invokeMeasured(this.metrics, method, params, echoId, context, budget) : await this.invoke(method, params, echoId, context, budget);
    return isNotification ? null : response;
  }

  private async invokeMeasured(metrics: Metrics, name: string, params: unknown, id: string | number | null, context: CallContext, budget: Budget): Promise<RpcResponse> {
    const start = performance.now();
    const response = await this.invoke(name, params, id, context, budget);
    // Unknown names are one label: a caller must not be able to mint series.
    const method = this.methods.has(name) ? name : 'unknown';
    metrics.rpcRequests.inc({ method, code: response.error ? String(response.error.code) : 'ok' });
    metrics.rpcSeconds.observe({ method }, (performance.now() - start) / 1000);
    return response;
  }

  private async invoke(name: string, params: unknown, id: string | number | null, context: CallContext, budget: Budget): Promise<RpcResponse> {
    const method = this.methods.get(name);
    if (!method) return errorResponse(id, RpcErrorCode.methodNotFound, `method not found: ${name}`);
    const needed = method.permission ?? 'read';
    if (!context.permissions.has(needed)) {
      return errorResponse(id, RpcErrorCode.forbidden, `permission denied: ${name} needs a token with '${needed}' permission (bcr auth create-token --perm ${needed})`, { needed });
    }
    if (params !== undefined && !Array.isArray(params)) {
      return errorResponse(id, RpcErrorCode.invalidParams, 'params must be an array (positional)');
    }
    const raw = (params as unknown[] | undefined) ?? [];
    if (raw.length > method.params.length) {
      return errorResponse(id, RpcErrorCode.invalidParams, `too many params: ${name} takes ${method.params.length}`);
    }
    const parsed: unknown[] = [];
    for (const [index, spec] of method.params.entries()) {
      const value = raw[index];
      if (value === undefined || value === null) {
        if (!spec.optional) return errorResponse(id, RpcErrorCode.invalidParams, `missing param ${index} (${spec.name})`);
        parsed.push(undefined);
        continue;
      }
      const outside = spec.schema ? schemaViolation(spec.schema, value) : null;
      if (outside) return errorResponse(id, RpcErrorCode.invalidParams, `invalid param ${index} (${spec.name}): ${outside}`);
      try {
        parsed.push(spec.parse(value));
      } catch (error) {
        return errorResponse(id, RpcErrorCode.invalidParams, `invalid param ${index} (${spec.name}): ${errorMessage(error)}`);
      }
    }
    const cost = method.cost?.(parsed) ?? 1;
    if (cost > budget.cost) {
      return errorResponse(id, RpcErrorCode.limitExceeded, `request work limit reached (${MAX_REQUEST_COST} units per request; ${name} needs ${cost}): split the batch`);
    }
    budget.cost -= cost;
    try {
      return { jsonrpc: '2.0', id, result: (await method.handler(parsed)) ?? null };
    } catch (error) {
      if (error instanceof RpcError) return errorResponse(id, error.code, error.message, error.data);
      if (error instanceof BcrError) return errorResponse(id, RpcErrorCode.rejected, error.message, { code: error.code });
      return errorResponse(id, RpcErrorCode.internal, 'internal error');
    }
  }
}

function errorResponse(id: string | number | null, code: number, message: string, data?: unknown): RpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}
