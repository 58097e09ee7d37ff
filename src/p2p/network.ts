// The node's libp2p host: TCP + noise + yamux + identify + ping + gossipsub. Blocks and txs travel
// by gossip, each message validated before it is forwarded (the ONE place that maps our typed
// errors to gossipsub's accept / ignore / reject); a status and a blocks-by-range protocol let a
// node catch up from its peers.
import '../util/polyfills.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { bootstrap } from '@libp2p/bootstrap';
import { TopicValidatorResult, gossipsub } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import type { PeerId, Stream } from '@libp2p/interface';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { BlockError, blockId, decodeBlock, encodeBlock, type Block, type ChainStore } from '../chain/index.js';
import type { Mempool } from '../mempool/index.js';
import { MempoolError } from '../mempool/index.js';
import { bytesEqual, decode, encode, errorMessage, hexKey, isBcrError, sha256 } from '../primitives/index.js';
import { TxError } from '../state/index.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { loadOrCreatePeerKey } from './identity.js';
import { MAX_RANGE_BLOCKS, rangeRequestCodec, statusCodec, topicNames, type Status } from './protocols.js';

export interface NetworkOptions {
  dataDir: string;
  host: string;
  port: number;
  bootstrap: string[];
  chain: ChainStore;
  mempool: Mempool;
  clock: Clock;
  log: Logger;
}

const MAX_CONNECTIONS = 64;
/** Invalid gossip messages a peer may send before it is banned, and for how long. */
const MAX_STRIKES = 10;
const BAN_MS = 10 * 60_000;
const ACCEPT = TopicValidatorResult.Accept;
const IGNORE = TopicValidatorResult.Ignore;
const REJECT = TopicValidatorResult.Reject;
type Verdict = TopicValidatorResult;

export class Network {
  /** Highest head a peer told us about (sync status). */
  highestSeen = 0;
  /** Ids of blocks received from peers (gossip or sync): never re-published by us. */
  private readonly fromPeers = new Set<string>();

  /** Rejected messages per peer; past the limit the peer is banned for a while. */
  private readonly strikes = new Map<string, number>();

  private strike(peer: PeerId): void {
    const key = peer.toString();
    const count = (this.strikes.get(key) ?? 0) + 1;
    this.strikes.set(key, count);
    if (count < MAX_STRIKES) return;
    this.strikes.delete(key);
    this.opts.log.warn({ peer: key, rejected: count, banMs: BAN_MS }, 'Banning peer that sent invalid messages');
    void this.deny(key);
    setTimeout(() => this.allow(key), BAN_MS).unref();
  }

  private rememberFromPeers(block: Block): void {
    if (this.fromPeers.size > 10_000) this.fromPeers.clear();
    this.fromPeers.add(hexKey(blockId(block.header)));
  }

  private constructor(
    readonly libp2p: Libp2p<{ pubsub: ReturnType<ReturnType<typeof gossipsub>> }>,
    private readonly opts: NetworkOptions,
    private readonly topics: ReturnType<typeof topicNames>,
    private readonly denied: Set<string>,
  ) {}

