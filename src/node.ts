// Composition root: builds the node's parts in order (db, chain, mempool, rpc, producer) and closes
// them in reverse.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlockPreverifier, ChainStore, assertNoWellKnownKeys, blockId, genesisToJson, parseGenesis, readGenesisJson, type Genesis } from './chain/index.js';
import { Database } from './db/index.js';
import { Mempool } from './mempool/index.js';
import type { MinerService } from './miner/miner.js';
import type { WatchdogSettings } from './miner/watchdog.js';
import { LocalMiner, reportEquivocations, startLocalMiner } from './miner/setup.js';
import { keystoreKeyResolver } from './wallet/index.js';
import { Network } from './p2p/network.js';
import { SyncManager, type SyncTransport } from './sync/index.js';
import { AskPublisher, DealProvider, OrderBook, RetrievalProvider, dealProtocols, retrievalProtocols, type PaymentTerms } from './market/index.js';
import { submitLocalTx } from './miner/localTx.js';
import { Closers } from './util/closers.js';
import { writeFileDurableSync } from './util/durableFile.js';
import { BcrError, errorMessage, hexKey, pairHashBackend, signatureBackend, toHex } from './primitives/index.js';
import { bcrMethods } from './rpc/bcrMethods.js';
import { ethMethods } from './rpc/ethMethods.js';
import { discoverMethod } from './rpc/openrpc.js';
import { loadOrCreateSecret } from './rpc/auth.js';
import { formatHeader } from './rpc/format.js';
import { SubscriptionHub } from './rpc/subscriptions.js';
import { NODE_VERSION } from './version.js';
import { minerMethods } from './rpc/minerMethods.js';
import { walletMethods } from './rpc/walletMethods.js';
import { netMethods } from './rpc/netMethods.js';
import { marketMethods } from './rpc/marketMethods.js';
import { dealEventJson, dealMethods } from './rpc/dealMethods.js';
import { paychMethods } from './rpc/paychMethods.js';
import { governanceEvents, governanceMethods } from './rpc/governanceMethods.js';
import { RpcDispatcher } from './rpc/jsonRpc.js';
import { RpcServer } from './rpc/server.js';
import { loadExplorer } from './rpc/explorer.js';
import { getMiner, minerIds, paychRedeemKind, paychRedeemPayload, verifyTx } from './state/index.js';
import { slotAt } from './consensus/index.js';
import { createMetrics, startMetricsServer, type MetricsServer } from './metrics/index.js';
import { collectNodeMetrics } from './nodeMetrics.js';
import { systemClock, type Clock } from './util/clock.js';
import type { Logger } from './util/logger.js';

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
  /** libp2p networking; none when absent (a lone node). */
  p2p?: { host: string; port: number; bootstrap: string[]; mdns?: boolean };
  /** Worker key of a genesis miner; defaults to the dev key on devnet/test networks. */
  workerKey?: Uint8Array;
  /** Run this registered miner, with its worker and VRF keys from `keystore`. */
  minerId?: number;
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

/** Where a node remembers the p2p port it listened on (the CLI reuses it when --p2p-port is not given). */
export const P2P_PORT_FILE = 'p2p.json';

/** The port this data dir's node listened on last, if any. */
export function rememberedP2pPort(dataDir: string): number | null {
  try {
    const { port } = JSON.parse(readFileSync(join(dataDir, P2P_PORT_FILE), 'utf8')) as { port: unknown };
    return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : null;
  } catch {
    return null;
  }
}

/** The registered miners' peer addresses (`.../p2p/<id>`), newest miners first, at most 64 miners. */
async function minerPeerAddresses(chain: ChainStore): Promise<string[]> {
  const state = chain.headState();
  const ids = (await minerIds(state)).slice(-64).reverse();
  const out: string[] = [];
  for (const id of ids) {
    const miner = await getMiner(state, id);
    if (!miner?.peerId) continue;
    for (const address of miner.multiaddrs.slice(0, 4)) out.push(address.includes('/p2p/') ? address : `${address}/p2p/${miner.peerId}`);
  }
  return out;
}

