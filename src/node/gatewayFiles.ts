// Files stored erasure-coded on BCR, served by this node's gateway like the blocks its miner stores:
// the client-side gateway that Storj's and Filecoin's retrieval clients offer, here inside every
// node (miner or not). An operator adds a file by its manifest root id (`bcr gateway add ROOT`);
// the node fetches its K shards from the miners over libp2p retrieval (every chunk proven), rebuilds
// the DAG's CAR, checks that its root is the manifest's CID and that every block hashes to its CID,
// writes it durably under DATA_DIR/gateway/files/ and serves its blocks by CID from then on. The
// list of files is kept durably: a file added before a crash or restart is fetched after it, and one
// already rebuilt is served at once (its CAR indexed again at start).
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchErasureCoded, openSession, parseRoot, type ClientSession } from '../client/index.js';
import { indexStoredCar, parseCid, type CID } from '../content/index.js';
import { errorMessage } from '../primitives/errors.js';
import { DurableSnapshot, writeFileDurable } from '../util/durableFile.js';
import type { Logger } from '../util/logger.js';
import { OpenFiles } from '../util/openFiles.js';

export type GatewayFileStatus = 'fetching' | 'ready' | 'failed';

export interface GatewayFileEntry {
  root: string;
  cid: string | null;
  name: string | null;
  size: number | null;
  status: GatewayFileStatus;
  error: string | null;
}

interface BlockAt {
  file: string;
  offset: number;
  length: number;
}

/** Files this node rebuilds and serves at most (each add is a fetch of K shards). */
const MAX_FILES = 1024;

export class GatewayFiles {
  private readonly entries = new Map<string, GatewayFileEntry>();
  private readonly blocks = new Map<string, BlockAt>();
  private readonly snapshot: DurableSnapshot;
  private readonly filesDir: string;
  private readonly files = new OpenFiles(16);
  private queue: Promise<void> = Promise.resolve();
  private session: Promise<ClientSession> | null = null;
  private rpcUrl: string | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.filesDir = join(dir, 'files');
    this.snapshot = new DurableSnapshot(join(dir, 'files.json'), () => JSON.stringify([...this.entries.values()]));
  }

  /** Opens the list kept in `dir` and indexes the CARs already rebuilt. */
  static async open(dir: string, log: Logger): Promise<GatewayFiles> {
    const files = new GatewayFiles(dir, log);
    mkdirSync(files.filesDir, { recursive: true });
    const path = join(dir, 'files.json');
    if (existsSync(path)) {
      for (const entry of JSON.parse(await readFile(path, 'utf8')) as GatewayFileEntry[]) files.entries.set(entry.root, entry);
    }
    for (const entry of files.entries.values()) {
      if (entry.status !== 'ready' || !entry.cid) continue;
      try {
        await files.index(entry.cid);
      } catch (error) {
        // The CAR is gone or damaged: fetch the file again.
        log.warn({ root: entry.root, err: errorMessage(error) }, 'A rebuilt file is unreadable: fetching it again');
        entry.status = 'fetching';
      }
    }
    return files;
  }

  /** Starts fetching what is still to fetch, through the node's own RPC (`rpcUrl`). */
  start(rpcUrl: string): void {
    this.rpcUrl = rpcUrl;
    for (const entry of this.entries.values()) if (entry.status === 'fetching') this.enqueue(entry);
  }

  /** Adds a file by its manifest root id; fetched in the background (see list()). */
  async add(root: string): Promise<GatewayFileEntry> {
    parseRoot(root);
    const key = root.toLowerCase();
    const known = this.entries.get(key);
    if (known && known.status !== 'failed') return known;
    if (!known && this.entries.size >= MAX_FILES) throw new Error(`this gateway serves at most ${MAX_FILES} files`);
    const entry: GatewayFileEntry = { root: key, cid: null, name: null, size: null, status: 'fetching', error: null };
    this.entries.set(key, entry);
    await this.snapshot.save();
    if (this.rpcUrl) this.enqueue(entry);
    return entry;
  }

  list(): GatewayFileEntry[] {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }

  /** A block of a rebuilt file, or null. */
  async get(cid: CID): Promise<Uint8Array | null> {
    const at = this.blocks.get(cid.toString());
    return at ? this.files.read(at.file, at.offset, at.length) : null;
  }

  /** Stops: a fetch under way is cut off (its file stays listed as fetching, and is fetched at next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.files.close();
    if (this.session) await (await this.session.catch(() => null))?.host.stop();
    await this.snapshot.settled();
  }

  private enqueue(entry: GatewayFileEntry): void {
    this.queue = this.queue.then(() => (this.closed ? undefined : this.fetch(entry)));
  }

  private async fetch(entry: GatewayFileEntry): Promise<void> {
    this.log.info({ root: entry.root }, 'Fetching an erasure-coded file for the gateway');
    try {
      // The node pays no miner: shards come from miners that serve them free.
      this.session ??= openSession(this.rpcUrl!, { address: '', key: new Uint8Array(32) });
      const { manifest, file } = await fetchErasureCoded(await this.session, entry.root, { keystore: this.dir, log: (line) => this.log.info({ root: entry.root }, line) });
      if (!manifest.cid) throw new Error('the manifest names no CID: a file stored before CIDs is not a DAG a gateway can serve');
      // Its canonical text names the file on disk (a manifest is hostile input).
      const cid = parseCid(manifest.cid).toString();
      // Parsed once, from disk: the index checks the root and every block; a CAR that fails is removed.
      await writeFileDurable(this.carPath(cid), file);
      const blocks = await this.index(cid).catch(async (error: unknown) => {
        await rm(this.carPath(cid), { force: true });
        throw error;
      });
      Object.assign(entry, { cid, name: manifest.name, size: manifest.size, status: 'ready', error: null });
      this.log.info({ root: entry.root, cid, blocks }, 'Erasure-coded file rebuilt: the gateway serves it');
    } catch (error) {
      if (this.closed) return;
      Object.assign(entry, { status: 'failed', error: errorMessage(error) });
      this.log.warn({ root: entry.root, err: errorMessage(error) }, 'Fetching an erasure-coded file failed (bcr gateway add tries again)');
    }
    await this.snapshot.save();
  }

  /** Indexes a rebuilt CAR: its root must be `cid` and every block must hash to its CID. */
  private async index(cid: string): Promise<number> {
    const path = this.carPath(cid);
    const indexed = await indexStoredCar(path, 0, (await stat(path)).size);
    if (!indexed || indexed.roots[0]?.toString() !== cid) throw new Error(`the rebuilt CAR's root is not the manifest's CID ${cid}`);
    if (indexed.rejected > 0) throw new Error(`${indexed.rejected} block(s) of the CAR of ${cid} do not hash to their CID`);
    for (const block of indexed.blocks) this.blocks.set(block.cid.toString(), { file: path, offset: block.offset, length: block.length });
    return indexed.blocks.length;
  }

  private carPath(cid: string): string {
    return join(this.filesDir, `${cid}.car`);
  }
}
