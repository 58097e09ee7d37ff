// A small JSON-RPC client for CLI commands that talk to a running node.
import { BcrError } from '../primitives/errors.js';

export const DEFAULT_RPC_URL = 'http://127.0.0.1:8645/';

export async function callRpc<T>(url: string, method: string, params: unknown[] = [], token?: string): Promise<T> {
  let response: Response;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  } catch (error) {
    throw new BcrError('RPC_UNREACHABLE', `cannot reach the node at ${url} (is it running?): ${error instanceof Error ? error.message : String(error)}`);
  }
  const body = (await response.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error) throw new BcrError('RPC_ERROR', `${method}: ${body.error.message}`);
  return body.result as T;
}
