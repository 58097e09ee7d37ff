// The market part: the order book, the storage ask publisher, and (with a network) the deal and
// retrieval providers that serve this node's miner.
import { join } from 'node:path';
import type { ChainStore, Genesis } from '../chain/index.js';
import { slotAt } from '../consensus/index.js';
import { AskPublisher, DealProvider, OrderBook, OrderBookStore, RetrievalProvider, dealProtocols, retrievalProtocols, type PaymentTerms } from '../market/index.js';
import type { Mempool } from '../mempool/index.js';
import { submitLocalTx } from '../miner/localTx.js';
import type { LocalMiner } from '../miner/setup.js';
import type { Network } from '../p2p/network.js';
import { errorMessage, toHex } from '../primitives/index.js';
import { getMiner, paychRedeemKind, paychRedeemPayload } from '../state/index.js';
import type { Clock } from '../util/clock.js';
import type { Closers } from '../util/closers.js';
import type { Logger } from '../util/logger.js';

/**
 * Signed market orders heard on gossip or sent over RPC, checked against the chain's miners; kept
 * across restarts in DATA_DIR/market/orders.json (admitted again, through the same checks, at start).
 */
export async function openOrderBook(opts: { dataDir: string; genesis: Genesis; chain: ChainStore; clock: Clock; log: Logger }, closers: Closers): Promise<OrderBook> {
  const { genesis, chain, clock } = opts;
  const book = new OrderBook({
    chainId: genesis.params.chainId,
    currentSlot: () => slotAt(genesis.params, clock.now()),
    minerWorker: async (id) => (await getMiner(chain.headState(), id))?.worker,
  });
  const log = opts.log.child({ component: 'market' });
  const store = new OrderBookStore(book, join(opts.dataDir, 'market', 'orders.json'), log);
  const restored = await store.restore();
  if (restored > 0) log.info({ orders: restored }, 'Order book restored from the last run');
  const save = () => void store.save().catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'Saving the order book failed'));
  chain.onHeadChange(save);
  closers.add('order book', () => store.close());
  return book;
}

export interface MarketPart {
  asks: AskPublisher;
  dealProvider: DealProvider | null;
  retrievalProvider: RetrievalProvider | null;
}

export async function startMarketPart(
  opts: { dataDir: string; genesis: Genesis; chain: ChainStore; mempool: Mempool; orders: OrderBook; network: Network | null; local: LocalMiner; retrievalTerms?: Partial<PaymentTerms>; clock: Clock; log: Logger },
  closers: Closers,
): Promise<MarketPart> {
  const { genesis, chain, mempool, network, local, clock, log } = opts;
  const currentSlot = () => slotAt(genesis.params, clock.now());
  const asks = new AskPublisher({
    book: opts.orders,
    publish: (bytes) => network?.publishMarket('storageAsks', bytes),
    signer: () => (local.current ? { minerId: local.current.minerId, workerKey: local.current.workerKey } : null),
    chainId: genesis.params.chainId,
    currentSlot,
    log: log.child({ component: 'market' }),
    termsPath: join(opts.dataDir, 'miner', 'storage-ask.json'),
  });
  if (await asks.restore()) log.info('Storage ask terms restored: published again once the miner runs');
  chain.onHeadChange(() => void asks.refresh());
  network?.onMarketSubscriber('storageAsks', () => void asks.announce());
  if (!network) return { asks, dealProvider: null, retrievalProvider: null };

  const dealProvider = new DealProvider({
    libp2p: network.libp2p,
    protocols: dealProtocols(genesis.params.network, chain.genesisId),
    chain,
    miner: () => {
      const miner = local.current;
      return miner ? { id: miner.minerId, sectorSize: miner.sealing.sectorSize, sink: miner.sealing } : null;
    },
    ask: () => asks.ask,
    currentSlot,
    nowMs: () => clock.now(),
    dir: join(opts.dataDir, 'miner', 'incoming'),
    log: log.child({ component: 'deals' }),
  });
  await dealProvider.start();
  closers.add('deal provider', () => dealProvider.stop());
  const retrievalProvider = new RetrievalProvider({
    ...(opts.retrievalTerms ? { terms: opts.retrievalTerms } : {}),
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
    currentSlot,
    nowMs: () => clock.now(),
    dir: join(opts.dataDir, 'miner', 'retrieval'),
    log: log.child({ component: 'retrieval' }),
  });
  await retrievalProvider.start();
  closers.add('retrieval provider', () => retrievalProvider.stop());
  chain.onHeadChange(() => void retrievalProvider.redeemSettling().catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'Redeeming settling channels failed')));
  return { asks, dealProvider, retrievalProvider };
}
