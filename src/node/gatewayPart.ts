// The gateway part: the IPFS trustless gateway over the blocks the local miner stores (its block
// index), on its own port, so that every IPFS client can fetch them by CID. Its address is announced
// on chain beside the miner's libp2p addresses (an HTTP multiaddr), so that clients find it.
import { DEFAULT_GATEWAY_LIMITS, TrustlessGateway } from '../gateway/trustlessGateway.js';
import type { Metrics } from '../metrics/index.js';
import type { LocalMiner } from '../miner/setup.js';
import type { Closers } from '../util/closers.js';
import { multiaddrOfHttpUrl } from '../util/httpMultiaddr.js';
import type { Logger } from '../util/logger.js';

export interface GatewayOptions {
  host: string;
  port: number;
  /** Cap on what the gateway sends, all answers together (null: none). */
  uploadBytesPerSecond?: number | null;
  /** The public URL to announce (default: the address it listens on). */
  announce?: string;
}

/** Starts the gateway; `local` is read per request (the miner may start later). */
export async function startGatewayPart(options: GatewayOptions, local: () => LocalMiner | null, metrics: Metrics | null, log: Logger, closers: Closers): Promise<{ url: string; multiaddr: string }> {
  const gatewayLog = log.child({ component: 'gateway' });
  const limits = { ...DEFAULT_GATEWAY_LIMITS, uploadBytesPerSecond: options.uploadBytesPerSecond ?? null };
  const gateway = new TrustlessGateway({ get: async (cid) => local()?.current?.blocks?.get(cid) ?? null }, gatewayLog, limits, Date.now, metrics);
  const url = await gateway.listen(options.host, options.port);
  closers.add('gateway', () => gateway.close());
  const announced = options.announce ?? url;
  gatewayLog.info({ url, announced, uploadBytesPerSecond: limits.uploadBytesPerSecond }, 'IPFS gateway listening');
  return { url, multiaddr: multiaddrOfHttpUrl(announced) };
}
