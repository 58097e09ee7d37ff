// Scrape-time readers for the node's metrics: the state of each part (heights, sizes, peers,
// power, sectors, jobs, deals, store) read when Prometheus asks, so no part has to push them.
import type { ChainStore } from './chain/index.js';
import { KEY_PREFIXES, type Database } from './db/index.js';
import type { DealProvider } from './market/index.js';
import type { Mempool } from './mempool/index.js';
import type { Metrics } from './metrics/index.js';
import type { MinerService } from './miner/miner.js';
import type { Network } from './p2p/network.js';
import type { SubscriptionHub } from './rpc/subscriptions.js';
import { localMinerDeals } from './rpc/dealMethods.js';
import { SectorState, deadlineSectors, getMiner, getSector } from './state/index.js';
import type { SyncManager } from './sync/index.js';

export interface MeteredParts {
  chain: ChainStore;
  db: Database;
  mempool: Mempool;
  network: Network | null;
  sync: SyncManager | null;
  subscriptions: SubscriptionHub;
  miner: () => MinerService | null;
  deals: DealProvider | null;
}

const SECTOR_STATE_NAMES = Object.fromEntries(Object.entries(SectorState).map(([name, value]) => [value, name])) as Record<number, string>;

export function collectNodeMetrics(metrics: Metrics, parts: MeteredParts): void {
  metrics.addCollector(() => {
    metrics.mempoolSize.set(parts.mempool.size);
    metrics.peers.set(parts.network?.peerCount() ?? 0);
    metrics.isolatedSeconds.set(Math.floor((parts.network?.isolatedForMs() ?? 0) / 1000));
    const progress = parts.sync?.progress();
    metrics.syncDistance.set(progress ? progress.target - progress.head : 0);
    metrics.wsSubscriptions.reset();
    for (const [kind, count] of parts.subscriptions.countByTopic()) metrics.wsSubscriptions.set({ kind }, count);
    metrics.sealingJobs.reset();
    for (const job of parts.miner()?.sealing.jobs.values() ?? []) metrics.sealingJobs.inc({ stage: job.status });
  });
  metrics.addCollector(async () => {
    const remote = parts.miner()?.remote;
    if (!remote) return;
    const status = await remote.status();
    metrics.clusterWorkers.reset();
    for (const state of ['up', 'down', 'refused']) metrics.clusterWorkers.set({ state }, 0);
    for (const w of status.workers) metrics.clusterWorkers.inc({ state: w.badReason ? 'refused' : w.alive ? 'up' : 'down' });
    metrics.clusterTasks.reset();
    for (const t of status.tasks) {
      const task = t.task.split('@')[0]!;
      metrics.clusterTasks.inc({ task, state: 'queued' }, t.queued);
      metrics.clusterTasks.inc({ task, state: 'running' }, t.running);
      metrics.clusterTasks.inc({ task, state: 'failing' }, t.failing);
    }
    metrics.clusterSectors.reset();
    for (const s of status.sectors) metrics.clusterSectors.inc({ worker: s.worker });
  });
  // The same rows and states as `bcr miner deals` (bcr_minerDeals), so the two always agree.
  metrics.addCollector(async () => {
    const miner = parts.miner();
    const deals = miner ? await localMinerDeals(parts.chain.headState(), parts.deals, miner) : [];
    metrics.marketDeals.reset();
    for (const deal of deals) metrics.marketDeals.inc({ state: deal.stage });
  });
  metrics.addCollector(async () => {
    const miner = parts.miner();
    if (!miner) return;
    const state = parts.chain.headState();
    const record = await getMiner(state, miner.minerId);
    if (!record) return;
    const label = String(miner.minerId);
    metrics.minerPower.set({ miner: label }, Number(record.power));
    const counts = new Map<string, number>(Object.keys(SectorState).map((name) => [name, 0]));
    for (let deadline = 0; deadline < parts.chain.params.miners.deadlines; deadline++) {
      for (const number of await deadlineSectors(state, miner.minerId, deadline)) {
        const sector = await getSector(state, miner.minerId, number);
        const name = sector ? SECTOR_STATE_NAMES[sector.state] : undefined;
        if (name) counts.set(name, counts.get(name)! + 1);
      }
    }
    for (const [name, count] of counts) metrics.minerSectors.set({ miner: label, state: name }, count);
  });
  metrics.addCollector(async () => {
    for (const [bucket, prefix] of Object.entries(KEY_PREFIXES)) metrics.dbBytes.set({ bucket }, await parts.db.approximateBytes(prefix));
  });
}
