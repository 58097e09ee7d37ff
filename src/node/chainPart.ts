// The chain part: the database, the chain store and the mempool that follows the head.
import { join } from 'node:path';
import { ChainStore, type Genesis } from '../chain/index.js';
import { Database } from '../db/index.js';
import { Mempool } from '../mempool/index.js';
import type { Metrics } from '../metrics/index.js';
import { BcrError, errorMessage, hexKey, pairHashBackend, signatureBackend } from '../primitives/index.js';
import type { Closers } from '../util/closers.js';
import type { Logger } from '../util/logger.js';

export interface ChainPart {
  db: Database;
  chain: ChainStore;
  mempool: Mempool;
}

export async function startChainPart(opts: { dataDir: string; genesis: Genesis; pruneBlocks: number | null; metrics: Metrics | null; log: Logger }, closers: Closers): Promise<ChainPart> {
  const { genesis, metrics, log } = opts;
  let db: Database;
  try {
    db = await Database.open(join(opts.dataDir, 'chain'));
  } catch (error) {
    throw new BcrError('DB_LOCKED', `cannot open the chain database in ${opts.dataDir} (is another node using it?): ${errorMessage(error)}`);
  }
  closers.add('database', () => db.close());
  const chain = await ChainStore.open({ db, genesis, log: log.child({ component: 'chain' }), metrics, pruneBlocks: opts.pruneBlocks });
  closers.add('chain', () => chain.idle());
  log.info({ network: genesis.params.network, chainId: genesis.params.chainId, genesis: `0x${hexKey(chain.genesisId)}`, height: chain.head.header.height, store: opts.pruneBlocks == null ? 'archive' : `pruned to ${opts.pruneBlocks} blocks beyond finality`, sha256: pairHashBackend, secp256k1: signatureBackend() }, 'Chain opened');

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
  return { db, chain, mempool };
}
