// Equivocation reported by the network (real processes on 127.0.0.1): miner 1 of a two-miner devnet
// double-signs (a twin of one of its blocks, signed with its worker key, is gossiped by a peer); the
// node of miner 2 sees both headers, reports them itself, and the chain slashes miner 1, pays the
// reporter its share and makes miner 1 ineligible.
import '../../src/util/polyfills.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blockId, decodeBlock, encodeBlock, signHeader, type Block } from '../../src/chain/index.js';
import { DEVNET_WORKER_KEYS, devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { topicNames } from '../../src/p2p/protocols.js';
import { addressOf, fromHex, sha256, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { tempDir } from '../helpers/chain.js';
import { logEntries, p2pAddress, rpc, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-equivocation-');
const genesis = devnetGenesis({ miners: 2, nowMs: Date.now(), startDelayMs: 4000, slotMs: 200, finality: 40, proofProfile: 'test' });
const nodes: RunningNode[] = [];
afterAll(async () => {
  for (const node of nodes) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

interface MinerRecord {
  collateral: string;
  pledge: string;
  ineligibleUntil: number;
}

describe('a miner that double-signs', () => {
  it('is reported by another miner\'s node, slashed, made ineligible, and the reporter rewarded', async () => {
    for (let i = 0; i < 2; i++) {
      const bootstrap = nodes.map(p2pAddress);
      nodes.push(await startNodeProcess(prepareDevnetNode({ dataDir: join(dir.path, `node-${i}`), genesisJson: devnetGenesisJson(genesis), index: i, miners: 2, rpcPort: 0, p2pPort: 0, bootstrap }), 30_000));
    }
    const [node1, node2] = nodes as [RunningNode, RunningNode];
    const info = await rpc<{ genesis: string; network: string }>(node2.rpcUrl, 'bcr_nodeInfo');
    const topic = topicNames(info.network, fromHex(info.genesis)).blocks;
    const peer = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify(), pubsub: gossipsub({ emitSelf: false }) } });
    try {
      // Miner 1's blocks, as gossip carries them.
      const minerOneBlocks: Block[] = [];
      peer.services.pubsub.addEventListener('message', (event) => {
        if (event.detail.topic !== topic) return;
        const block = decodeBlock(new Uint8Array(event.detail.data));
        if (block.header.miner === 1) minerOneBlocks.push(block);
      });
      for (const node of [node1, node2]) await peer.dial(multiaddr(p2pAddress(node)));
      peer.services.pubsub.subscribe(topic);
      await waitFor('the peer in the mesh', async () => peer.services.pubsub.getSubscribers(topic).length >= 2, 10_000, 50);
      // The original: a block of miner 1 that node 2 holds. On a busy machine node 2 can lag behind
      // the gossip this peer saw, or a block can lose its slot to a fork node 2 never fetched; a twin
      // with an unknown parent is not judged. So take the newest of miner 1's blocks node 2 has.
      const holds = async (block: Block): Promise<boolean> => (await rpc<{ id: string } | null>(node2.rpcUrl, 'bcr_getBlockById', [toHex(blockId(block.header)), false]).catch(() => null)) !== null;
      const original = await waitFor('a block by miner 1 that node 2 holds', async () => {
        for (const block of minerOneBlocks.slice(-4).reverse()) if (await holds(block)) return block;
        return undefined;
      }, 60_000, 100);
      const before = await rpc<MinerRecord>(node2.rpcUrl, 'bcr_getMiner', [1]);
      expect(BigInt(before.collateral) + BigInt(before.pledge)).toBeGreaterThan(0n);

      // Its twin: the same slot, other contents, signed with miner 1's worker key.
      const { signature: _signature, ...unsigned } = original.header;
      const twin = { header: signHeader(fromHex(DEVNET_WORKER_KEYS[0]!), genesis.params.chainId, { ...unsigned, stateRoot: sha256(unsigned.stateRoot) }), txs: original.txs };
      await peer.services.pubsub.publish(topic, encodeBlock(twin));

      // Miner 2's node reports it; the chain slashes miner 1.
      const reporter = toChecksumAddress(addressOf(fromHex(DEVNET_WORKER_KEYS[1]!)));
      const report = await waitFor('the report logged', async () => logEntries<{ reporter: string; tx: string; slot: number }>(node2, 'Equivocation seen: reported')[0], 45_000, 100).catch((error: unknown) => {
        // Say what node 2 saw instead: its warnings, and what became of the twin.
        const seen = node2.logs.filter((line) => /"level":(40|50)|quivocation|twin/i.test(line)).slice(-20).join('\n');
        throw new Error(`${error instanceof Error ? error.message : String(error)}; node 2 logged:\n${seen}`);
      });
      expect(report.reporter).toBe(reporter);
      expect(report.slot).toBe(original.header.slot);
      const receipt = await waitFor('the report in a block', () => rpc<{ status: string; height: number } | null>(node2.rpcUrl, 'bcr_getTransactionReceipt', [report.tx]), 30_000, 100);
      expect(receipt.status).toBe('ok');
      // Read where the receipt was seen (the other node may not have that block yet on a busy machine).
      const after = await rpc<MinerRecord>(node2.rpcUrl, 'bcr_getMiner', [1]);
      // The devnet slash (1,000 BCR) is above all miner 1 holds: everything goes.
      expect(after.collateral).toBe('0');
      expect(after.pledge).toBe('0');
      expect(after.ineligibleUntil).toBe(original.header.slot + genesis.params.miners.equivocationIneligibleSlots);
      // The report tx moved a tenth of what it took to the reporter: look at it in its block.
      const block = await rpc<{ txs: { id: string; from: string; kind: string }[] }>(node2.rpcUrl, 'bcr_getBlockByHeight', [receipt.height, true]);
      expect(block.txs.find((t) => t.id === report.tx)).toMatchObject({ from: reporter, kind: 'reportEquivocation' });
      // No block of miner 1 after its slash.
      const slashedAt = receipt.height;
      await waitFor('ten more blocks', async () => (await rpc<{ height: number }>(node1.rpcUrl, 'bcr_chainHead')).height >= slashedAt + 10, 30_000);
      for (let h = slashedAt + 1; h <= slashedAt + 10; h++) expect((await rpc<{ miner: number }>(node1.rpcUrl, 'bcr_getBlockByHeight', [h])).miner).toBe(2);
    } finally {
      await peer.stop();
    }
  }, 120_000);
});
