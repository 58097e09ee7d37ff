// The node's metrics: one prom-client registry, every series named with its unit. Components take
// `metrics: Metrics | null` (null: metrics off, no cost but a null check); values that are state at
// scrape time (heights, sizes, power) are read by collect callbacks the composition root adds.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Block import steps, as chain/ times them. */
export type ImportStep = 'stateless' | 'election' | 'execution' | 'state_root' | 'write';
export type ProofKind = 'winning' | 'window' | 'porep';
export type WatchdogWarning = 'deadline_at_risk' | 'slow_proof' | 'replica_check_failed';

export interface Metrics {
  readonly registry: Registry;
  /** Adds a reader run before each scrape (gauges of state: sizes, power, peers). */
  addCollector(collect: () => void | Promise<void>): void;
  /** Runs every collector, then renders the registry in the Prometheus text format. */
  scrape(): Promise<string>;
  blockImportSeconds: Histogram<'step'>;
  blocksImported: Counter<'result'>;
  blocksRejected: Counter<'code'>;
  headHeight: Gauge;
  finalizedHeight: Gauge;
  reorgDepth: Histogram;
  gossipMessages: Counter<'topic' | 'verdict' | 'code'>;
  peers: Gauge;
  isolatedSeconds: Gauge;
  peerPenalties: Counter<'offence'>;
  peerBans: Counter;
  syncDistance: Gauge;
  mempoolSize: Gauge;
  mempoolEvictions: Counter<'reason'>;
  mempoolRefused: Counter<'code'>;
  rpcRequests: Counter<'method' | 'code'>;
  rpcSeconds: Histogram<'method'>;
  wsSubscriptions: Gauge<'kind'>;
  proofsVerified: Counter<'kind' | 'result'>;
  proofVerifySeconds: Histogram<'kind'>;
  minerPower: Gauge<'miner'>;
  minerSectors: Gauge<'miner' | 'state'>;
  deadlinesProven: Counter<'miner'>;
  deadlinesMissed: Counter<'miner'>;
  windowPostSeconds: Histogram;
  sealingJobs: Gauge<'stage'>;
  clusterWorkers: Gauge<'state'>;
  clusterTasks: Gauge<'task' | 'state'>;
  clusterSectors: Gauge<'worker'>;
  watchdogWarnings: Counter<'kind'>;
  marketDeals: Gauge<'state'>;
  gatewayRequests: Counter<'format' | 'status'>;
  gatewayBytes: Counter<'format'>;
  dbBytes: Gauge<'bucket'>;
}

