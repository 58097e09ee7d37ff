// The sync manager against an in-memory transport: parallel download from several peers, a lying
// peer, a local fork, and a short fork resolved by walking ancestors.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockPreverifier, blockId, vrfCacheSize, type Block, type ChainStore } from '../../src/chain/index.js';
import { slotStart } from '../../src/consensus/index.js';
import type { Database } from '../../src/db/index.js';
import type { Status } from '../../src/p2p/protocols.js';
import type { OffenceKind } from '../../src/p2p/reputation.js';
import { addressOf, bcr, bytesEqual, hexKey, sha256 } from '../../src/primitives/index.js';
import { SyncManager, type SyncTransport } from '../../src/sync/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { DEV_KEY, nextBlock, nowForSlot, openChain, tempDir, transferTx } from '../helpers/chain.js';

const dir = tempDir('bcr-sync-');
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  dir.cleanup();
});

let opened = 0;
async function fresh(): Promise<{ chain: ChainStore; db: Database }> {
  const result = await openChain(`${dir.path}/chain-${opened++}`);
  closers.push(() => result.db.close());
  return result;
}

/** Extends `chain` by `count` blocks; a tx to `marker` in the first one makes the branch unique. */
async function extend(chain: ChainStore, count: number, marker?: number): Promise<Block[]> {
  const blocks: Block[] = [];
  for (let i = 0; i < count; i++) {
    const txs = marker !== undefined && i === 0 ? [transferTx(DEV_KEY, (await chain.getAccount(addressOf(DEV_KEY))).nonce, addressOf(sha256(new Uint8Array([marker]))), bcr(1))] : [];
    const block = await nextBlock(chain, chain.head.header.slot + 1, txs);
    await chain.importBlock(block, nowForSlot(chain, block.header.slot));
    blocks.push(block);
  }
  return blocks;
}

function statusOf(chain: ChainStore): Status {
  return { genesisId: chain.genesisId, headHeight: chain.head.header.height, headId: chain.head.id, finalizedHeight: chain.finalizedHeight };
}

/** Peers served from chains in this process; counts what each peer served and each penalty. */
class FakeTransport implements SyncTransport {
  readonly served = new Map<string, number>();
  readonly penalties: { peer: string; offence: OffenceKind }[] = [];
  readonly sources = new Map<string, { chain: ChainStore; lie?: boolean }>();

  async blocksByRange(peer: PeerId, start: number, count: number): Promise<Block[]> {
    const source = this.sources.get(peer.toString())!;
    this.served.set(peer.toString(), (this.served.get(peer.toString()) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 2)); // a little latency so downloads overlap
    const blocks: Block[] = [];
    for (let h = start; h < start + count; h++) {
      const block = await source.chain.getBlockByHeight(h);
      if (!block) break;
      blocks.push(source.lie ? { ...block, header: { ...block.header, stateRoot: new Uint8Array(32) } } : block);
    }
    return blocks;
  }

  async blocksById(peer: PeerId, ids: Uint8Array[]): Promise<Block[]> {
    const source = this.sources.get(peer.toString())!;
    const out: Block[] = [];
    for (const id of ids) {
      const block = await source.chain.getBlock(id);
      if (block) out.push(block);
    }
    return out;
  }

  async exchangeStatus(peer: PeerId): Promise<Status | null> {
    return statusOf(this.sources.get(peer.toString())!.chain);
  }

  penalise(peer: string, offence: OffenceKind): void {
    this.penalties.push({ peer, offence });
  }

  rememberFromPeers(): void {}
}

async function newPeer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
}

function manager(chain: ChainStore, transport: SyncTransport, preverifier: BlockPreverifier | null = null): SyncManager {
  // "now" far after every test block: nothing is in the future.
  const clock = { now: () => slotStart(chain.params, 1_000_000) };
  return new SyncManager({ chain, transport, preverifier, clock, log: silentLogger, batchSize: 16 });
}

let source: ChainStore;
beforeAll(async () => {
  source = (await fresh()).chain;
  await extend(source, 120);
}, 120_000);

