// What the RPC port accepts before any JSON is read: a strict Host header (DNS rebinding), a JSON
// content type (so a web page cannot send a "simple" cross-site POST), an Origin the operator allowed
// (cross-site WebSocket), and how many connections one address may hold open.

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The host name of a Host header, or null when the header is not `name[:port]` / `[v6][:port]`. */
export function parseHostHeader(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(header);
  if (!match) return null;
  if (match[2] !== undefined && Number(match[2]) > 65535) return null;
  return match[1]!.toLowerCase();
}

/** Loopback names always pass; `allowed` adds names ('*' accepts any well-formed header). */
export function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  const name = parseHostHeader(header);
  if (name === null) return false;
  return allowed.includes('*') || LOOPBACK_NAMES.has(name) || allowed.map((h) => h.toLowerCase()).includes(name);
}

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

/** Counts open connections per remote address; refuses past a cap. */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  constructor(private readonly maxPerAddress: number) {}

  /** Registers a connection; false when the address already holds the maximum. */
  acquire(address: string): boolean {
    const count = this.open.get(address) ?? 0;
    if (count >= this.maxPerAddress) return false;
    this.open.set(address, count + 1);
    return true;
  }

  release(address: string): void {
    const count = (this.open.get(address) ?? 1) - 1;
    if (count <= 0) this.open.delete(address);
    else this.open.set(address, count);
  }
}
