// Two real node processes on 127.0.0.1: a miner and a follower that bootstraps to it, catches up
// over blocks-by-range, then follows gossip; a tx sent to the follower reaches the miner's blocks.
import '../../src/util/polyfills.js';
import { copyFileSync, mkdirSync } from 'node:fs';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { lpStream } from '@libp2p/utils';
import { MAX_PUSH_BYTES, ResponseCode, pushTxsCodec, pushTxsResultCodec, rangeRequestCodec, topicNames } from '../../src/p2p/protocols.js';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, encode, fromHex, sha256, toHex } from '../../src/primitives/index.js';
import { blockId, decodeBlock, encodeBlock, signHeader, txRootOf } from '../../src/chain/index.js';
import { DEV_KEY, TEAM_ADDRESS, WORKER_KEY, tempDir, transferTx } from '../helpers/chain.js';
import { signOrder } from '../../src/market/index.js';
import { p2pAddress, rawPost, rpc, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';
import { createToken, readSecret } from '../../src/rpc/auth.js';
import { txId } from '../../src/state/index.js';

const dir = tempDir('bcr-p2p-');
const nodes: RunningNode[] = [];
afterAll(async () => {
  for (const node of nodes) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

type Head = { height: number; id: string };

/** A mining test-network node with networking, and its protocol names. */
async function startLoneNode(name: string): Promise<{ node: RunningNode; topics: ReturnType<typeof topicNames> }> {
  const node = await startNodeProcess(['--network', 'test', '--data-dir', join(dir.path, name), '--rpc-port', '0', '--p2p-port', '0']);
  nodes.push(node);
  const info = await rpc<{ genesis: string; network: string }>(node.rpcUrl, 'bcr_nodeInfo');
  return { node, topics: topicNames(info.network, fromHex(info.genesis)) };
}


/** A bare libp2p client (no BCR logic) to talk raw request/response to a node. */
const rawClient = () => createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } });

/** Sends one raw request; returns every answer chunk (result byte first). */
async function askRaw(client: Awaited<ReturnType<typeof rawClient>>, server: RunningNode, protocol: string, body: Uint8Array): Promise<Uint8Array[]> {
  const stream = await client.dialProtocol(multiaddr(p2pAddress(server)), protocol);
  const lp = lpStream(stream, { maxDataLength: 8 << 20 });
  await lp.write(body);
  const chunks: Uint8Array[] = [];
  for (;;) {
    try {
      chunks.push((await lp.read()).subarray());
    } catch {
      return chunks;
    }
  }
}

