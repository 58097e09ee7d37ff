// The client library's front door: one object per client key, for apps and wallets that store and
// fetch files without the CLI.
//
//   const client = await BcrClient.connect({ address, password });
//   const { cid } = await client.put('./site', { replicas: 2, wait: true });
//   await client.get(cid, './site-back');
//   await client.close();
import { defaultKeystoreDir, findKeystore, unlockKeystore } from '../wallet/index.js';
import { listAllDeals, openSession, type ClientSession, type DealJson } from './deals.js';
import { getContent, type GetContentOptions, type GetContentResult } from './getContent.js';
import type { Progress } from './progress.js';
import { putReplicated, waitReplicasActive, type ReplicaPutResult } from './putReplicas.js';
import { readStoredFiles, type StoredFile } from './records.js';
import { DEFAULT_RPC_URL } from './rpc.js';

export interface ConnectOptions {
  /** The client's address; its key must be in the keystore. */
  address: string;
  password: string;
  /** The node's JSON-RPC URL (default http://127.0.0.1:8645/). */
  rpc?: string;
  /** The keystore directory (default ~/.bcr/keystore); records of stored files live beside it. */
  keystore?: string;
  /** Lines for a person (what the CLI prints to stderr). */
  log?: (line: string) => void;
}

export interface PutOptions {
  /** Miners that each store the whole file (default 1). */
  replicas?: number;
  /** Miner ids, or 'auto' (default): the cheapest live asks that answer. */
  miners?: number[] | 'auto';
  /** Slots the miners store it (default 10000), and slots until the deals start (default 100). */
  duration?: number;
  startIn?: number;
  /** Resolve only once every replica is active (proven on chain). */
  wait?: boolean;
  progress?: Progress;
  signal?: AbortSignal;
}

export class BcrClient {
  private constructor(
    private readonly session: ClientSession,
    private readonly keystore: string,
  ) {}

  static async connect(options: ConnectOptions): Promise<BcrClient> {
    const keystore = options.keystore ?? defaultKeystoreDir();
    const entry = findKeystore(keystore, options.address);
    const key = unlockKeystore(entry.file, options.password);
    return new BcrClient(await openSession(options.rpc ?? DEFAULT_RPC_URL, { address: entry.address, key }, options.log), keystore);
  }

  get address(): string {
    return this.session.sender.address;
  }

  /** Stores a file or directory whole with `replicas` miners; resolves with its root CID. */
  async put(path: string, options: PutOptions = {}): Promise<ReplicaPutResult> {
    const terms = { duration: options.duration ?? 10_000, startIn: options.startIn ?? 100, clientCollateral: 0n };
    const result = await putReplicated(this.session, { path, replicas: options.replicas ?? 1, miners: options.miners ?? 'auto', terms, keystore: this.keystore, ...(options.progress ? { progress: options.progress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    if (options.wait) await waitReplicasActive(this.session, result.file, () => {}, 500, options.signal);
    return result;
  }

  /**
   * Fetches `cid` from every miner gateway holding it at once and writes it to `out`; a miner whose
   * gateway asks a price up to `maxPricePerByte` (default 0: only free gateways) is paid from this
   * client's account on a payment channel.
   */
  get(cid: string, out: string, options: Omit<GetContentOptions, 'payer'> & { maxPricePerByte?: bigint } = {}): Promise<GetContentResult> {
    const { maxPricePerByte, ...rest } = options;
    const payer = maxPricePerByte ? { payer: { sender: this.session.sender, maxPricePerByte, keystore: this.keystore } } : {};
    return getContent(this.session.rpc, cid, out, { ...rest, ...payer });
  }

  /** The files this client stored (from its records). */
  ls(): StoredFile[] {
    return readStoredFiles(this.keystore).filter((f) => f.client.toLowerCase() === this.address.toLowerCase());
  }

  /** This client's deals on chain. */
  deals(): Promise<DealJson[]> {
    return listAllDeals(this.session.rpc, this.address);
  }

  async close(): Promise<void> {
    await this.session.host.stop();
  }
}
