// What this client stored, on disk beside its keystore: files.json (every file, under its root CID,
// with where it went and which deals hold it) and penalised-miners.json (miners caught serving bad
// data, skipped when miners are chosen). Written durably: a crash never leaves half a record.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileDurableSync } from '../util/durableFile.js';
import type { PutJournal } from './putJournal.js';

/** A piece of a file with one miner, and its deal. */
export interface StoredPiece {
  pieceCommitment: string;
  pieceBytes: number;
  length: number;
  deal: number;
}

/** An erasure-coded file's manifest (stored with every shard's miner, so each can hand it out). */
export interface FileManifest {
  format: 'bcr-file/1';
  name: string;
  size: number;
  sha256: string;
  /** The root CID of the file's DAG (the manifest's shards rebuild its CAR); absent in older manifests. */
  cid?: string;
  codec: { name: 'reed-solomon-gf256'; dataShards: number; parityShards: number; shardBytes: number };
  shards: { index: number; miner: number; pieces: StoredPiece[] }[];
}

/** A file stored whole with each of R miners, as CARs of whole blocks that each miner serves by CID. */
export interface ReplicatedFile {
  layout: 'replicas';
  cid: string;
  name: string;
  /** Bytes of the file's CAR. */
  size: number;
  client: string;
  replicas: { miner: number; pieces: StoredPiece[] }[];
}

/** A file erasure-coded across K+M miners, under the root id of its manifest. */
export type ErasureCodedFile = Pick<PutJournal, 'name' | 'size' | 'sha256' | 'client' | 'dataShards' | 'parityShards'> & {
  layout?: 'erasure';
  root: string;
  cid?: string;
  manifest: FileManifest;
  manifestDeals: number[];
};

export type StoredFile = ReplicatedFile | ErasureCodedFile;

export const isReplicated = (file: StoredFile): file is ReplicatedFile => file.layout === 'replicas';

function filesPath(keystore: string): string {
  return join(dirname(keystore), 'files.json');
}

export function readStoredFiles(keystore: string): StoredFile[] {
  const path = filesPath(keystore);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as StoredFile[]) : [];
}

/** Adds `file` (replacing a record of the same file: same layout and root). */
export function recordStoredFile(keystore: string, file: StoredFile): void {
  const key = (f: StoredFile) => (isReplicated(f) ? `replicas:${f.cid}:${f.client.toLowerCase()}` : `erasure:${f.root}`);
  const path = filesPath(keystore);
  mkdirSync(dirname(path), { recursive: true });
  writeFileDurableSync(path, JSON.stringify([...readStoredFiles(keystore).filter((f) => key(f) !== key(file)), file], null, 1));
}

function penaltiesPath(keystore: string): string {
  return join(dirname(keystore), 'penalised-miners.json');
}

export function readPenalised(keystore: string): Set<number> {
  const path = penaltiesPath(keystore);
  return new Set(existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as number[]) : []);
}

export function addPenalised(keystore: string, miners: Iterable<number>): void {
  const all = new Set([...readPenalised(keystore), ...miners]);
  mkdirSync(dirname(keystore), { recursive: true });
  writeFileDurableSync(penaltiesPath(keystore), JSON.stringify([...all]));
}
