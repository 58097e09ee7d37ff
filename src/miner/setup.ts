// Which miner this node runs, and with which keys. A node mines for ANY registered miner whose worker
// key and VRF (election) key it holds in its keystore (`bcr node --miner ID`); the miner loop starts
// once the miner's record is on the node's chain (a new node may still be syncing). Genesis miners of
// devnet and test may use the well-known development keys; mainnet never does.
import type { RemoteSectors } from './remoteSectors.js';
import { join } from 'node:path';
import { EquivocationWatch, devVrfSecret, type ChainStore, type Genesis } from '../chain/index.js';
import { vrfPublicKey } from '../consensus/index.js';
import type { Mempool } from '../mempool/index.js';
import { MinerService } from './miner.js';
import { submitLocalTx } from './localTx.js';
import type { MinerEvent } from './events.js';
import { SectorStore } from './sectorStore.js';
import { BlockIndex } from './blockIndex.js';
import { PieceIndex } from './pieceIndex.js';
import { addressOf, bytesEqual, errorMessage, fromHex, toChecksumAddress, toHex } from '../primitives/index.js';
import { PROOF_PROFILES } from '../proofs/index.js';
import { changePeerAddressesKind, equivocationPayload, getMiner, peerAddressesPayload, reportEquivocationKind, type Miner } from '../state/index.js';
import type { Clock } from '../util/clock.js';
import type { Metrics } from '../metrics/index.js';
import type { WatchdogSettings } from './watchdog.js';
import type { Logger } from '../util/logger.js';

/** Worker key of the devnet/test genesis miner (Hardhat/Anvil account #2). DEVNET AND TEST ONLY. */
export const DEV_WORKER_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';

/**
 * Where a miner's keys come from (the node's keystore, given by the composition root): the miner
 * never reads key files itself.
 */
export interface MinerKeyResolver {
  /** The private key of a worker address; throws with the reason when it is not held. */
  workerKey(address: string): Uint8Array;
  /** The VRF secret whose public key is `publicKey` (0x-hex), or null when it is not held. */
  vrfSecret(publicKey: string): Uint8Array | null;
}

export interface MinerKeysOptions {
  /** Run this registered miner (`bcr node --miner ID`); its keys come from the keystore. */
  minerId?: number;
  /** The worker and VRF keys this node holds. */
  keystore?: MinerKeyResolver;
  /** A genesis miner's worker key given directly (`--worker-key-file`). */
  workerKey?: Uint8Array;
}

interface MinerKeys {
  minerId: number;
  workerKey: Uint8Array;
  vrfSecret: Uint8Array;
}

/** The local miner, once it runs: RPC and subscriptions see it through this. */
export class LocalMiner {
  private service: MinerService | null = null;
  private readonly listeners: ((event: MinerEvent) => void)[] = [];
  private stopped = false;

  get current(): MinerService | null {
    return this.service;
  }

  onEvent(listener: (event: MinerEvent) => void): void {
    this.listeners.push(listener);
    this.service?.onEvent(listener);
  }

