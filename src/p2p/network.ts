// The node's libp2p host: TCP + noise + yamux + identify + ping + gossipsub (+ mDNS when asked).
// Blocks, txs and market orders travel by gossip, each message validated before it is forwarded;
// `verdictOf` is the ONE place that maps our typed errors to gossipsub's accept / ignore / reject.
// Peers that misbehave (invalid gossip, request floods, bad sync answers) lose reputation, which
// lowers their gossipsub score, and are banned for a while past a threshold.
import { LRUCache } from 'lru-cache';
import '../util/polyfills.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { bootstrap } from '@libp2p/bootstrap';
import { TopicValidatorResult, gossipsub } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import type { PeerId } from '@libp2p/interface';
import { mdns } from '@libp2p/mdns';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { prometheusMetrics } from '@libp2p/prometheus-metrics';
import type { Metrics } from '../metrics/index.js';
import { createLibp2p, type Libp2p } from 'libp2p';
import { BlockError, blockId, decodeBlock, encodeBlock, type Block, type ChainStore } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { BcrError, bytesEqual, errorMessage, hexKey, isBcrError, sha256 } from '../primitives/index.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { loadOrCreatePeerKey } from './identity.js';
import { topicNames, type Status, type TopicNames } from './protocols.js';
import { join } from 'node:path';
import { PeerKeeper } from './peerKeeper.js';
import { ReqResp, type TxReception } from './reqresp.js';
import { DEFAULT_REPUTATION, PeerReputation, type OffenceKind, type ReputationOptions } from './reputation.js';

export interface NetworkOptions {
  dataDir: string;
  host: string;
  port: number;
  bootstrap: string[];
  /** LAN discovery by multicast DNS; off unless asked for. */
  mdns?: boolean;
  chain: ChainStore;
  mempool: Mempool;
  clock: Clock;
  log: Logger;
  reputation?: ReputationOptions;
  metrics?: Metrics | null;
  /** More peers worth dialling when short of peers (the registered miners' addresses). */
  candidates?: () => Promise<string[]>;
}

const MAX_CONNECTIONS = 64;
const MAX_ORDER_MESSAGE_BYTES = 4096;
const ACCEPT = TopicValidatorResult.Accept;
const IGNORE = TopicValidatorResult.Ignore;
const REJECT = TopicValidatorResult.Reject;
export type Verdict = TopicValidatorResult;
const GOSSIP_MESSAGE = { rejected: 'Rejected gossip message', failed: 'Gossip validation failed' };
const PUSHED_TX = { rejected: 'Rejected pushed tx', failed: 'Pushed tx validation failed' };

/** A typed error that says what gossip should do with the message that caused it. */
interface ActionableError {
  action: 'IGNORE' | 'REJECT';
}

function hasAction(error: unknown): error is ActionableError {
  return error instanceof Error && 'action' in error && (error.action === 'IGNORE' || error.action === 'REJECT');
}

/** A gossip message larger than its topic allows: provably bad, whatever it holds. */
class OversizedMessageError extends BcrError<'MALFORMED'> {
  readonly action = 'REJECT' as const;

  constructor(message: string) {
    super('MALFORMED', message);
    this.name = 'OversizedMessageError';
  }
}

/** The one mapping from validation errors to gossip verdicts: each typed error carries its action. */
export function verdictOf(error: unknown): Verdict {
  if (hasAction(error)) return error.action === 'REJECT' ? REJECT : IGNORE;
  return IGNORE; // our own failures: not the sender's fault
}

export type MarketTopic = 'storageAsks' | 'storageOrders' | 'retrievalOrders';
/** Validates one gossip message: resolves to accept, throws a typed error otherwise. */
export type GossipHandler = (data: Uint8Array, from: PeerId) => Promise<unknown>;

type Pubsub = ReturnType<ReturnType<typeof gossipsub>>;

