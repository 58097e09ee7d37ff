// Composition root: builds the node's parts in order (chain and mempool, network and sync, miner,
// market, RPC; each in src/node/) and closes them in reverse, also when a start fails half way.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoWellKnownKeys, genesisToJson, parseGenesis, readGenesisJson, type ChainStore, type Genesis } from './chain/index.js';
import type { OrderBook, PaymentTerms } from './market/index.js';
import type { Mempool } from './mempool/index.js';
import type { MinerService } from './miner/miner.js';
import type { WatchdogSettings } from './miner/watchdog.js';
import { LocalMiner, reportEquivocations, startLocalMiner } from './miner/setup.js';
import { ClusterSectors } from './cluster/clusterSectors.js';
import type { RemoteSectors } from './miner/remoteSectors.js';
import { createMetrics } from './metrics/index.js';
import type { Network } from './p2p/network.js';
import { BcrError } from './primitives/index.js';
import type { SyncManager } from './sync/index.js';
import { systemClock, type Clock } from './util/clock.js';
import { Closers } from './util/closers.js';
import { writeFileDurableSync } from './util/durableFile.js';
import type { Logger } from './util/logger.js';
import { keystoreKeyResolver } from './wallet/index.js';
import { startChainPart } from './node/chainPart.js';
import { openOrderBook, startMarketPart } from './node/marketPart.js';
import type { GatewayPaymentGate } from './market/index.js';
import { P2P_PORT_FILE, startNetworkPart } from './node/networkPart.js';
import { startRpcPart } from './node/rpcPart.js';
import { startGatewayPart, type GatewayOptions } from './node/gatewayPart.js';

export { P2P_PORT_FILE } from './node/networkPart.js';

/** The well-known devnet key (Hardhat/Anvil account #0): funded, owns the genesis miner. DEVNET AND TEST ONLY. */
export const DEV_PRIVATE_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export { DEV_WORKER_KEY } from './miner/setup.js';
export { devVrfSecret } from './chain/index.js';

export interface NodeOptions {
  network: string;
  dataDir: string;
  rpcHost: string;
  rpcPort: number;
  mine: boolean;
  /** Origins allowed to call the RPC from a browser (CORS); none by default. */
  corsOrigins?: string[];
  /** Browser origins allowed to open a WebSocket (none by default). */
  wsOrigins?: string[];
  /** Host header names accepted besides loopback ('*' for any). */
  allowedHosts?: string[];
  /** Keys the node may sign with (bcr_sendTransaction, `sign` permission). */
  signingKeys?: Uint8Array[];
  /** Keep block bodies and receipts for this many blocks beyond finality (absent: archive). */
  pruneBlocks?: number | null;
  /** Deadline watchdog thresholds (defaults from the window width). */
  watchdog?: Partial<WatchdogSettings>;
  /** Paid retrieval: payment interval and least settle delay (docs/protocol.md §13.8). */
  retrievalTerms?: Partial<PaymentTerms>;
  /** Serve Prometheus metrics here (off when absent). */
  metrics?: { host: string; port: number };
  /** Serve the IPFS trustless gateway here, for the blocks the local miner stores (off when absent). */
  gateway?: GatewayOptions;
  /** libp2p networking; none when absent (a lone node). */
  p2p?: { host: string; port: number; bootstrap: string[]; mdns?: boolean };
  /** Worker key of a genesis miner; defaults to the dev key on devnet/test networks. */
  workerKey?: Uint8Array;
  /** Run this registered miner, with its worker and VRF keys from `keystore`. */
  minerId?: number;
  /** The miner cluster's database (bcr node --cluster): sealing and proving on its workers. */
  cluster?: string;
  /** Keystore (and its password) holding the miner's worker and VRF keys. */
  keystore?: { dir: string; password: string };
  clock?: Clock;
  log: Logger;
}

export interface BcrNode {
  chain: ChainStore;
  mempool: Mempool;
  rpcUrl: string;
  /** Where Prometheus scrapes, when metrics are on. */
  metricsUrl: string | null;
  /** The IPFS trustless gateway, when on. */
  gatewayUrl: string | null;
  /** The local miner, once it runs. */
  readonly miner: MinerService | null;
  network: Network | null;
  sync: SyncManager | null;
  orders: OrderBook;
  /** An admin asked over RPC (bcr_shutdown) for the node to stop; the embedder decides how. */
  onShutdownRequest(listener: () => void): void;
  stop(): Promise<void>;
}

/** The data dir keeps the resolved genesis (an "auto" time fixed at first start) so restarts agree. */
export function resolveGenesis(dataDir: string, network: string, nowMs: number): Genesis {
  const stored = join(dataDir, 'genesis.json');
  if (existsSync(stored)) {
    const genesis = parseGenesis(JSON.parse(readFileSync(stored, 'utf8')));
    if (genesis.params.network !== network && !network.endsWith('.json')) {
      throw new BcrError('WRONG_NETWORK', `data dir ${dataDir} belongs to network "${genesis.params.network}", not "${network}"`);
    }
    return genesis;
  }
  const genesis = parseGenesis(readGenesisJson(network), nowMs);
  mkdirSync(dataDir, { recursive: true });
  writeFileDurableSync(stored, JSON.stringify(genesisToJson(genesis), null, 2) + '\n');
  return genesis;
}

