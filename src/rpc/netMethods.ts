// Peers and sync status (read), and peer management (admin).
import type { ChainStore } from '../chain/index.js';
import type { Network } from '../p2p/network.js';
import type { SyncManager } from '../sync/index.js';
import { errorMessage } from '../primitives/index.js';
import { RpcError, RpcErrorCode, type MethodDescriptor, type ParamSpec } from './jsonRpc.js';

function textParam(name: string, pattern: RegExp, what: string): ParamSpec {
  return {
    name,
    schema: { type: 'string', pattern: pattern.source },
    parse(value) {
      if (typeof value !== 'string' || !pattern.test(value)) throw new Error(`expected ${what}`);
      return value;
    },
  };
}

const peerIdParam = textParam('peerId', /^[1-9A-HJ-NP-Za-km-z]{32,64}$/, 'a libp2p peer id');

export function netMethods({ chain, network, sync }: { chain: ChainStore; network: Network | null; sync: SyncManager | null }): MethodDescriptor[] {
  const net = () => {
    if (!network) throw new RpcError(RpcErrorCode.notFound, 'this node runs without networking');
    return network;
  };
  return [
    {
      name: 'bcr_peers',
      description: 'Connected peers: peer id, remote address, direction.',
      params: [],
      handler: async () => (network ? network.peers() : []),
    },
    {
      name: 'bcr_syncStatus',
      description: 'Whether the node is catching up (with its rate and ETA), its head and finalized height, and the highest head a peer reported.',
      params: [],
      handler: async () => {
        const progress = sync?.progress();
        return {
          syncing: progress?.syncing ?? false,
          head: chain.head.header.height,
          finalized: chain.finalizedHeight,
          target: progress?.target ?? chain.head.header.height,
          blocksPerSecond: progress?.blocksPerSecond ?? 0,
          etaSeconds: progress?.etaSeconds ?? null,
          gossip: network?.gossipStats() ?? null,
          highestSeen: Math.max(chain.head.header.height, network?.highestSeen ?? 0),
          peers: network?.peerCount() ?? 0,
          /** Peers remembered across restarts (dialled again when short of peers). */
          knownPeers: network?.knownPeers() ?? 0,
          /** Seconds without any peer although others are known (null: not isolated): a miner alone mines a fork. */
          isolatedSeconds: ((ms) => (ms === null ? null : Math.floor(ms / 1000)))(network?.isolatedForMs() ?? null),
          peerId: network?.peerId.toString() ?? null,
          listen: network?.addresses() ?? [],
        };
      },
    },
    {
      name: 'bcr_connectPeer',
      description: 'Dials a peer by multiaddr (admin).',
      permission: 'admin',
      params: [textParam('multiaddr', /^\/.+\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/, 'a multiaddr ending in /p2p/<peer id>')],
      handler: async ([address]) => {
        try {
          await net().dial(address as string);
        } catch (error) {
          throw new RpcError(RpcErrorCode.rejected, `dial failed: ${errorMessage(error)}`);
        }
        return true;
      },
    },
    {
      name: 'bcr_denyPeer',
      description: 'Refuses a peer from now on and drops its connections (admin).',
      permission: 'admin',
      params: [peerIdParam],
      handler: async ([peerId]) => {
        await net().deny(peerId as string);
        return net().deniedPeers();
      },
    },
    {
      name: 'bcr_allowPeer',
      description: 'Lifts a deny (admin).',
      permission: 'admin',
      params: [peerIdParam],
      handler: async ([peerId]) => {
        net().allow(peerId as string);
        return net().deniedPeers();
      },
    },
  ];
}
