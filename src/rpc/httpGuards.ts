// What the RPC port accepts before any JSON is read: a strict Host header (DNS rebinding), a JSON
// content type (so a web page cannot send a "simple" cross-site POST), an Origin the operator allowed
// (cross-site WebSocket), and how many connections one address may hold open.

import { hostAllowed, parseHostHeader } from '../util/httpHost.js';

export { hostAllowed, parseHostHeader };

/** JSON-RPC bodies must say they are JSON (geth accepts the same three types). */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type === 'application/json-rpc' || type === 'application/jsonrequest';
}

/**
 * A browser sends Origin on cross-site requests; tools (curl, ethers in Node, ws) do not. A request
 * with an Origin passes only when the operator listed it, or when it is the node's own origin.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

export { ConnectionCounter } from '../util/connectionCounter.js';