describe('two nodes over libp2p', () => {
  it('a follower syncs from a miner, follows its gossip, and gossips txs back', async () => {
    const minerDir = join(dir.path, 'miner');
    const miner = await startNodeProcess(['--network', 'test', '--data-dir', minerDir, '--rpc-port', '0', '--p2p-port', '0']);
    nodes.push(miner);
    await waitFor('the miner to make 8 blocks', async () => (await rpc<Head>(miner.rpcUrl, 'bcr_chainHead')).height >= 8);
    // The follower joins the same chain: same genesis (with its fixed start time).
    const followerDir = join(dir.path, 'follower');
    mkdirSync(followerDir, { recursive: true });
    copyFileSync(join(minerDir, 'genesis.json'), join(followerDir, 'genesis.json'));
    const followerArgs = ['--network', 'test', '--data-dir', followerDir, '--rpc-port', '0', '--p2p-port', '0', '--no-mine', '--bootstrap', p2pAddress(miner)];
    let follower = await startNodeProcess(followerArgs);
    nodes.push(follower);
    await waitFor('the follower to sync', async () => (await rpc<Head>(follower.rpcUrl, 'bcr_chainHead')).height >= 8, 30_000);
    // Then it follows new blocks by gossip.
    const target = (await rpc<Head>(miner.rpcUrl, 'bcr_chainHead')).height + 3;
    await waitFor('gossip to bring new blocks', async () => (await rpc<Head>(follower.rpcUrl, 'bcr_chainHead')).height >= target, 30_000);
    const headOf = async (url: string, height: number) => (await rpc<{ id: string }>(url, 'bcr_getBlockByHeight', [height])).id;
    expect(await headOf(follower.rpcUrl, target)).toBe(await headOf(miner.rpcUrl, target));
    // Past gossipsub's 5 s mesh activation, the follower (which publishes nothing) still gets every
    // new block pushed by gossip, not fetched afterwards as a missing parent.
    const gossipAccepted = async () => (await rpc<{ gossip: { accept: number } }>(follower.rpcUrl, 'bcr_syncStatus')).gossip.accept;
    const [acceptedBefore, heightBefore] = [await gossipAccepted(), (await rpc<Head>(follower.rpcUrl, 'bcr_chainHead')).height];
    await new Promise((r) => setTimeout(r, 8000));
    const grown = (await rpc<Head>(follower.rpcUrl, 'bcr_chainHead')).height - heightBefore;
    expect(grown).toBeGreaterThanOrEqual(5);
    expect((await gossipAccepted()) - acceptedBefore).toBeGreaterThanOrEqual(grown - 1);
    // A tx sent to the follower is gossiped to the miner and included.
    const raw = transferTx(DEV_KEY, await rpc<number>(follower.rpcUrl, 'bcr_getNonce', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'pending']), TEAM_ADDRESS, 77n);
    const txId = await rpc<string>(follower.rpcUrl, 'bcr_sendRawTransaction', [toHex(raw)]);
    const receipt = await waitFor('the tx in a block', () => rpc<{ status: string; height: number } | null>(follower.rpcUrl, 'bcr_getTransactionReceipt', [txId]), 30_000);
    expect(receipt.status).toBe('ok');
    expect(await rpc(miner.rpcUrl, 'bcr_getTransactionReceipt', [txId])).toMatchObject({ height: receipt.height });
    // Market orders travel the same way: an ask by the miner's worker and a client's storage order.
    const slot = (await rpc<{ slot: number }>(miner.rpcUrl, 'bcr_chainHead')).slot;
    const ask = signOrder('storageAsk', { miner: 1, pricePerGiBSlot: 5n, minPieceBytes: 128, maxPieceBytes: 2048, collateralPerGiB: 1n, expirySlot: slot + 10_000, seq: 1 }, WORKER_KEY, 3012);
    const order = signOrder('storageOrder', { pieceCommitment: new Uint8Array(32).fill(3), pieceBytes: 1024, durationSlots: 500, maxPricePerGiBSlot: 9n, replicas: 2, expirySlot: slot + 10_000, nonce: 1 }, DEV_KEY, 3012);
    const askId = await rpc<string>(miner.rpcUrl, 'bcr_submitOrder', ['storageAsk', toHex(ask)]);
    const orderId = await rpc<string>(follower.rpcUrl, 'bcr_submitOrder', ['storageOrder', toHex(order)]);
    await waitFor('the ask at the follower', async () => (await rpc<{ id: string }[]>(follower.rpcUrl, 'bcr_getOrders', ['storageAsk'])).some((o) => o.id === askId), 10_000);
    await waitFor('the order at the miner', async () => (await rpc<{ id: string }[]>(miner.rpcUrl, 'bcr_getOrders', ['storageOrder'])).some((o) => o.id === orderId), 10_000);
    const [listed] = await rpc<{ signer: string; pieceBytes: number; maxPricePerGiBSlot: string }[]>(miner.rpcUrl, 'bcr_getOrders', ['storageOrder']);
    expect(listed).toMatchObject({ signer: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', pieceBytes: 1024, maxPricePerGiBSlot: '9' });
    const forged = signOrder('storageAsk', { miner: 1, pricePerGiBSlot: 1n, minPieceBytes: 128, maxPieceBytes: 2048, collateralPerGiB: 1n, expirySlot: slot + 10_000, seq: 2 }, DEV_KEY, 3012);
    await expect(rpc(follower.rpcUrl, 'bcr_submitOrder', ['storageAsk', toHex(forged)])).rejects.toThrow(/not signed by its worker key/);
    // Killed and restarted, the follower catches up again.
    await stopProcess(follower, 'SIGKILL');
    const beforeRestart = (await rpc<Head>(miner.rpcUrl, 'bcr_chainHead')).height;
    await waitFor('the miner to move on', async () => (await rpc<Head>(miner.rpcUrl, 'bcr_chainHead')).height >= beforeRestart + 4, 30_000);
    follower = await startNodeProcess(followerArgs);
    nodes.push(follower);
    await waitFor('the restarted follower to catch up', async () => (await rpc<Head>(follower.rpcUrl, 'bcr_chainHead')).height >= beforeRestart + 4, 30_000);
    // Peers and sync status; an admin can deny a peer, which drops it.
    const minerStatus = await rpc<{ peerId: string; peers: number }>(miner.rpcUrl, 'bcr_syncStatus');
    expect(minerStatus.peers).toBe(1);
    expect(await rpc<{ peerId: string }[]>(follower.rpcUrl, 'bcr_peers')).toEqual([expect.objectContaining({ peerId: minerStatus.peerId })]);
    await waitFor('the follower to settle', async () => {
      const status = await rpc<{ syncing: boolean; peers: number }>(follower.rpcUrl, 'bcr_syncStatus');
      return !status.syncing && status.peers === 1;
    }, 20_000);
    await expect(rpc(follower.rpcUrl, 'bcr_denyPeer', [minerStatus.peerId])).rejects.toThrow(/needs a token with 'admin'/);
    const admin = await createToken(readSecret(followerDir), 'admin');
    const denied = JSON.parse((await rawPost(follower.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_denyPeer', params: [minerStatus.peerId] }), { authorization: `Bearer ${admin}` })).text);
    expect(denied.result).toEqual([minerStatus.peerId]);
    await waitFor('the denied peer to be gone', async () => (await rpc<unknown[]>(follower.rpcUrl, 'bcr_peers')).length === 0, 10_000);
  }, 90_000);
});

describe('a peer flooding invalid blocks and txs', () => {
  it('is banned and disconnected while the node keeps making blocks', async () => {
    const { node: victim, topics } = await startLoneNode('victim');
    const { blocks: topic, txs: txTopic } = topics;
    const attacker = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: gossipsub({ emitSelf: false }) },
    });
    try {
      await attacker.dial(multiaddr(p2pAddress(victim)));
      attacker.services.pubsub.subscribe(topic);
      attacker.services.pubsub.subscribe(txTopic);
      await waitFor('the victim to see the attacker subscribed', async () => attacker.services.pubsub.getSubscribers(topic).length > 0 && attacker.services.pubsub.getSubscribers(txTopic).length > 0, 10_000, 50);
      expect(await rpc<unknown[]>(victim.rpcUrl, 'bcr_peers')).toHaveLength(1);
      const before = (await rpc<Head>(victim.rpcUrl, 'bcr_chainHead')).height;
      // Invalid blocks and invalid txs, alternately.
      for (let i = 0; i < 16; i++) await attacker.services.pubsub.publish(i % 2 ? txTopic : topic, new Uint8Array([i % 2 ? 0x97 : 0x92, 0xc0, i])).catch(() => undefined);
      await waitFor('the attacker to be dropped', async () => attacker.getConnections().length === 0 && (await rpc<unknown[]>(victim.rpcUrl, 'bcr_peers')).length === 0, 15_000);
      // While banned it cannot come back.
      await attacker.dial(multiaddr(p2pAddress(victim))).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      expect(await rpc<unknown[]>(victim.rpcUrl, 'bcr_peers')).toHaveLength(0);
      await waitFor('honest blocks to keep coming', async () => (await rpc<Head>(victim.rpcUrl, 'bcr_chainHead')).height > before + 2, 20_000);
    } finally {
      await attacker.stop();
    }
  }, 60_000);
});

describe('a peer flooding side blocks signed by a random key', () => {
  it('stores none, relays none, and is penalised and banned for them', async () => {
    const { node: victim, topics } = await startLoneNode('side-victim');
    const client = () =>
      createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify(), pubsub: gossipsub({ emitSelf: false }) } });
    const [attacker, watcher] = await Promise.all([client(), client()]);
    try {
      // The watcher is an honest peer of the victim: it must see the victim's blocks, never the junk.
      const seen: Uint8Array[] = [];
      watcher.services.pubsub.addEventListener('message', (event) => {
        if (event.detail.topic === topics.blocks) seen.push(new Uint8Array(event.detail.data));
      });
      for (const peer of [attacker, watcher]) {
        await peer.dial(multiaddr(p2pAddress(victim)));
        peer.services.pubsub.subscribe(topics.blocks);
      }
      await waitFor('both peers in the victim\'s mesh', async () => attacker.services.pubsub.getSubscribers(topics.blocks).length > 0 && watcher.services.pubsub.getSubscribers(topics.blocks).length > 0, 10_000, 50);
      await waitFor('a few blocks', async () => (await rpc<Head>(victim.rpcUrl, 'bcr_chainHead')).height >= 3, 20_000);
      const seenBefore = seen.length;
      const info = await rpc<{ chainId: number }>(victim.rpcUrl, 'bcr_nodeInfo');
      const genesisTime = Number((await rpc<{ timestamp: number }>(victim.rpcUrl, 'bcr_getBlockByHeight', [0])).timestamp);
      const randomKey = sha256(new Uint8Array([0xba, 0xd]));
      const junk = new Uint8Array(256 * 1024 - 64).fill(0xee); // in the WinningPoSt field: no tx check sees it
      const forgedIds: string[] = [];
      // Flood until the victim bans the attacker (bounded): a busy victim may take a while to score it.
      for (let i = 0; i < 48 && attacker.getConnections().length > 0; i++) {
        // Beside the current head each time: never final however long a busy victim takes.
        const tip = await rpc<Head>(victim.rpcUrl, 'bcr_chainHead');
        const parent = await rpc<{ id: string; height: number; slot: number }>(victim.rpcUrl, 'bcr_getBlockByHeight', [tip.height - 1]);
        const slot = parent.slot + 1; // a side block beside the head: neither final nor in the future
        const header = signHeader(randomKey, info.chainId, {
          parentId: fromHex(parent.id), height: parent.height + 1, slot, timestamp: genesisTime + slot * 250, miner: 1,
          vrfProof: new Uint8Array(80).fill(i), vrfOutput: sha256(new Uint8Array([i])), winningPost: junk,
          txRoot: txRootOf([]), receiptsRoot: new Uint8Array(32), stateRoot: new Uint8Array(32),
        });
        forgedIds.push(toHex(blockId(header)));
        await attacker.services.pubsub.publish(topics.blocks, encodeBlock({ header, txs: [] })).catch(() => undefined);
        if (i >= 11) await new Promise((r) => setTimeout(r, 250));
      }
      await waitFor('the attacker to be banned', async () => attacker.getConnections().length === 0, 15_000);
      for (const id of forgedIds) expect(await rpc(victim.rpcUrl, 'bcr_getBlockById', [id])).toBeNull();
      // Honest blocks still reach the watcher; none of the forged ones ever did.
      await waitFor('new honest blocks at the watcher', async () => seen.length > seenBefore + 1, 20_000);
      const seenIds = seen.map((bytes) => toHex(blockId(decodeBlock(bytes).header)));
      for (const id of forgedIds) expect(seenIds).not.toContain(id);
    } finally {
      await Promise.all([attacker.stop(), watcher.stop()]);
    }
  }, 60_000);
});