export class Network {
  /** Highest head a peer told us about (sync status). */
  highestSeen = 0;
  readonly reqresp: ReqResp;
  readonly reputation: PeerReputation;
  /** Ids of blocks received from peers (gossip or sync): never re-published by us. */
  private readonly fromPeers = new LRUCache<string, true>({ max: 10_000 });
  private readonly statusListeners: ((peer: PeerId, status: Status) => void)[] = [];
  private readonly unknownParentListeners: ((peer: PeerId, block: Block) => void)[] = [];
  private readonly goneListeners: ((peer: PeerId) => void)[] = [];
  private readonly gossipCounts = { accept: 0, ignore: 0, reject: 0 };

  private constructor(
    readonly libp2p: Libp2p<{ pubsub: Pubsub }>,
    private readonly opts: NetworkOptions,
    readonly topics: TopicNames,
    private readonly denied: Set<string>,
    reputation: PeerReputation,
  ) {
    this.reputation = reputation;
    this.reqresp = new ReqResp({
      libp2p,
      topics,
      chain: opts.chain,
      now: () => opts.clock.now(),
      penalise: (peer, offence) => this.penalise(peer, offence),
      receiveTx: (tx, peer) => this.receivePushedTx(tx, peer),
      log: opts.log,
    });
  }

  static async start(opts: NetworkOptions): Promise<Network> {
    const { chain } = opts;
    const privateKey = await loadOrCreatePeerKey(opts.dataDir);
    const topics = topicNames(chain.params.network, chain.genesisId);
    const denied = new Set<string>();
    const isDenied = (peer: PeerId) => denied.has(peer.toString());
    let network: Network | undefined;
    const reputation = new PeerReputation(opts.reputation ?? DEFAULT_REPUTATION, () => opts.clock.now(), (peer, offence) => network?.ban(peer, offence));
    // Peers whose messages we reject lose score fast; below the graylist threshold they are ignored.
    // Mesh-delivery-rate penalties stay off (weight 0): our topics are low-rate (a block every few
    // seconds, rare orders), so a quiet honest peer would otherwise fall below the publish and
    // graylist thresholds and be cut off (gossipsub's defaults expect busy topics).
    const topicScore = createTopicScoreParams({
      topicWeight: 1,
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1000,
      timeInMeshCap: 3600,
      firstMessageDeliveriesWeight: 1,
      firstMessageDeliveriesDecay: 0.5,
      firstMessageDeliveriesCap: 100,
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      invalidMessageDeliveriesWeight: -100,
      invalidMessageDeliveriesDecay: 0.5,
    });
    const discovery: (ReturnType<typeof bootstrap> | ReturnType<typeof mdns>)[] = [];
    if (opts.bootstrap.length) discovery.push(bootstrap({ list: opts.bootstrap }));
    if (opts.mdns) discovery.push(mdns({ serviceTag: `bcr-${chain.params.network}.local` }));
    const libp2p = await createLibp2p({
      privateKey,
      // libp2p's own series (connections, streams, protocol traffic) in the node's registry.
      ...(opts.metrics ? { metrics: prometheusMetrics({ registry: opts.metrics.registry, collectDefaultMetrics: false }) } : {}),
      connectionManager: { maxConnections: MAX_CONNECTIONS },
      connectionGater: {
        denyDialPeer: isDenied,
        denyInboundEncryptedConnection: isDenied,
        denyOutboundEncryptedConnection: isDenied,
      },
      addresses: { listen: [`/ip4/${opts.host}/tcp/${opts.port}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: discovery,
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          emitSelf: false,
          fallbackToFloodsub: false,
          // Content-addressed ids: the same block or tx from two peers is one message.
          msgIdFn: (msg) => sha256(msg.data),
          maxInboundDataLength: chain.params.maxBlockBytes + 1024,
          scoreParams: {
            topics: Object.fromEntries([topics.blocks, topics.txs, topics.storageAsks, topics.storageOrders, topics.retrievalOrders].map((t) => [t, topicScore])),
            appSpecificScore: (peer) => reputation.score(peer),
            appSpecificWeight: 10,
          },
          scoreThresholds: { gossipThreshold: -100, publishThreshold: -200, graylistThreshold: -300 },
        }),
      },
    });
    // libp2p adds unprefixed process gauges (nodejs_memory_usage_bytes, nodejs_fs_usage_bytes with a
    // percentage among bytes, ...): the node's bcr_process_* and bcr_nodejs_* already say this.
    for (const name of ['nodejs_memory_usage_bytes', 'nodejs_memory_total_bytes', 'nodejs_fs_usage_bytes']) opts.metrics?.registry.removeSingleMetric(name);
    network = new Network(libp2p, opts, topics, denied, reputation);
    await network.wire();
    // Peers met before, the bootstrap list and on-chain miners: dialled again whenever short of peers.
    network.keeper = new PeerKeeper({
      libp2p,
      path: join(opts.dataDir, 'peers.json'),
      candidates: async () => [...opts.bootstrap, ...((await opts.candidates?.().catch(() => [])) ?? [])],
      now: () => opts.clock.now(),
      log: opts.log,
    });
    await network.keeper.start();
    return network;
  }

  private keeper: PeerKeeper | null = null;

  /** How long this node has been without peers although it knows of some (null: not isolated). */
  isolatedForMs(): number | null {
    return this.keeper?.isolatedForMs() ?? null;
  }

  /** Peers remembered across restarts. */
  knownPeers(): number {
    return this.keeper?.known() ?? 0;
  }

  get peerId(): PeerId {
    return this.libp2p.peerId;
  }

  addresses(): string[] {
    return this.libp2p.getMultiaddrs().map((a) => a.toString());
  }

  /** The TCP port this node listens on (null if none). */
  listenPort(): number | null {
    for (const address of this.libp2p.getMultiaddrs()) {
      const tcp = address.getComponents().find((c) => c.name === 'tcp');
      if (tcp?.value) return Number(tcp.value);
    }
    return null;
  }

  peerCount(): number {
    return this.libp2p.getPeers().length;
  }

  peers(): { peerId: string; address: string; direction: string; penalty: number }[] {
    return this.libp2p.getConnections().map((c) => ({
      peerId: c.remotePeer.toString(),
      address: c.remoteAddr.toString(),
      direction: c.direction,
      penalty: Math.round(this.reputation.penalty(c.remotePeer.toString()) * 100) / 100,
    }));
  }

  gossipStats(): { accept: number; ignore: number; reject: number } {
    return { ...this.gossipCounts };
  }

  /** Refuses a peer from now on and drops its connections (admin, or a ban). */
  async deny(peerId: string): Promise<void> {
    this.denied.add(peerId);
    for (const connection of this.libp2p.getConnections()) if (connection.remotePeer.toString() === peerId) await connection.close().catch(() => undefined);
  }

  allow(peerId: string): void {
    this.denied.delete(peerId);
    this.reputation.unban(peerId);
  }

  deniedPeers(): string[] {
    return [...this.denied];
  }

  penalise(peer: string, offence: OffenceKind): void {
    this.opts.metrics?.peerPenalties.inc({ offence });
    this.reputation.penalise(peer, offence);
  }

  private ban(peer: string, offence: OffenceKind): void {
    this.opts.metrics?.peerBans.inc();
    const { banMs } = this.opts.reputation ?? DEFAULT_REPUTATION;
    this.opts.log.warn({ peer, offence, banMs }, 'Banning misbehaving peer');
    void this.deny(peer);
    setTimeout(() => this.allow(peer), banMs).unref();
  }

  /** A peer told us its status (on connect, or when asked). */
  onPeerStatus(listener: (peer: PeerId, status: Status) => void): void {
    this.statusListeners.push(listener);
  }

  /** A gossip block arrived whose parent we do not have. */
  onUnknownParent(listener: (peer: PeerId, block: Block) => void): void {
    this.unknownParentListeners.push(listener);
  }

  onPeerGone(listener: (peer: PeerId) => void): void {
    this.goneListeners.push(listener);
  }

  /** Calls `listener` when a peer subscribes to a market topic (it missed what was gossiped before). */
  onMarketSubscriber(topic: MarketTopic, listener: (peer: PeerId) => void): void {
    const name = this.topics[topic];
    this.libp2p.services.pubsub.addEventListener('subscription-change', (event) => {
      if (event.detail.subscriptions.some((s) => s.topic === name && s.subscribe)) listener(event.detail.peerId);
    });
  }

  /** Asks a peer for its status; a peer of another chain is dropped. */
  async exchangeStatus(peer: PeerId): Promise<Status | null> {
    const { chain, log } = this.opts;
    try {
      const status = await this.reqresp.requestStatus(peer);
      if (!bytesEqual(status.genesisId, chain.genesisId)) {
        log.warn({ peer: peer.toString() }, 'Peer is on another chain; disconnecting');
        await this.libp2p.hangUp(peer);
        return null;
      }
      this.highestSeen = Math.max(this.highestSeen, status.headHeight);
      for (const listener of this.statusListeners) listener(peer, status);
      return status;
    } catch (error) {
      log.debug({ peer: peer.toString(), err: errorMessage(error) }, 'Status exchange failed');
      return null;
    }
  }

  /** Registers the validator of a market topic (the market module owns the order logic). */
  handleMarketTopic(topic: MarketTopic, handler: GossipHandler): void {
    const name = this.topics[topic];
    const pubsub = this.libp2p.services.pubsub;
    pubsub.subscribe(name);
    pubsub.topicValidators.set(name, async (peer, message) =>
      this.validate(peer, topic, async () => {
        if (message.data.length > MAX_ORDER_MESSAGE_BYTES) throw new OversizedMessageError(`order message of ${message.data.length} bytes, above ${MAX_ORDER_MESSAGE_BYTES}`);
        return handler(new Uint8Array(message.data), peer);
      }),
    );
  }

  /** Publishes a message this node created on a market topic. */
  publishMarket(topic: MarketTopic, data: Uint8Array): void {
    this.publish(this.topics[topic], data);
  }

  private async wire(): Promise<void> {
    const { chain, mempool, log } = this.opts;
    const pubsub = this.libp2p.services.pubsub;
    pubsub.subscribe(this.topics.blocks);
    pubsub.subscribe(this.topics.txs);
    pubsub.topicValidators.set(this.topics.blocks, async (peer, message) => this.validate(peer, 'blocks', () => this.importGossipBlock(peer, message.data)));
    pubsub.topicValidators.set(this.topics.txs, async (peer, message) => this.validate(peer, 'txs', () => mempool.add(new Uint8Array(message.data))));
    await this.reqresp.register();
    this.libp2p.addEventListener('peer:identify', (event) => {
      if (!event.detail.protocols.includes(this.topics.status)) return;
      const peer = event.detail.peerId;
      // A tx published while no peer listened reached nobody: a new peer gets our own pooled txs directly.
      void this.exchangeStatus(peer).then((status) => (status ? this.pushLocalTxs(peer) : undefined));
    });
    this.libp2p.addEventListener('peer:disconnect', (event) => {
      for (const listener of this.goneListeners) listener(event.detail);
    });
    // Publish what this node adds: its own blocks (not ones that came from peers) and admitted txs.
    chain.onHeadChange((change) => {
      for (const block of change.applied) {
        if (this.fromPeers.has(hexKey(blockId(block.header)))) continue;
        this.publish(this.topics.blocks, encodeBlock(block));
      }
    });
    mempool.onAdd((tx) => this.publish(this.topics.txs, tx.bytes));
    // Gossip will not carry re-injected txs again (their ids are in gossipsub's seen cache), and
    // peers across a healed partition never had them: push them to every peer directly.
    mempool.onReinject((txs) => void this.pushTxsToPeers(txs.map((tx) => tx.bytes)));
    log.debug({ topics: this.topics }, 'Gossip topics');
  }

  /** Runs a gossip validation step: its verdict, counted (a rejected sender is penalised). */
  private async validate(peer: PeerId, topic: string, step: () => Promise<unknown>): Promise<Verdict> {
    return this.count(await this.judge(peer.toString(), GOSSIP_MESSAGE, step, topic));
  }

  /** A tx a peer pushed to us: admitted as a gossip tx would be (and gossiped on from here). */
  private async receivePushedTx(tx: Uint8Array, peer: string): Promise<TxReception> {
    const verdict = await this.judge(peer, PUSHED_TX, () => this.opts.mempool.add(tx));
    return verdict === ACCEPT ? 'accepted' : verdict === REJECT ? 'rejected' : 'ignored';
  }

  /** Runs a validation step and turns its outcome into a verdict, penalising the sender of a rejected message. */
  private async judge(peer: string, logs: { rejected: string; failed: string }, step: () => Promise<unknown>, topic = 'push-txs'): Promise<Verdict> {
    const metrics = this.opts.metrics;
    try {
      await step();
      metrics?.gossipMessages.inc({ topic, verdict: 'accept', code: '' });
      return ACCEPT;
    } catch (error) {
      const verdict = verdictOf(error);
      metrics?.gossipMessages.inc({ topic, verdict: verdict === REJECT ? 'reject' : 'ignore', code: isBcrError(error) ? error.code : 'INTERNAL' });
      if (verdict === REJECT) {
        this.opts.log.debug({ peer, code: isBcrError(error) ? error.code : undefined, err: errorMessage(error) }, logs.rejected);
        this.penalise(peer, 'invalidGossip');
      } else if (!isBcrError(error)) this.opts.log.warn({ err: errorMessage(error) }, logs.failed);
      return verdict;
    }
  }

  private async pushLocalTxs(peer: PeerId): Promise<void> {
    const txs = this.opts.mempool.localTxs();
    if (txs.length === 0) return;
    await this.reqresp.pushTxs(peer, txs.map((tx) => tx.bytes)).catch((error: unknown) => this.opts.log.debug({ peer: peer.toString(), err: errorMessage(error) }, 'Pushing local txs failed'));
  }

  async pushTxsToPeers(txs: Uint8Array[]): Promise<void> {
    const peers = this.libp2p.getPeers();
    if (peers.length === 0) return;
    const results = await Promise.all(
      peers.map((peer) =>
        this.reqresp.pushTxs(peer, txs).catch((error: unknown) => {
          this.opts.log.debug({ peer: peer.toString(), err: errorMessage(error) }, 'Pushing txs failed');
          return { accepted: 0, ignored: 0, rejected: 0, sent: 0 };
        }),
      ),
    );
    const accepted = results.reduce((sum, r) => sum + r.accepted, 0);
    this.opts.log.info({ txs: txs.length, peers: peers.length, acceptedByPeers: accepted }, 'Pushed re-injected txs to peers');
  }

  private count(verdict: Verdict): Verdict {
    if (verdict === ACCEPT) this.gossipCounts.accept++;
    else if (verdict === IGNORE) this.gossipCounts.ignore++;
    else this.gossipCounts.reject++;
    return verdict;
  }

  private async importGossipBlock(peer: PeerId, data: Uint8Array): Promise<void> {
    const { chain, clock } = this.opts;
    let block: Block;
    try {
      block = decodeBlock(new Uint8Array(data), chain.params.maxBlockBytes);
    } catch (error) {
      throw new BlockError('MALFORMED', `undecodable block: ${errorMessage(error)}`);
    }
    this.rememberFromPeers(block);
    try {
      await chain.importBlock(block, clock.now());
    } catch (error) {
      if (error instanceof BlockError && error.code === 'PARENT_UNKNOWN') for (const listener of this.unknownParentListeners) listener(peer, block);
      throw error;
    }
  }

  /** Blocks that came from peers are theirs to gossip, not ours to re-publish. */
  rememberFromPeers(block: Block): void {
    this.fromPeers.set(hexKey(blockId(block.header)), true);
  }

  private publish(topic: string, data: Uint8Array): void {
    const pubsub = this.libp2p.services.pubsub;
    if (pubsub.getSubscribers(topic).length === 0) return;
    pubsub.publish(topic, data).catch((error: unknown) => {
      // Already seen (it came from the network): nothing to do.
      if (!/duplicate/i.test(errorMessage(error))) this.opts.log.debug({ err: errorMessage(error) }, 'Publish failed');
    });
  }

  async dial(address: string): Promise<void> {
    await this.libp2p.dial(multiaddr(address));
  }

  async stop(): Promise<void> {
    await this.keeper?.stop();
    await this.libp2p.stop();
  }
}
