// `bcr node` flag checks that run before anything is written: a mistake costs one clear line, never
// a stack trace, a half-made data dir or a genesis sealed for nothing.
import { createServer } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { genesisDir } from '../chain/index.js';
import { errorMessage } from '../primitives/index.js';
import { UsageError, parseIntOption } from './io.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The networks shipped in genesis/ (a genesis file path is accepted too). */
export function knownNetworks(): string[] {
  return readdirSync(genesisDir())
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}

export function checkNetwork(network: string): void {
  if (network.endsWith('.json')) {
    if (!existsSync(network)) throw new UsageError(`--network: no genesis file ${network}`);
    return;
  }
  const networks = knownNetworks();
  if (!networks.includes(network)) throw new UsageError(`--network: unknown network "${network}"; valid networks: ${networks.join(', ')} (or a genesis .json file path)`);
}

export function checkLogLevel(level: string): void {
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
}

export function parsePortOption(value: string, name: string): number {
  const port = parseIntOption(value, name);
  if (port > 65535) throw new UsageError(`${name} must be a TCP port 0..65535, got ${value}`);
  return port;
}

/** A peer multiaddr the node can dial: parses, and names the peer by a valid peer id. */
export function checkPeerAddress(address: string, name: string): void {
  let parsed;
  try {
    parsed = multiaddr(address);
  } catch (error) {
    throw new UsageError(`${name}: "${address}" is not a multiaddr (${errorMessage(error)}); expected /ip4/HOST/tcp/PORT/p2p/PEER_ID`);
  }
  const peer = parsed.getComponents().find((component) => component.name === 'p2p')?.value;
  if (!peer) throw new UsageError(`${name}: "${address}" names no peer; expected /ip4/HOST/tcp/PORT/p2p/PEER_ID`);
  try {
    peerIdFromString(peer);
  } catch (error) {
    throw new UsageError(`${name}: "${peer}" in "${address}" is not a peer id (${errorMessage(error)})`);
  }
}

/** Binds and releases `host:port` so a busy port is named now, before genesis or sealing. */
export async function checkPortFree(host: string, port: number, name: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'is already in use (another node?)' : error.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : `cannot be bound (${error.code ?? errorMessage(error)})`;
      reject(new UsageError(`${name}: ${host}:${port} ${reason}`));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Mainnet nodes prune by default (a chain that runs for years); devnet and test keep everything. */
export const MAINNET_PRUNE_BLOCKS = 100_000;

/** `--prune-blocks`: a block count, or 'archive'; absent: the network's default. Null means archive. */
export function parsePruneBlocks(value: string | undefined, network: string): number | null {
  if (value === undefined) return network === 'mainnet' ? MAINNET_PRUNE_BLOCKS : null;
  if (value === 'archive') return null;
  return parseIntOption(value, '--prune-blocks');
}
