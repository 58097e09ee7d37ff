// The network part: libp2p (gossip, request/response, peer keeping), block pre-verification and sync.
import { join } from 'node:path';
import { BlockPreverifier, type ChainStore } from '../chain/index.js';
import type { OrderBook } from '../market/index.js';
import type { Mempool } from '../mempool/index.js';
import type { Metrics } from '../metrics/index.js';
import { Network } from '../p2p/network.js';
import { getMiner, minerCount } from '../state/index.js';
import { SyncManager, type SyncTransport } from '../sync/index.js';
import type { Clock } from '../util/clock.js';
import type { Closers } from '../util/closers.js';
import { writeFileDurableSync } from '../util/durableFile.js';
import type { Logger } from '../util/logger.js';
import { isHttpMultiaddr } from '../util/httpMultiaddr.js';

/** Where a node remembers the p2p port it listened on (the CLI reuses it when --p2p-port is not given). */
export const P2P_PORT_FILE = 'p2p.json';

export interface NetworkPart {
  network: Network;
  sync: SyncManager;
}

export async function startNetworkPart(
  opts: { dataDir: string; p2p: { host: string; port: number; bootstrap: string[]; mdns?: boolean }; chain: ChainStore; mempool: Mempool; orders: OrderBook; clock: Clock; metrics: Metrics | null; log: Logger },
  closers: Closers,
): Promise<NetworkPart> {
  const { chain, orders, log } = opts;
  const network = await Network.start({ dataDir: opts.dataDir, ...opts.p2p, chain, mempool: opts.mempool, clock: opts.clock, metrics: opts.metrics, log: log.child({ component: 'p2p' }), candidates: () => minerPeerAddresses(chain) });
  closers.add('network', () => network.stop());
  // The next start listens on the same port (unless told otherwise), so peers that knew it find it.
  const port = network.listenPort();
  if (port !== null) writeFileDurableSync(join(opts.dataDir, P2P_PORT_FILE), JSON.stringify({ port }));
  const preverifier = new BlockPreverifier(chain);
  closers.add('preverifier', () => preverifier.close());
  const sync = new SyncManager({ chain, transport: networkTransport(network), preverifier, clock: opts.clock, log: log.child({ component: 'sync' }) });
  closers.add('sync', async () => {
    sync.stop();
    await sync.idle();
  });
  network.onPeerStatus((peer, status) => sync.addPeer(peer, status));
  network.onPeerGone((peer) => sync.removePeer(peer));
  network.onUnknownParent((peer, block) => void sync.resolveUnknownParent(peer, block));
  network.handleMarketTopic('storageAsks', (data) => orders.admit('storageAsk', data));
  network.handleMarketTopic('storageOrders', (data) => orders.admit('storageOrder', data));
  network.handleMarketTopic('retrievalOrders', (data) => orders.admit('retrievalOrder', data));
  log.info({ peerId: network.peerId.toString(), addresses: network.addresses(), mdns: opts.p2p.mdns ?? false }, 'P2P listening');
  return { network, sync };
}

/** The registered miners' peer addresses (`.../p2p/<id>`), newest miners first, at most 64 miners. */
async function minerPeerAddresses(chain: ChainStore): Promise<string[]> {
  const state = chain.headState();
  const count = await minerCount(state);
  const ids = Array.from({ length: Math.min(64, count) }, (_, i) => count - i);
  const out: string[] = [];
  for (const id of ids) {
    const miner = await getMiner(state, id);
    if (!miner?.peerId) continue;
    for (const address of miner.multiaddrs.filter((a) => !isHttpMultiaddr(a)).slice(0, 4)) out.push(address.includes('/p2p/') ? address : `${address}/p2p/${miner.peerId}`);
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