describe('a peer flooding block requests', () => {
  it('gets precise refusals, then rate-limited answers, then is banned', async () => {
    const { node: server, topics } = await startLoneNode('server');
    const protocol = topics.blocksByRange;
    await waitFor('a few blocks', async () => (await rpc<Head>(server.rpcUrl, 'bcr_chainHead')).height >= 2, 20_000);
    const client = await rawClient();
    const ask = async (body: Uint8Array) => (await askRaw(client, server, protocol, body)).map((chunk) => chunk[0]!);
    try {
      expect(await ask(new Uint8Array([1, 2, 3]))).toEqual([ResponseCode.invalidRequest]);
      const ok = await ask(encode(rangeRequestCodec, { start: 1, count: 2 }));
      expect(ok).toEqual([ResponseCode.success, ResponseCode.success]);
      // Bursts of 24 parallel requests of 64 blocks (1,536 > the 1,024-block bucket): over quota
      // however slowly this machine answers, since a burst is in flight at once.
      const codes: number[] = [];
      // Until it is banned (each refusal over quota is a penalty).
      for (let burst = 0; burst < 6; burst++) {
        const answers = await Promise.all(Array.from({ length: 24 }, () => ask(encode(rangeRequestCodec, { start: 1, count: 64 })).catch(() => null)));
        for (const answer of answers) if (answer) codes.push(answer[0] ?? -1);
        if (answers.every((a) => a === null)) break; // refused: banned
      }
      expect(codes).toContain(ResponseCode.rateLimited);
      await waitFor('the flooder to be dropped', async () => client.getConnections().length === 0 && (await rpc<unknown[]>(server.rpcUrl, 'bcr_peers')).length === 0, 10_000);
      await expect(ask(encode(rangeRequestCodec, { start: 1, count: 1 }))).rejects.toThrow();
    } finally {
      await client.stop();
    }
  }, 60_000);
});

