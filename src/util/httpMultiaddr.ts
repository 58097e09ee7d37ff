// HTTP service addresses in multiaddr form (`/ip4/H/tcp/P/http`, `/dns4/H/tcp/443/https`), as IPFS
// routing announces trustless gateways: a miner lists its gateway this way beside its libp2p addresses.

const HTTP_MULTIADDR = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]{1,253})\/tcp\/(\d{1,5})\/(http|https|tls\/http)$/;

/** The base URL (ending in /) of an HTTP multiaddr, or null when `text` is not one. */
export function httpUrlOfMultiaddr(text: string): string | null {
  const match = HTTP_MULTIADDR.exec(text);
  if (!match) return null;
  const [, kind, host, portText, scheme] = match as unknown as [string, string, string, string, string];
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  if (kind === 'ip6' && !/^[0-9a-fA-F:.]+$/.test(host)) return null;
  if (kind !== 'ip6' && !/^[A-Za-z0-9.-]+$/.test(host)) return null;
  return `${scheme === 'http' ? 'http' : 'https'}://${kind === 'ip6' ? `[${host}]` : host}:${port}/`;
}

/** Whether a written address is an HTTP service (not something libp2p dials). */
export function isHttpMultiaddr(text: string): boolean {
  return /\/(http|https)$/.test(text);
}

/** The multiaddr of an http(s) base URL. */
export function multiaddrOfHttpUrl(url: string): string {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const kind = host.includes(':') ? 'ip6' : /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : 'dns';
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  return `/${kind}/${host}/tcp/${port}/${parsed.protocol === 'https:' ? 'https' : 'http'}`;
}