  attach(service: MinerService): void {
    this.service = service;
    for (const listener of this.listeners) service.onEvent(listener);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Stops the running service and starts another (new keys). */
  async replace(start: () => Promise<void>): Promise<void> {
    const old = this.service;
    this.service = null;
    await old?.stop();
    await start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.service?.stop();
  }
}

interface StartContext {
  chain: ChainStore;
  mempool: Mempool;
  genesis: Genesis;
  dataDir: string;
  clock: Clock;
  log: Logger;
  metrics?: Metrics | null;
  watchdog?: Partial<WatchdogSettings>;
  /** This node's libp2p identity, registered as the miner's peer addresses. */
  p2p?: { peerId: string; addresses: string[] };
  /** Whether the node has caught up with its peers (registration waits: a tx sent while syncing is dropped). */
  synced?: () => boolean;
  /** Connects the miner to its cluster's workers (bcr node --cluster); sectors stay local without it. */
  remoteSectors?: (minerId: number) => Promise<RemoteSectors>;
}

/**
 * Registers this node's peer id and addresses for the miner when the chain has others (clients and
 * peers dial them). Returns the tx sent, or null when nothing needed sending.
 */
async function registerPeerAddresses(ctx: StartContext, keys: MinerKeys): Promise<Uint8Array | null> {
  const { chain, mempool, log, p2p } = ctx;
  if (!p2p) return null;
  const record = await getMiner(chain.headState(), keys.minerId);
  if (!record || (record.peerId === p2p.peerId && record.multiaddrs.join(',') === p2p.addresses.slice(0, 16).join(','))) return null;
  const payload = { miner: keys.minerId, peerId: p2p.peerId, multiaddrs: p2p.addresses.slice(0, 16) };
  const tx = await submitLocalTx(chain, mempool, keys.workerKey, changePeerAddressesKind, peerAddressesPayload, payload);
  log.info({ miner: keys.minerId, peerId: p2p.peerId, tx: toHex(tx.id) }, 'Registering this node\'s peer addresses for the miner');
  return tx.id;
}

/** Starts the local miner now, or when its record reaches the chain; returns at once. */
export async function startLocalMiner(ctx: StartContext, options: MinerKeysOptions): Promise<LocalMiner> {
  const local = new LocalMiner();
  const { chain, log } = ctx;
  if (options.minerId === undefined) {
    const keys = genesisMinerKeys(ctx.genesis, options, log);
    if (keys) await run(ctx, local, keys);
    return local;
  }
  const minerId = options.minerId;
  if (!options.keystore) {
    log.warn({ miner: minerId }, 'Mining disabled: --miner needs a keystore with its worker and VRF keys');
    return local;
  }
  const keystore = options.keystore;
  let starting = false;
  const tryStart = async (): Promise<boolean> => {
    const record = await getMiner(chain.headState(), minerId);
    if (!record || starting || local.isStopped) return false;
    starting = true;
    const keys = registeredMinerKeys(minerId, record, keystore, log);
    if (keys) await run(ctx, local, keys);
    followWorkerChanges(ctx, local, minerId, keystore);
    return true;
  };
  if (!(await tryStart())) {
    log.info({ miner: minerId }, 'Waiting for the miner record to reach this node\'s chain');
    const watch = () => {
      tryStart().catch((error: unknown) => log.error({ err: errorMessage(error) }, 'Starting the miner failed'));
    };
    chain.onHeadChange(() => {
      if (!starting) watch();
    });
  }
  return local;
}

/**
 * When the chain switches the miner's worker key (bcr miner set-worker, a finality after it was
 * asked for), the miner restarts with the new key from the keystore.
 */
function followWorkerChanges(ctx: StartContext, local: LocalMiner, minerId: number, keystore: MinerKeyResolver): void {
  const { chain, log } = ctx;
  let switching = false;
  chain.onHeadChange(() => {
    const current = local.current;
    if (switching || !current || local.isStopped) return;
    switching = true;
    void (async () => {
      const record = await getMiner(chain.headState(), minerId);
      if (!record || bytesEqual(record.worker, addressOf(current.workerKey))) return;
      log.info({ miner: minerId, worker: toChecksumAddress(record.worker) }, 'Worker key changed on chain: restarting the miner with the new key');
      const keys = registeredMinerKeys(minerId, record, keystore, log);
      if (!keys) return;
      await local.replace(() => run(ctx, local, keys));
    })()
      .catch((error: unknown) => log.error({ err: errorMessage(error) }, 'Switching the worker key failed'))
      .finally(() => (switching = false));
  });
}

async function run(ctx: StartContext, local: LocalMiner, keys: MinerKeys): Promise<void> {
  const { chain, mempool, genesis, clock, log } = ctx;
  const store = new SectorStore(join(ctx.dataDir, 'miner'), PROOF_PROFILES[genesis.params.miners.proofProfile]);
  const pieces = await PieceIndex.open(join(ctx.dataDir, 'miner'));
  const blocks = await BlockIndex.open(join(ctx.dataDir, 'miner'), pieces, log.child({ component: 'gateway' }));
  const remote = ctx.remoteSectors ? await ctx.remoteSectors(keys.minerId) : null;
  const service = new MinerService({ chain, mempool, store, pieces, blocks, remote, minerId: keys.minerId, workerKey: keys.workerKey, vrfSecret: keys.vrfSecret, clock, metrics: ctx.metrics ?? null, ...(ctx.watchdog ? { watchdog: ctx.watchdog } : {}), log: log.child({ component: 'miner' }) });
  const genesisMiner = genesis.miners[keys.minerId - 1];
  if (genesisMiner && bytesEqual(genesisMiner.vrfKey, vrfPublicKey(keys.vrfSecret))) await service.ensureGenesisSectors(genesisMiner);
  if (local.isStopped) {
    await store.close();
    await remote?.close();
    return;
  }
  // Sectors and deals under way when the node stopped (or crashed) continue from their last stage.
  const resumed = await service.sealing.resume();
  if (resumed.jobs + resumed.pieces > 0) log.info({ miner: keys.minerId, sectors: resumed.jobs, dealPieces: resumed.pieces }, 'Sealing state restored');
  local.attach(service);
  service.start();
  // What the chain credits the miner with now, not what genesis gave it.
  const record = await getMiner(chain.headState(), keys.minerId);
  const provenSectors = record && record.sectorSize > 0 ? Number(record.power / BigInt(record.sectorSize)) : 0;
  log.info({ miner: keys.minerId, worker: toChecksumAddress(addressOf(keys.workerKey)), provenSectors, power: record?.power.toString() ?? '0', height: chain.head.header.height }, 'Mining started');
  keepPeerAddressesRegistered(ctx, keys, () => local.current === service);
}

/**
 * Keeps the chain's record of the miner's peer addresses equal to this node's: checked every few
 * slots once the node is synced, sent again if an earlier registration was dropped (a tx sent while
 * catching up is), until `active` says this miner no longer runs.
 */
function keepPeerAddressesRegistered(ctx: StartContext, keys: MinerKeys, active: () => boolean): void {
  const { chain, mempool, log } = ctx;
  let pending: Uint8Array | null = null;
  let checkedSlot = -Infinity;
  let running = false;
  const check = async () => {
    if (running || !active() || !(ctx.synced?.() ?? true)) return;
    const slot = chain.head.header.slot;
    if (slot < checkedSlot + 10) return;
    checkedSlot = slot;
    if (pending && mempool.has(pending)) return;
    running = true;
    try {
      pending = await registerPeerAddresses(ctx, keys);
    } catch (error) {
      log.warn({ err: errorMessage(error) }, 'Registering the peer addresses failed');
    } finally {
      running = false;
    }
  };
  void check();
  chain.onHeadChange(() => void check());
}

/** The keys of a miner registered on chain, from the keystore; null (with a reason logged) if missing. */
function registeredMinerKeys(minerId: number, record: Miner, keystore: MinerKeyResolver, log: Logger): MinerKeys | null {
  const worker = toChecksumAddress(record.worker);
  let workerKey: Uint8Array;
  try {
    workerKey = keystore.workerKey(worker);
  } catch (error) {
    log.error({ miner: minerId, worker, err: errorMessage(error) }, 'Mining disabled: the keystore does not hold the miner\'s worker key');
    return null;
  }
  const vrfSecret = keystore.vrfSecret(toHex(record.vrfKey));
  if (!vrfSecret) {
    log.error({ miner: minerId, vrfKey: toHex(record.vrfKey) }, 'Mining disabled: the keystore does not hold the miner\'s VRF key');
    return null;
  }
  return { minerId, workerKey, vrfSecret };
}

/**
 * A genesis miner this node can run: its worker key (given, or the devnet/test dev key), and its VRF
 * key from the keystore, or on devnet/test the well-known development key.
 */
function genesisMinerKeys(genesis: Genesis, options: MinerKeysOptions, log: Logger): MinerKeys | null {
  const devNetwork = genesis.params.network !== 'mainnet';
  const workerKey = options.workerKey ?? (devNetwork ? fromHex(DEV_WORKER_KEY) : undefined);
  const index = workerKey ? genesis.miners.findIndex((m) => bytesEqual(m.worker, addressOf(workerKey))) : -1;
  if (!workerKey || index < 0) {
    log.warn('Mining disabled: no genesis miner uses this node\'s worker key (a registered miner runs with --miner ID)');
    return null;
  }
  const genesisMiner = genesis.miners[index]!;
  if (genesisMiner.sectors.length === 0) {
    log.warn('Mining disabled: the genesis miner has no sectors');
    return null;
  }
  const vrfSecret = options.keystore?.vrfSecret(toHex(genesisMiner.vrfKey)) ?? null;
  if (vrfSecret) return { minerId: index + 1, workerKey, vrfSecret };
  const devSecret = devVrfSecret(genesisMiner.seed);
  if (devNetwork && bytesEqual(vrfPublicKey(devSecret), genesisMiner.vrfKey)) return { minerId: index + 1, workerKey, vrfSecret: devSecret };
  log.warn({ miner: index + 1 }, 'Mining disabled: the keystore does not hold this genesis miner\'s VRF key (bcr genesis preseal writes it)');
  return null;
}

/**
 * Reports equivocation evidence the chain saw: signed with the local miner's worker key, else with
 * the first key the node may sign with; the reporter earns a share of the slash.
 */
export function reportEquivocations(chain: ChainStore, mempool: Mempool, local: LocalMiner, signingKeys: Uint8Array[], log: Logger): void {
  chain.equivocations.onEquivocation((evidence) => {
    const own = local.current;
    if (own && own.minerId === evidence.miner) return;
    const key = own?.workerKey ?? signingKeys[0];
    const described = EquivocationWatch.describe(evidence);
    if (!key) {
      log.warn(described, 'Equivocation seen; this node holds no key to report it with');
      return;
    }
    void (async () => {
      const tx = await submitLocalTx(chain, mempool, key, reportEquivocationKind, equivocationPayload, { first: evidence.first, second: evidence.second });
      log.warn({ ...described, reporter: toChecksumAddress(addressOf(key)), tx: toHex(tx.id) }, 'Equivocation seen: reported');
    })().catch((error: unknown) => log.warn({ ...described, err: errorMessage(error) }, 'Reporting an equivocation failed'));
  });
}