describe('a peer pushing txs directly (as after a reorg)', () => {
  it('admits the valid ones, rejects the invalid ones precisely, and refuses oversized requests', async () => {
    const { node: server, topics } = await startLoneNode('push');
    const chainId = Number(await rpc<string>(server.rpcUrl, 'eth_chainId'));
    const client = await rawClient();
    try {
      const tx = transferTx(DEV_KEY, 0, TEAM_ADDRESS, 1n, 1n, chainId);
      const chunks = await askRaw(client, server, topics.pushTxs, encode(pushTxsCodec(131_072), { txs: [tx, new Uint8Array([0x97, 0xc0, 1])] }));
      expect(chunks.map((c) => c[0])).toEqual([ResponseCode.success]);
      expect(decode(pushTxsResultCodec, chunks[0]!.subarray(1), 'result')).toEqual({ accepted: 1, ignored: 0, rejected: 1 });
      // Pushed again it is known: ignored, not held against the peer.
      const again = await askRaw(client, server, topics.pushTxs, encode(pushTxsCodec(131_072), { txs: [tx] }));
      expect(decode(pushTxsResultCodec, again[0]!.subarray(1), 'result')).toEqual({ accepted: 0, ignored: 1, rejected: 0 });
      const peers = await rpc<{ penalty: number }[]>(server.rpcUrl, 'bcr_peers');
      expect(peers[0]!.penalty).toBeGreaterThan(0.9); // the one invalid tx
      expect(peers[0]!.penalty).toBeLessThan(1.01);
      await waitFor('the pushed tx in a block', async () => rpc(server.rpcUrl, 'bcr_getTransactionReceipt', [toHex(txId(tx))]), 20_000, 100);
      const oversized = await askRaw(client, server, topics.pushTxs, new Uint8Array(MAX_PUSH_BYTES + 1));
      expect(oversized.map((c) => c[0])).toEqual([ResponseCode.invalidRequest]);
      expect(new TextDecoder().decode(oversized[0]!.subarray(1))).toMatch(/too large/);
    } finally {
      await client.stop();
    }
  }, 60_000);
});
