// The gateway part: the IPFS trustless gateway over the blocks the local miner stores (its block
// index), on its own port, so that any IPFS client can fetch them by CID.
import { DEFAULT_GATEWAY_LIMITS, TrustlessGateway } from '../gateway/trustlessGateway.js';
import type { Metrics } from '../metrics/index.js';
import type { LocalMiner } from '../miner/setup.js';
import type { Closers } from '../util/closers.js';
import type { Logger } from '../util/logger.js';

export async function startGatewayPart(where: { host: string; port: number }, local: LocalMiner, metrics: Metrics | null, log: Logger, closers: Closers): Promise<string> {
  const gatewayLog = log.child({ component: 'gateway' });
  const gateway = new TrustlessGateway({ get: async (cid) => (local.current?.blocks ? local.current.blocks.get(cid) : null) }, gatewayLog, DEFAULT_GATEWAY_LIMITS, Date.now, metrics);
  const url = await gateway.listen(where.host, where.port);
  closers.add('gateway', () => gateway.close());
  gatewayLog.info({ url }, 'IPFS gateway listening');
  return url;
}