const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Builds the registry with every BCR series plus Node's process metrics (memory, event-loop lag, GC). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bcr_' });
  const r = { registers: [registry] };
  const collectors: (() => void | Promise<void>)[] = [];
  return {
    registry,
    addCollector: (collect) => void collectors.push(collect),
    async scrape() {
      // One failing reader must not cost the operator every other series.
      await Promise.allSettled(collectors.map(async (collect) => collect()));
      return registry.metrics();
    },
    blockImportSeconds: new Histogram({ ...r, name: 'bcr_block_import_seconds', help: 'Block import time by step (stateless checks, election, execution, state root, write)', labelNames: ['step'], buckets: SECONDS }),
    blocksImported: new Counter({ ...r, name: 'bcr_blocks_imported_total', help: 'Valid blocks imported, as the new head or as a side block', labelNames: ['result'] }),
    blocksRejected: new Counter({ ...r, name: 'bcr_blocks_rejected_total', help: 'Blocks refused at import, by error code', labelNames: ['code'] }),
    headHeight: new Gauge({ ...r, name: 'bcr_head_height', help: 'Height of the canonical head' }),
    finalizedHeight: new Gauge({ ...r, name: 'bcr_finalized_height', help: 'Height of the finalized block' }),
    reorgDepth: new Histogram({ ...r, name: 'bcr_reorg_depth_blocks', help: 'Canonical blocks taken off by each reorg', buckets: [1, 2, 3, 5, 8, 13, 21, 50] }),
    gossipMessages: new Counter({ ...r, name: 'bcr_gossip_messages_total', help: 'Gossip messages validated, by topic, verdict and error code', labelNames: ['topic', 'verdict', 'code'] }),
    peers: new Gauge({ ...r, name: 'bcr_peers', help: 'Connected libp2p peers' }),
    isolatedSeconds: new Gauge({ ...r, name: 'bcr_p2p_isolated_seconds', help: 'Seconds without any peer although others are known (0: connected or none known)' }),
    peerPenalties: new Counter({ ...r, name: 'bcr_peer_penalties_total', help: 'Penalties given to peers, by offence', labelNames: ['offence'] }),
    peerBans: new Counter({ ...r, name: 'bcr_peer_bans_total', help: 'Peers banned for crossing the penalty threshold' }),
    syncDistance: new Gauge({ ...r, name: 'bcr_sync_distance_blocks', help: 'Blocks between the local head and the highest head peers report' }),
    mempoolSize: new Gauge({ ...r, name: 'bcr_mempool_txs', help: 'Transactions in the mempool' }),
    mempoolEvictions: new Counter({ ...r, name: 'bcr_mempool_evictions_total', help: 'Pooled transactions evicted, by reason', labelNames: ['reason'] }),
    mempoolRefused: new Counter({ ...r, name: 'bcr_mempool_refused_total', help: 'Transactions refused at admission, by code', labelNames: ['code'] }),
    rpcRequests: new Counter({ ...r, name: 'bcr_rpc_requests_total', help: 'JSON-RPC calls by method and outcome (ok or the error code)', labelNames: ['method', 'code'] }),
    rpcSeconds: new Histogram({ ...r, name: 'bcr_rpc_request_seconds', help: 'JSON-RPC call latency by method', labelNames: ['method'], buckets: SECONDS }),
    wsSubscriptions: new Gauge({ ...r, name: 'bcr_ws_subscriptions', help: 'Live WebSocket subscriptions by kind', labelNames: ['kind'] }),
    proofsVerified: new Counter({ ...r, name: 'bcr_proofs_verified_total', help: 'Proofs verified by kind and result', labelNames: ['kind', 'result'] }),
    proofVerifySeconds: new Histogram({ ...r, name: 'bcr_proof_verify_seconds', help: 'Proof verification time by kind', labelNames: ['kind'], buckets: SECONDS }),
    minerPower: new Gauge({ ...r, name: 'bcr_miner_power_bytes', help: 'Proven power of the local miner', labelNames: ['miner'] }),
    minerSectors: new Gauge({ ...r, name: 'bcr_miner_sectors', help: 'Sectors of the local miner by state', labelNames: ['miner', 'state'] }),
    deadlinesProven: new Counter({ ...r, name: 'bcr_miner_deadlines_proven_total', help: 'Proving deadlines whose WindowPoSt landed in its window', labelNames: ['miner'] }),
    deadlinesMissed: new Counter({ ...r, name: 'bcr_miner_deadlines_missed_total', help: 'Proving deadlines that closed without a WindowPoSt', labelNames: ['miner'] }),
    windowPostSeconds: new Histogram({ ...r, name: 'bcr_miner_window_post_seconds', help: 'Time to compute a WindowPoSt', buckets: SECONDS }),
    sealingJobs: new Gauge({ ...r, name: 'bcr_miner_sealing_jobs', help: 'Sealing jobs by stage', labelNames: ['stage'] }),
    clusterWorkers: new Gauge({ ...r, name: 'bcr_cluster_workers', help: 'Cluster workers by state (up, down, refused after a proof that did not verify)', labelNames: ['state'] }),
    clusterTasks: new Gauge({ ...r, name: 'bcr_cluster_tasks', help: 'Cluster tasks by kind (seal, porep, windowPost, winningPost) and state (queued, running, failing)', labelNames: ['task', 'state'] }),
    clusterSectors: new Gauge({ ...r, name: 'bcr_cluster_sectors', help: 'Sectors of the local miner held by each cluster worker', labelNames: ['worker'] }),
    watchdogWarnings: new Counter({ ...r, name: 'bcr_miner_watchdog_warnings_total', help: 'Deadline watchdog warnings by kind', labelNames: ['kind'] }),
    marketDeals: new Gauge({ ...r, name: 'bcr_market_deals', help: "Deals of the local miner by state", labelNames: ['state'] }),
    gatewayRequests: new Counter({ ...r, name: 'bcr_gateway_requests_total', help: 'IPFS gateway requests by answer format (raw, car, none) and HTTP status', labelNames: ['format', 'status'] }),
    gatewayBytes: new Counter({ ...r, name: 'bcr_gateway_sent_bytes_total', help: 'Block bytes the IPFS gateway sent, by answer format', labelNames: ['format'] }),
    dbBytes: new Gauge({ ...r, name: 'bcr_db_bytes', help: 'Approximate LevelDB bytes per bucket', labelNames: ['bucket'] }),
  };
}