/** The port this data dir's node listened on last, if any. */
export function rememberedP2pPort(dataDir: string): number | null {
  try {
    const { port } = JSON.parse(readFileSync(join(dataDir, P2P_PORT_FILE), 'utf8')) as { port: unknown };
    return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : null;
  } catch {
    return null;
  }
}

export async function startNode(options: NodeOptions): Promise<BcrNode> {
  const closers = new Closers();
  try {
    return await startParts(options, closers);
  } catch (error) {
    // A start that fails half way closes what it started, in reverse (the database last).
    await closers.closeAll(options.log);
    throw error;
  }
}

async function startParts(options: NodeOptions, closers: Closers): Promise<BcrNode> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const genesis = resolveGenesis(options.dataDir, options.network, clock.now());
  assertNoWellKnownKeys(genesis);
  const metrics = options.metrics ? createMetrics() : null;
  const { db, chain, mempool } = await startChainPart({ dataDir: options.dataDir, genesis, pruneBlocks: options.pruneBlocks ?? null, metrics, log }, closers);
  const orders = await openOrderBook({ dataDir: options.dataDir, genesis, chain, clock, log }, closers);
  const net = options.p2p ? await startNetworkPart({ dataDir: options.dataDir, p2p: options.p2p, chain, mempool, orders, clock, metrics, log }, closers) : null;
  const network = net?.network ?? null;
  const sync = net?.sync ?? null;

  // The gateway first: its address is registered with the miner's (blocks are read from the miner once it runs).
  let miner: LocalMiner | null = null;
  // The market (and with it the retrieval price) starts after the miner: the gateway serves the
  // miner's blocks only from then on, so that nothing priced goes out free.
  let paymentGate: GatewayPaymentGate | null = null;
  let marketStarted = false;
  const gateway = options.gateway ? await startGatewayPart(options.gateway, options.dataDir, () => (marketStarted ? miner : null), () => paymentGate, metrics, log, closers) : null;
  const local = options.mine
    ? await startLocalMiner({ chain, mempool, genesis, dataDir: options.dataDir, clock, log, metrics, ...(options.watchdog ? { watchdog: options.watchdog } : {}), ...(network ? { p2p: { peerId: network.peerId.toString(), addresses: [...network.addresses().slice(0, gateway ? 15 : 16), ...(gateway ? [gateway.multiaddr] : [])] } } : {}), synced: () => !(sync?.progress().syncing ?? false), ...(options.cluster ? { remoteSectors: clusterConnector(options.cluster, genesis, log) } : {}) }, { ...(options.minerId !== undefined ? { minerId: options.minerId } : {}), ...(options.keystore ? { keystore: keystoreKeyResolver(options.keystore.dir, options.keystore.password) } : {}), ...(options.workerKey ? { workerKey: options.workerKey } : {}) })
    : new LocalMiner();
  miner = local;
  closers.add('miner', () => local.stop());
  reportEquivocations(chain, mempool, local, options.signingKeys ?? [], log.child({ component: 'miner' }));
  const market = await startMarketPart({ dataDir: options.dataDir, genesis, chain, mempool, orders, network, local, ...(options.retrievalTerms ? { retrievalTerms: options.retrievalTerms } : {}), clock, log }, closers);
  paymentGate = market.retrievalProvider?.gateway ?? null;
  marketStarted = true;

  const shutdownListeners: (() => void)[] = [];
  const { rpcUrl, metricsUrl } = await startRpcPart(
    {
      dataDir: options.dataDir,
      rpcHost: options.rpcHost,
      rpcPort: options.rpcPort,
      ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
      ...(options.wsOrigins ? { wsOrigins: options.wsOrigins } : {}),
      ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
      signingKeys: options.signingKeys ?? [],
      metrics: metrics && options.metrics ? { registry: metrics, ...options.metrics } : null,
      db,
      chain,
      mempool,
      network,
      sync,
      orders,
      ...market,
      local,
      gatewayFiles: gateway?.files ?? null,
      onShutdown: () => shutdownListeners.forEach((listener) => listener()),
      log,
    },
    closers,
  );

  const gatewayUrl = gateway?.url ?? null;
  // Erasure-coded files added to the gateway are fetched through the node's own RPC.
  gateway?.files.start(rpcUrl);

  let stopped = false;
  return {
    chain,
    mempool,
    rpcUrl,
    metricsUrl,
    gatewayUrl,
    get miner() {
      return local.current;
    },
    network,
    sync,
    orders,
    onShutdownRequest(listener) {
      shutdownListeners.push(listener);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Every part, last started first (the RPC before the providers, the database last).
      await closers.closeAll(log);
      log.info('Node stopped');
    },
  };
}

/** Opens the miner's connection to its cluster of workers when the miner starts. */
function clusterConnector(cluster: string, genesis: Genesis, log: Logger): (minerId: number) => Promise<RemoteSectors> {
  return (minerId) => ClusterSectors.open({ cluster, minerId, profile: genesis.params.miners.proofProfile, log: log.child({ component: 'cluster' }) });
}
