// The Host header rule every HTTP port of the node applies (RPC, explorer, metrics): a page on an
// attacker's domain that resolves to 127.0.0.1 (DNS rebinding) sends its own name as Host and is refused.

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
