// The RPC part: every method family on one dispatcher, the subscription streams, the HTTP/WebSocket
// server (with the explorer), and the Prometheus endpoint.
import type { ChainStore } from '../chain/index.js';
import { blockId } from '../chain/index.js';
import type { Database } from '../db/index.js';
import type { AskPublisher, DealProvider, OrderBook, RetrievalProvider } from '../market/index.js';
import type { Mempool } from '../mempool/index.js';
import { startMetricsServer, type Metrics } from '../metrics/index.js';
import type { LocalMiner } from '../miner/setup.js';
import type { Network } from '../p2p/network.js';
import { errorMessage } from '../primitives/index.js';
import { loadOrCreateSecret } from '../rpc/auth.js';
import { bcrMethods } from '../rpc/bcrMethods.js';
import { dealEvents, dealMethods } from '../rpc/dealMethods.js';
import { ethMethods } from '../rpc/ethMethods.js';
import { evmMethods, headChangeLogs } from '../rpc/evmMethods.js';
import { contractMethods } from '../rpc/contractMethods.js';
import { loadExplorer } from '../rpc/explorer.js';
import { formatHeader } from '../rpc/format.js';
import { gatewayMethods, type GatewayFilesService } from '../rpc/gatewayMethods.js';
import { governanceEvents, governanceMethods } from '../rpc/governanceMethods.js';
import { RpcDispatcher } from '../rpc/jsonRpc.js';
import { marketMethods } from '../rpc/marketMethods.js';
import { minerMethods } from '../rpc/minerMethods.js';
import { netMethods } from '../rpc/netMethods.js';
import { discoverMethod } from '../rpc/openrpc.js';
import { paychMethods } from '../rpc/paychMethods.js';
import { RpcServer } from '../rpc/server.js';
import { SubscriptionHub } from '../rpc/subscriptions.js';
import { walletMethods } from '../rpc/walletMethods.js';
import { verifyTx } from '../state/index.js';
import type { SyncManager } from '../sync/index.js';
import type { Closers } from '../util/closers.js';
import type { Logger } from '../util/logger.js';
import { NODE_VERSION } from '../version.js';
import { collectNodeMetrics } from '../nodeMetrics.js';

export interface RpcPartOptions {
  dataDir: string;
  rpcHost: string;
  rpcPort: number;
  corsOrigins?: string[];
  wsOrigins?: string[];
  allowedHosts?: string[];
  signingKeys: Uint8Array[];
  metrics: { registry: Metrics; host: string; port: number } | null;
  db: Database;
  chain: ChainStore;
  mempool: Mempool;
  network: Network | null;
  sync: SyncManager | null;
  orders: OrderBook;
  asks: AskPublisher;
  dealProvider: DealProvider | null;
  retrievalProvider: RetrievalProvider | null;
  local: LocalMiner;
  /** The erasure-coded files the gateway serves (null without a gateway). */
  gatewayFiles: GatewayFilesService | null;
  /** Called when an admin asks over RPC for the node to stop. */
  onShutdown: () => void;
  log: Logger;
}

