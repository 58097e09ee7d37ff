// The miner's sectors on disk: one directory per sector with its replica (and, for sectors sealed
// here, the label layers for the PoRep). Replica trees are built on first use and kept in memory
// (the cached levels only: 2 MiB per GiB of sector).
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BcrError, fromHex, hexKey } from '../primitives/index.js';
import { SectorFiles, TreeReader, buildTreeCache, fileSource, provePorep, replicaIdOf, sealFile, type LeafSource, type ProofParams, type ProvableSector, type SealProgress, type SealedSectorMeta } from '../proofs/index.js';

export interface StoredSector {
  number: number;
  dir: string;
  meta: SealedSectorMeta;
}

export class SectorStore {
  private readonly trees = new Map<number, ProvableSector>();
  private readonly open: { close(): Promise<void> }[] = [];

  constructor(
    readonly dir: string,
    readonly params: ProofParams,
  ) {}

  sectorDir(number: number): string {
    return join(this.dir, 'sectors', String(number));
  }

  /** Whether the sector's replica is here to prove from (its metadata and replica file). */
  async has(number: number): Promise<boolean> {
    const dir = this.sectorDir(number);
    const present = existsSync(join(dir, SectorFiles.meta)) && existsSync(join(dir, SectorFiles.replica));
    // A replica deleted under us: forget its cached tree, whose open file would still read the old bytes.
    if (!present) this.trees.delete(number);
    return present;
  }

  async get(number: number): Promise<StoredSector> {
    const dir = this.sectorDir(number);
    try {
      return { number, dir, meta: JSON.parse(await readFile(join(dir, SectorFiles.meta), 'utf8')) as SealedSectorMeta };
    } catch {
      throw new BcrError('NO_SUCH_SECTOR', `sector ${number} is not in the local store ${this.dir}`);
    }
  }

  /** A file of zeros of one sector (committed-capacity data). */
  private async zeroData(): Promise<string> {
    const path = join(this.dir, `zeros-${this.params.sectorSize}.bin`);
    if (!existsSync(path)) {
      await mkdir(this.dir, { recursive: true });
      await writeFile(path, new Uint8Array(this.params.sectorSize));
    }
    return path;
  }

  /** Seals a committed-capacity sector (zero data) with the given seal randomness. */
  async sealCommittedCapacity(minerId: number, number: number, sealRandomness: Uint8Array, commD: Uint8Array, onProgress?: (p: SealProgress) => void): Promise<StoredSector> {
    return this.sealData(minerId, number, sealRandomness, commD, await this.zeroData(), onProgress);
  }

  /** Seals a sector from a file of exactly one sector of data (client pieces and zeros), whose CommD is `commD`. */
  async sealData(minerId: number, number: number, sealRandomness: Uint8Array, commD: Uint8Array, dataPath: string, onProgress?: (p: SealProgress) => void): Promise<StoredSector> {
    const replicaId = replicaIdOf(minerId, number, sealRandomness, commD);
    await sealFile({ params: this.params, replicaId, dataPath, dir: this.sectorDir(number), onProgress });
    this.trees.delete(number);
    return this.get(number);
  }

  /**
   * The sector's PoRep on `seed`, from its label layers, column hashes and replica (kept until the
   * activation is final) and its data: `dataPath`, or zeros for committed capacity.
   */
  async provePorep(number: number, seed: Uint8Array, dataPath?: string): Promise<Uint8Array> {
    const { dir, meta } = await this.get(number);
    const leaves = this.params.sectorSize / 32;
    const opened: { close(): Promise<void> }[] = [];
    const open = async (path: string) => {
      const source = await fileSource(path, leaves);
      opened.push(source);
      return source;
    };
    const reader = async (source: LeafSource) => new TreeReader(source, await buildTreeCache(source));
    try {
      return await provePorep(
        {
          params: this.params,
          replicaId: fromHex(meta.replicaId),
          commC: fromHex(meta.commC),
          commRLast: fromHex(meta.commRLast),
          data: await reader(await open(dataPath ?? (await this.zeroData()))),
          replica: await reader(await open(join(dir, SectorFiles.replica))),
          columns: await reader(await open(join(dir, SectorFiles.columns))),
          layers: await Promise.all(Array.from({ length: this.params.layers }, (_, l) => open(join(dir, SectorFiles.layer(l + 1))))),
        },
        seed,
      );
    } finally {
      await Promise.all(opened.map((s) => s.close()));
    }
  }

  /** Sector numbers with a directory in the store. */
  async list(): Promise<number[]> {
    const names = await readdir(join(this.dir, 'sectors')).catch(() => [] as string[]);
    return names.filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
  }

  /**
   * Deletes what only the PoRep needed (label layers, column hashes) once the sector is active:
   * WindowPoSt and WinningPoSt open the replica tree alone. Returns the bytes freed.
   */
  async deleteScratch(number: number): Promise<number> {
    const dir = this.sectorDir(number);
    let freed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name !== SectorFiles.columns && !/^labels-\d+\.bin$/.test(name)) continue;
      const path = join(dir, name);
      freed += (await stat(path)).size;
      await rm(path, { force: true });
    }
    return freed;
  }

  /** Deletes a sector's directory (terminated or expired: nothing will ever prove it again). Returns the bytes freed. */
  async remove(number: number): Promise<number> {
    const dir = this.sectorDir(number);
    let freed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) freed += (await stat(join(dir, name))).size;
    this.trees.delete(number);
    await rm(dir, { recursive: true, force: true });
    return freed;
  }

  /** Where a deal's unsealed sector data waits to be sealed (and stays, for retrieval). */
  async stagingPath(name: string): Promise<string> {
    const dir = join(this.dir, 'staging');
    await mkdir(dir, { recursive: true });
    return join(dir, name);
  }

  /** Closes the replica files kept open for proving. */
  async close(): Promise<void> {
    await Promise.all(this.open.splice(0).map((s) => s.close()));
    this.trees.clear();
  }

  /**
   * Everything needed to prove a sector from its replica. The tree's upper levels stay cached, but
   * each call gets a fresh reader: the leaves a proof opens are read from disk for that proof, never
   * from an earlier proof's memory (a replica corrupted since must fail its next proof).
   */
  async provable(number: number): Promise<ProvableSector> {
    const cached = this.trees.get(number);
    if (cached) return { ...cached, replica: cached.replica.fresh() };
    const { dir, meta } = await this.get(number);
    const source = await fileSource(join(dir, SectorFiles.replica), this.params.sectorSize / 32);
    this.open.push(source);
    const cache = await buildTreeCache(source);
    if (hexKey(cache.root) !== meta.commRLast) throw new BcrError('SECTOR_CORRUPT', `replica of sector ${number} no longer matches its CommRLast`);
    const sector: ProvableSector = { sectorNumber: number, commC: fromHex(meta.commC), commRLast: cache.root, replica: new TreeReader(source, cache) };
    this.trees.set(number, sector);
    return { ...sector, replica: sector.replica.fresh() };
  }
}