  static async start(opts: NetworkOptions): Promise<Network> {
    const { chain } = opts;
    const privateKey = await loadOrCreatePeerKey(opts.dataDir);
    const topics = topicNames(chain.params.network, chain.genesisId);
    const denied = new Set<string>();
    const isDenied = (peer: PeerId) => denied.has(peer.toString());
    // Peers whose messages we reject lose score fast; below the graylist threshold they are ignored.
    const topicScore = createTopicScoreParams({
      topicWeight: 1,
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1000,
      timeInMeshCap: 3600,
      invalidMessageDeliveriesWeight: -100,
      invalidMessageDeliveriesDecay: 0.5,
    });
    const libp2p = await createLibp2p({
      privateKey,
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
      peerDiscovery: opts.bootstrap.length ? [bootstrap({ list: opts.bootstrap })] : [],
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          emitSelf: false,
          fallbackToFloodsub: false,
          // Content-addressed ids: the same block or tx from two peers is one message.
          msgIdFn: (msg) => sha256(msg.data),
          maxInboundDataLength: chain.params.maxBlockBytes + 1024,
          scoreParams: { topics: { [topics.blocks]: topicScore, [topics.txs]: topicScore } },
          scoreThresholds: { gossipThreshold: -100, publishThreshold: -200, graylistThreshold: -300 },
        }),
      },
    });
    const network = new Network(libp2p, opts, topics, denied);
    network.wire();
    return network;
  }

  get peerId(): PeerId {
    return this.libp2p.peerId;
  }

  addresses(): string[] {
    return this.libp2p.getMultiaddrs().map((a) => a.toString());
  }

  peerCount(): number {
    return this.libp2p.getPeers().length;
  }

  peers(): { peerId: string; address: string; direction: string }[] {
    return this.libp2p.getConnections().map((c) => ({ peerId: c.remotePeer.toString(), address: c.remoteAddr.toString(), direction: c.direction }));
  }

  get isSyncing(): boolean {
    return this.syncing;
  }

  /** Refuses a peer from now on and drops its connections (admin). */
  async deny(peerId: string): Promise<void> {
    this.denied.add(peerId);
    for (const connection of this.libp2p.getConnections()) if (connection.remotePeer.toString() === peerId) await connection.close();
  }

  allow(peerId: string): void {
    this.denied.delete(peerId);
  }

  deniedPeers(): string[] {
    return [...this.denied];
  }

  private wire(): void {
    const { chain, mempool, log } = this.opts;
    const pubsub = this.libp2p.services.pubsub;
    pubsub.subscribe(this.topics.blocks);
    pubsub.subscribe(this.topics.txs);
    pubsub.topicValidators.set(this.topics.blocks, async (peer, message) => this.validateBlock(peer, message.data));
    pubsub.topicValidators.set(this.topics.txs, async (peer, message) => this.validateTx(peer, message.data));
    void this.libp2p.handle(this.topics.status, (stream) => void this.serveStatus(stream));
    void this.libp2p.handle(this.topics.blocksByRange, (stream) => void this.serveRange(stream));
    this.libp2p.addEventListener('peer:identify', (event) => {
      if (event.detail.protocols.includes(this.topics.status)) void this.syncFrom(event.detail.peerId);
    });
    // Publish what this node adds: its own blocks (not ones that came from peers) and admitted txs.
    chain.onHeadChange((change) => {
      for (const block of change.applied) {
        const key = hexKey(blockId(block.header));
        if (this.fromPeers.has(key)) continue;
        this.publish(this.topics.blocks, encodeBlock(block));
      }
    });
    mempool.onAdd((tx) => this.publish(this.topics.txs, tx.bytes));
    log.debug({ topics: this.topics }, 'Gossip topics');
  }

  private publish(topic: string, data: Uint8Array): void {
    const pubsub = this.libp2p.services.pubsub;
    if (pubsub.getSubscribers(topic).length === 0) return;
    pubsub.publish(topic, data).catch((error: unknown) => {
      // Already seen (it came from the network): nothing to do.
      if (!/duplicate/i.test(errorMessage(error))) this.opts.log.debug({ err: errorMessage(error) }, 'Publish failed');
    });
  }

  private async validateBlock(peer: PeerId, data: Uint8Array): Promise<Verdict> {
    const { chain, clock, log } = this.opts;
    let block: Block;
    try {
      block = decodeBlock(new Uint8Array(data), chain.params.maxBlockBytes);
    } catch {
      this.strike(peer);
      return REJECT;
    }
    this.rememberFromPeers(block);
    try {
      await chain.importBlock(block, clock.now());
      return ACCEPT;
    } catch (error) {
      if (error instanceof BlockError) {
        if (error.code === 'PARENT_UNKNOWN') void this.syncFrom(peer);
        if (error.action === 'REJECT') {
          log.debug({ peer: peer.toString(), code: error.code }, 'Rejected gossip block');
          this.strike(peer);
        }
        return error.action === 'REJECT' ? REJECT : IGNORE;
      }
      log.warn({ err: errorMessage(error) }, 'Block import failed');
      return IGNORE;
    }
  }

  private async validateTx(peer: PeerId, data: Uint8Array): Promise<Verdict> {
    try {
      await this.opts.mempool.add(new Uint8Array(data));
      return ACCEPT;
    } catch (error) {
      if (error instanceof TxError) {
        this.strike(peer);
        return REJECT;
      }
      if (error instanceof MempoolError) return IGNORE;
      return IGNORE;
    }
  }

  private status(): Status {
    const { chain } = this.opts;
    return { genesisId: chain.genesisId, headHeight: chain.head.header.height, headId: chain.head.id, finalizedHeight: chain.finalizedHeight };
  }

  private async serveStatus(stream: Stream): Promise<void> {
    try {
      const lp = lpStream(stream);
      await lp.write(encode(statusCodec, this.status()));
      await stream.close();
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async serveRange(stream: Stream): Promise<void> {
    const { chain } = this.opts;
    try {
      const lp = lpStream(stream, { maxDataLength: 1024 });
      const request = decode(rangeRequestCodec, (await lp.read()).subarray(), 'range request');
      const out = lpStream(stream, { maxDataLength: chain.params.maxBlockBytes + 1024 });
      for (let h = request.start; h < request.start + request.count && h <= chain.head.header.height; h++) {
        const block = await chain.getBlockByHeight(h);
        if (!block) break;
        await out.write(encodeBlock(block));
      }
      await stream.close();
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private syncing = false;

  /** Catches up from a peer whose head is higher: ranges from just below our finalized height. */
  async syncFrom(peer: PeerId): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    const { chain, clock, log } = this.opts;
    try {
      const statusStream = await this.libp2p.dialProtocol(peer, this.topics.status);
      const theirs = decode(statusCodec, (await lpStream(statusStream).read()).subarray(), 'status');
      await statusStream.close();
      if (!bytesEqual(theirs.genesisId, chain.genesisId)) {
        log.warn({ peer: peer.toString() }, 'Peer is on another chain; disconnecting');
        await this.libp2p.hangUp(peer);
        return;
      }
      this.highestSeen = Math.max(this.highestSeen, theirs.headHeight);
      if (theirs.headHeight <= chain.head.header.height) return;
      const start = process.hrtime.bigint();
      const from = Math.max(1, chain.finalizedHeight);
      let height = from;
      let imported = 0;
      log.info({ peer: peer.toString(), from, to: theirs.headHeight }, 'Syncing');
      while (height <= theirs.headHeight) {
        const stream = await this.libp2p.dialProtocol(peer, this.topics.blocksByRange);
        const lp = lpStream(stream, { maxDataLength: chain.params.maxBlockBytes + 1024 });
        const count = Math.min(MAX_RANGE_BLOCKS, theirs.headHeight - height + 1);
        await lp.write(encode(rangeRequestCodec, { start: height, count }));
        let got = 0;
        for (; got < count; got++) {
          let bytes: Uint8Array;
          try {
            bytes = (await lp.read()).subarray();
          } catch {
            break; // the peer closed: it had fewer blocks
          }
          try {
            const block = decodeBlock(new Uint8Array(bytes), chain.params.maxBlockBytes);
            this.rememberFromPeers(block);
            await chain.importBlock(block, clock.now());
            imported++;
          } catch (error) {
            if (!isBcrError(error, 'ALREADY_KNOWN')) throw error;
          }
        }
        await stream.close().catch(() => undefined);
        if (got === 0) break;
        height += got;
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        log.info({ height: chain.head.header.height, target: theirs.headHeight, blocksPerSecond: Math.round(imported / Math.max(seconds, 1e-3)) }, 'Sync progress');
      }
      log.info({ height: chain.head.header.height, imported, head: `0x${hexKey(chain.head.id).slice(0, 16)}` }, 'Synced');
    } catch (error) {
      log.warn({ peer: peer.toString(), err: errorMessage(error) }, 'Sync failed');
    } finally {
      this.syncing = false;
    }
  }

  async dial(address: string): Promise<void> {
    await this.libp2p.dial(multiaddr(address));
  }

  async stop(): Promise<void> {
    await this.libp2p.stop();
  }
}