export async function startRpcPart(opts: RpcPartOptions, closers: Closers): Promise<{ rpcUrl: string; metricsUrl: string | null }> {
  const { chain, mempool, network, sync, local, log } = opts;
  const dispatcher = new RpcDispatcher(opts.metrics?.registry ?? null);
  dispatcher.register(bcrMethods({ chain, mempool }));
  dispatcher.register(dealMethods({ chain, provider: opts.dealProvider, miner: () => local.current }));
  dispatcher.register(paychMethods({ chain, retrieval: opts.retrievalProvider }));
  dispatcher.register(governanceMethods({ chain }));
  dispatcher.register(minerMethods({ chain, miner: () => local.current }));
  dispatcher.register(ethMethods({ chain, mempool }));
  dispatcher.register(evmMethods({ chain }));
  dispatcher.register(contractMethods({ chain }));
  dispatcher.register(walletMethods({ chain, mempool, keys: opts.signingKeys }));
  dispatcher.register(netMethods({ chain, network, sync }));
  dispatcher.register(marketMethods({ orders: opts.orders, network, asks: opts.asks, chain }));
  dispatcher.register(gatewayMethods({ files: opts.gatewayFiles }));
  dispatcher.register([
    discoverMethod(() => dispatcher.list(), NODE_VERSION),
    {
      name: 'bcr_shutdown',
      description: 'Stops the node cleanly (as SIGTERM would) right after answering (admin).',
      permission: 'admin',
      params: [],
      handler: async () => {
        // After the answer is written: the caller learns the request was taken.
        setTimeout(opts.onShutdown, 50);
        return true;
      },
    },
  ]);
  // Event streams run one head change after another (subscribers see chain order), and only while
  // someone listens (no work, and no queue growing while the node syncs).
  let dealQueue: Promise<void> = Promise.resolve();
  let governanceQueue: Promise<void> = Promise.resolve();
  let logQueue: Promise<void> = Promise.resolve();
  const subscriptions: SubscriptionHub = new SubscriptionHub({
    onHead: (listener) =>
      chain.onHeadChange((change) => {
        const includedTxs = change.applied.flatMap((block) => {
          const id = blockId(block.header);
          return block.txs.map((raw) => ({ txId: verifyTx(raw, chain.params).id, blockId: id, height: block.header.height }));
        });
        listener({ id: change.head.id, height: change.head.header.height, slot: change.head.header.slot, json: formatHeader(change.head.id, change.head.header), includedTxs });
      }),
    onPendingTx: (listener) => mempool.onAdd((tx) => listener(tx.id)),
    onMinerEvent: (listener) => local.onEvent(listener),
    onDealEvent: (listener) =>
      chain.onHeadChange((change) => {
        if (!subscriptions.hasSubscribers('dealEvents')) return;
        dealQueue = dealQueue.then(() => dealEvents(chain, change, listener)).catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'Deal events not published'));
      }),
    onGovernanceEvent: (listener) =>
      chain.onHeadChange((change) => {
        if (!subscriptions.hasSubscribers('governance')) return;
        governanceQueue = governanceQueue.then(() => governanceEvents(chain, change, listener)).catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'Governance events not published'));
      }),
    onLogs: (listener) =>
      chain.onHeadChange((change) => {
        if (!subscriptions.hasSubscribers('logs')) return;
        logQueue = logQueue.then(() => headChangeLogs(chain, change, listener)).catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'Logs not published'));
      }),
  });
  const rpc = new RpcServer(dispatcher, { host: opts.rpcHost, port: opts.rpcPort, secret: loadOrCreateSecret(opts.dataDir), subscriptions, explorer: loadExplorer(), ...(opts.corsOrigins ? { corsOrigins: opts.corsOrigins } : {}), ...(opts.wsOrigins ? { wsOrigins: opts.wsOrigins } : {}), ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}) }, log.child({ component: 'rpc' }));
  const { url: rpcUrl } = await rpc.start();
  closers.add('rpc', () => rpc.stop());
  log.info({ url: rpcUrl }, 'JSON-RPC listening');
  log.info({ url: `${rpcUrl}explorer/` }, 'Block explorer');
  if (!opts.metrics) return { rpcUrl, metricsUrl: null };
  collectNodeMetrics(opts.metrics.registry, { chain, db: opts.db, mempool, network, sync, subscriptions, miner: () => local.current, deals: opts.dealProvider });
  const server = await startMetricsServer(opts.metrics.registry, opts.metrics.host, opts.metrics.port, opts.allowedHosts ?? []);
  closers.add('metrics server', () => server.close());
  log.info({ url: server.url }, 'Metrics listening');
  return { rpcUrl, metricsUrl: server.url };
}