/** The network as sync sees it. */
function networkTransport(network: Network): SyncTransport {
  return {
    blocksByRange: (peer, start, count) => network.reqresp.blocksByRange(peer, start, count),
    blocksById: (peer, ids) => network.reqresp.blocksById(peer, ids),
    exchangeStatus: (peer) => network.exchangeStatus(peer),
    penalise: (peer, offence) => network.penalise(peer, offence),
    rememberFromPeers: (block) => network.rememberFromPeers(block),
  };
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
  let db: Database;
  try {
    db = await Database.open(join(options.dataDir, 'chain'));
  } catch (error) {
    throw new BcrError('DB_LOCKED', `cannot open the chain database in ${options.dataDir} (is another node using it?): ${errorMessage(error)}`);
  }
  closers.add('database', () => db.close());
  const chain = await ChainStore.open({ db, genesis, log: log.child({ component: 'chain' }), metrics, pruneBlocks: options.pruneBlocks ?? null });
  closers.add('chain', () => chain.idle());
  log.info({ network: genesis.params.network, chainId: genesis.params.chainId, genesis: `0x${hexKey(chain.genesisId)}`, height: chain.head.header.height, store: options.pruneBlocks == null ? 'archive' : `pruned to ${options.pruneBlocks} blocks beyond finality`, sha256: pairHashBackend, secp256k1: signatureBackend() }, 'Chain opened');

  const mempool = new Mempool({ params: genesis.params, accountState: (address) => chain.accountState(address) }, {}, metrics);
  const mempoolLog = log.child({ component: 'mempool' });
  // One head change at a time, in order: a reorg's re-injections must not race the next block's removals.
  let mempoolQueue: Promise<void> = Promise.resolve();
  chain.onHeadChange((change) => {
    if (change.reverted.length === 0 && change.applied.every((b) => b.txs.length === 0)) return;
    mempoolQueue = mempoolQueue.then(() =>
      mempool.onHeadChange(change).then(
        (r) => void (r.reinjected + r.dropped > 0 && mempoolLog.info(r, 'Mempool updated after head change')),
        (error: unknown) => mempoolLog.error({ err: errorMessage(error) }, 'Mempool update failed'),
      ),
    );
  });

  const orders = new OrderBook({
    chainId: genesis.params.chainId,
    currentSlot: () => slotAt(genesis.params, clock.now()),
    minerWorker: async (id) => (await getMiner(chain.headState(), id))?.worker,
  });
  let network: Network | null = null;
  let sync: SyncManager | null = null;
  let preverifier: BlockPreverifier | null = null;
  if (options.p2p) {
    const started = await Network.start({ dataDir: options.dataDir, ...options.p2p, chain, mempool, clock, metrics, log: log.child({ component: 'p2p' }), candidates: () => minerPeerAddresses(chain) });
    network = started;
    closers.add('network', () => started.stop());
    // The next start listens on the same port (unless told otherwise), so peers that knew it find it.
    const port = network.listenPort();
    if (port !== null) writeFileDurableSync(join(options.dataDir, P2P_PORT_FILE), JSON.stringify({ port }));
    const workers = new BlockPreverifier(chain);
    preverifier = workers;
    closers.add('preverifier', () => workers.close());
    const syncManager = new SyncManager({ chain, transport: networkTransport(network), preverifier, clock, log: log.child({ component: 'sync' }) });
    closers.add('sync', async () => {
      syncManager.stop();
      await syncManager.idle();
    });
    network.onPeerStatus((peer, status) => syncManager.addPeer(peer, status));
    network.onPeerGone((peer) => syncManager.removePeer(peer));
    network.onUnknownParent((peer, block) => void syncManager.resolveUnknownParent(peer, block));
    network.handleMarketTopic('storageAsks', (data) => orders.admit('storageAsk', data));
    network.handleMarketTopic('storageOrders', (data) => orders.admit('storageOrder', data));
    network.handleMarketTopic('retrievalOrders', (data) => orders.admit('retrievalOrder', data));
    sync = syncManager;
    log.info({ peerId: network.peerId.toString(), addresses: network.addresses(), mdns: options.p2p.mdns ?? false }, 'P2P listening');
  }

  const local = options.mine
    ? await startLocalMiner({ chain, mempool, genesis, dataDir: options.dataDir, clock, log, metrics, ...(options.watchdog ? { watchdog: options.watchdog } : {}), ...(network ? { p2p: { peerId: network.peerId.toString(), addresses: network.addresses() } } : {}), synced: () => !(sync?.progress().syncing ?? false) }, { ...(options.minerId !== undefined ? { minerId: options.minerId } : {}), ...(options.keystore ? { keystore: keystoreKeyResolver(options.keystore.dir, options.keystore.password) } : {}), ...(options.workerKey ? { workerKey: options.workerKey } : {}) })
    : new LocalMiner();
  closers.add('miner', () => local.stop());
  reportEquivocations(chain, mempool, local, options.signingKeys ?? [], log.child({ component: 'miner' }));
  const asks = new AskPublisher({
    book: orders,
    publish: (bytes) => network?.publishMarket('storageAsks', bytes),
    signer: () => (local.current ? { minerId: local.current.minerId, workerKey: local.current.workerKey } : null),
    chainId: genesis.params.chainId,
    currentSlot: () => slotAt(genesis.params, clock.now()),
    log: log.child({ component: 'market' }),
    termsPath: join(options.dataDir, 'miner', 'storage-ask.json'),
  });
  if (await asks.restore()) log.info('Storage ask terms restored: published again once the miner runs');
  chain.onHeadChange(() => void asks.refresh());
  network?.onMarketSubscriber('storageAsks', () => void asks.announce());
  let dealProvider: DealProvider | null = null;
  let retrievalProvider: RetrievalProvider | null = null;
  if (network) {
    dealProvider = new DealProvider({
      libp2p: network.libp2p,
      protocols: dealProtocols(genesis.params.network, chain.genesisId),
      chain,
      miner: () => {
        const miner = local.current;
        return miner ? { id: miner.minerId, sectorSize: miner.sealing.sectorSize, sink: miner.sealing } : null;
      },
      ask: () => asks.ask,
      currentSlot: () => slotAt(genesis.params, clock.now()),
      nowMs: () => clock.now(),
      dir: join(options.dataDir, 'miner', 'incoming'),
      log: log.child({ component: 'deals' }),
    });
    await dealProvider.start();
    const deals = dealProvider;
    closers.add('deal provider', () => deals.stop());
    retrievalProvider = new RetrievalProvider({
      ...(options.retrievalTerms ? { terms: options.retrievalTerms } : {}),
      libp2p: network.libp2p,
      protocols: retrievalProtocols(genesis.params.network, chain.genesisId),
      chain,
      miner: () => {
        const miner = local.current;
        if (!miner) return null;
        return {
          find: (commitment) => miner.pieces.find(commitment),
          payee: miner.worker,
          redeem: async (voucher, signature) => {
            const { id } = await submitLocalTx(chain, mempool, miner.workerKey, paychRedeemKind, paychRedeemPayload, { voucher, signature });
            log.info({ channel: voucher.channel, amount: voucher.amount.toString(), tx: toHex(id) }, 'Redeeming retrieval voucher');
          },
        };
      },
      currentSlot: () => slotAt(genesis.params, clock.now()),
      nowMs: () => clock.now(),
      dir: join(options.dataDir, 'miner', 'retrieval'),
      log: log.child({ component: 'retrieval' }),
    });
    await retrievalProvider.start();
    const retrieval = retrievalProvider;
    closers.add('retrieval provider', () => retrieval.stop());
    chain.onHeadChange(() => void retrieval.redeemSettling().catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'Redeeming settling channels failed')));
  }

  const dispatcher = new RpcDispatcher(metrics);
  dispatcher.register(bcrMethods({ chain, mempool }));
  dispatcher.register(dealMethods({ chain, provider: dealProvider, miner: () => local.current }));
  dispatcher.register(paychMethods({ chain, retrieval: retrievalProvider }));
  dispatcher.register(governanceMethods({ chain }));
  dispatcher.register(minerMethods({ chain, miner: () => local.current }));
  dispatcher.register(ethMethods({ chain, mempool }));
  dispatcher.register(walletMethods({ chain, mempool, keys: options.signingKeys ?? [] }));
  dispatcher.register(netMethods({ chain, network, sync }));
  dispatcher.register(marketMethods({ orders, network, asks, chain }));
  const shutdownListeners: (() => void)[] = [];
  dispatcher.register([
    discoverMethod(() => dispatcher.list(), NODE_VERSION),
    {
      name: 'bcr_shutdown',
      description: 'Stops the node cleanly (as SIGTERM would) right after answering (admin).',
      permission: 'admin',
      params: [],
      handler: async () => {
        // After the answer is written: the caller learns the request was taken.
        setTimeout(() => shutdownListeners.forEach((listener) => listener()), 50);
        return true;
      },
    },
  ]);
  let dealEventQueue: Promise<void> = Promise.resolve();
  let governanceQueue: Promise<void> = Promise.resolve();
  const subscriptions = new SubscriptionHub({
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
        // Nobody listening: no work (and no queue growing while the node syncs).
        if (!subscriptions.hasSubscribers('dealEvents')) return;
        // One head change after another, so subscribers see events in chain order.
        dealEventQueue = dealEventQueue.then(async () => {
          // As Ethereum's log subscriptions do: a reorg first takes back the events of the blocks it
          // reverted (removed: true), then sends those of the new canonical blocks.
          const blocks = [...change.reverted.map((block) => ({ block, removed: true })), ...change.applied.map((block) => ({ block, removed: false }))];
          for (const { block, removed } of blocks) {
            const id = blockId(block.header);
            for (const event of await chain.getEvents(id)) {
              const keys = [`deal:${event.deal}`, `client:${toHex(event.client)}`, `provider:${event.provider}`];
              listener({ keys, json: { ...dealEventJson(event, { id, height: block.header.height, slot: block.header.slot }), removed } });
            }
          }
        }).catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'Deal events not published'));
      }),
    onGovernanceEvent: (listener) =>
      chain.onHeadChange((change) => {
        if (!subscriptions.hasSubscribers('governance')) return;
        // In chain order, as deal events are.
        governanceQueue = governanceQueue.then(() => governanceEvents(chain, change, listener)).catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'Governance events not published'));
      }),
  });
  const rpc = new RpcServer(dispatcher, { host: options.rpcHost, port: options.rpcPort, secret: loadOrCreateSecret(options.dataDir), subscriptions, explorer: loadExplorer(), ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}), ...(options.wsOrigins ? { wsOrigins: options.wsOrigins } : {}), ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}) }, log.child({ component: 'rpc' }));
  const { url: rpcUrl } = await rpc.start();
  closers.add('rpc', () => rpc.stop());
  log.info({ url: rpcUrl }, 'JSON-RPC listening');
  log.info({ url: `${rpcUrl}explorer/` }, 'Block explorer');
  let metricsServer: MetricsServer | null = null;
  if (metrics && options.metrics) {
    collectNodeMetrics(metrics, { chain, db, mempool, network, sync, subscriptions, miner: () => local.current, deals: dealProvider });
    const server = await startMetricsServer(metrics, options.metrics.host, options.metrics.port, options.allowedHosts ?? []);
    metricsServer = server;
    closers.add('metrics server', () => server.close());
    log.info({ url: metricsServer.url }, 'Metrics listening');
  }

  let stopped = false;
  return {
    chain,
    mempool,
    rpcUrl,
    metricsUrl: metricsServer?.url ?? null,
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