describe('SyncManager', () => {
  it('catches up from three peers in parallel, with VRF proofs preverified on a worker', async () => {
    const { chain } = await fresh();
    const transport = new FakeTransport();
    const peers = [await newPeer(), await newPeer(), await newPeer()];
    for (const peer of peers) transport.sources.set(peer.toString(), { chain: source });
    const preverifier = new BlockPreverifier(chain, 1);
    closers.push(() => preverifier.close());
    const sync = manager(chain, transport, preverifier);
    const vrfBefore = chain.stats.vrfMs;
    for (const peer of peers) sync.addPeer(peer, statusOf(source));
    expect(sync.isSyncing).toBe(true);
    await sync.idle();
    expect(chain.head.header.height).toBe(120);
    expect(bytesEqual(chain.head.id, source.head.id)).toBe(true);
    // Every peer served batches (8 batches of 16 blocks spread over 3 peers).
    expect([...transport.served.values()].every((n) => n >= 2)).toBe(true);
    expect(transport.penalties).toEqual([]);
    // Import found every preverified VRF output in the cache (none left over, i.e. no mispredictions).
    expect(vrfCacheSize()).toBe(0);
    expect(chain.stats.vrfMs - vrfBefore).toBeLessThan(120 * 0.5);
    expect(sync.progress()).toMatchObject({ syncing: false, head: 120, target: 120 });
  }, 60_000);

  it('penalises a peer that serves invalid blocks and finishes from the honest one', async () => {
    const { chain } = await fresh();
    const transport = new FakeTransport();
    const liar = await newPeer();
    const honest = await newPeer();
    transport.sources.set(liar.toString(), { chain: source, lie: true });
    transport.sources.set(honest.toString(), { chain: source });
    const sync = manager(chain, transport);
    sync.addPeer(liar, statusOf(source));
    sync.addPeer(honest, statusOf(source));
    await sync.idle();
    // The liar's first bad block ends the round; it is dropped and the next round uses the honest peer.
    for (let i = 0; i < 5 && chain.head.header.height < 120; i++) {
      sync.trigger();
      await sync.idle();
    }
    expect(chain.head.header.height).toBe(120);
    expect(transport.penalties.some((p) => p.peer === liar.toString() && p.offence === 'badResponse')).toBe(true);
    expect(transport.penalties.some((p) => p.peer === honest.toString())).toBe(false);
  }, 60_000);

  it('leaves a local fork for the heavier chain of its peer, resyncing from the finalized height', async () => {
    const { chain } = await fresh();
    // Share the first 100 blocks, then make 4 blocks of our own (a branch with a unique tx).
    for (let h = 1; h <= 100; h++) await chain.importBlock((await source.getBlockByHeight(h))!, slotStart(chain.params, 1_000_000));
    const ours = await extend(chain, 4, 7);
    expect(chain.head.header.height).toBe(104);
    const transport = new FakeTransport();
    const peer = await newPeer();
    transport.sources.set(peer.toString(), { chain: source });
    const sync = manager(chain, transport);
    sync.addPeer(peer, statusOf(source));
    await sync.idle();
    expect(bytesEqual(chain.head.id, source.head.id)).toBe(true);
    expect(await chain.getBlockByHeight(101)).toEqual(await source.getBlockByHeight(101));
    expect(hexKey((await chain.canonicalId(101))!)).not.toBe(hexKey(blockId(ours[0]!.header)));
  }, 60_000);

  it('resolves a gossip block with an unknown parent by fetching its ancestors by id', async () => {
    const { chain } = await fresh();
    for (let h = 1; h <= 110; h++) await chain.importBlock((await source.getBlockByHeight(h))!, slotStart(chain.params, 1_000_000));
    const transport = new FakeTransport();
    const peer = await newPeer();
    transport.sources.set(peer.toString(), { chain: source });
    const sync = manager(chain, transport);
    // Block 116 arrives by gossip; 111..115 are missing.
    await sync.resolveUnknownParent(peer, (await source.getBlockByHeight(116))!);
    expect(chain.head.header.height).toBe(116);
    expect(bytesEqual(chain.head.id, (await source.canonicalId(116))!)).toBe(true);
  }, 60_000);
});
