// What `bcr client put` has signed and what became of it, on disk before anything leaves: the shard and
// manifest deal proposals (with their signatures and nonces), then the deal ids as they land. A put
// killed at any point is finished by running it again: proposals already on chain are followed, the
// rest are sent again unchanged (the chain accepts one deal per client nonce, so nothing is paid twice).
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decode, encode, fromHex, toHex } from '../primitives/index.js';
import { dealProposalCodec } from '../state/index.js';
import type { PiecePlan } from '../market/index.js';
import { writeFileDurableSync } from '../util/durableFile.js';
import type { PlannedPiece } from './deals.js';

interface JournalPiece {
  plan: PiecePlan;
  proposal: string;
  signature: string;
  deal?: number;
}

export interface PutJournal {
  format: 'bcr-put/1';
  name: string;
  size: number;
  sha256: string;
  client: string;
  dataShards: number;
  parityShards: number;
  miners: number[];
  startSlot: number;
  shards: JournalPiece[][];
  /** A replicated put: the root CID, and the piece size its CAR was cut to (the shards are cut again from it on resume). */
  cid?: string;
  maxPieceBytes?: number;
  /** The manifest (JSON) and its deal with each miner, once the shards' deals are on chain. */
  manifest?: { json: string; pieces: JournalPiece[][] };
}

function putsDir(keystore: string): string {
  return join(dirname(keystore), 'puts');
}

/** Where the journal of a put of this content, by this client, in this layout lives. */
export function putJournalPath(keystore: string, client: string, sha256: string, k: number, m: number): string {
  return join(putsDir(keystore), `${client.toLowerCase()}-${sha256.replace(/^0x/, '').slice(0, 32)}-${k}+${m}.json`);
}

/** Where the journal of a replicated put of `cid` (adding copies up to `replicas`) lives. */
export function replicaJournalPath(keystore: string, client: string, cid: string, replicas: number): string {
  return join(putsDir(keystore), `${client.toLowerCase()}-${cid}-r${replicas}.json`);
}

export function readPutJournal(path: string): PutJournal | null {
  if (!existsSync(path)) return null;
  const journal = JSON.parse(readFileSync(path, 'utf8')) as PutJournal;
  if (journal.format !== 'bcr-put/1') throw new Error(`${path} is not a put journal`);
  return journal;
}

export function writePutJournal(path: string, journal: PutJournal): void {
  writeFileDurableSync(path, JSON.stringify(journal, null, 1));
}

/** Keeps an outdated journal beside the live ones (its published deals stay on record) and frees its name. */
export function retirePutJournal(path: string): string {
  const retired = `${path.replace(/\.json$/, '')}.retired-${Date.now()}.json`;
  renameSync(path, retired);
  return retired;
}

export function removePutJournal(path: string): void {
  rmSync(path, { force: true });
}

/** Every unfinished put of this keystore's directory (for `bcr client ls`). */
export function unfinishedPuts(keystore: string): { path: string; journal: PutJournal }[] {
  const dir = putsDir(keystore);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    // Not retired journals, nor the hidden temporary file a kill mid-write leaves.
    .filter((name) => name.endsWith('.json') && !name.startsWith('.') && !name.includes('.retired-'))
    .map((name) => ({ path: join(dir, name), journal: readPutJournal(join(dir, name))! }));
}

export function journalPieces(pieces: PlannedPiece[]): JournalPiece[] {
  return pieces.map((p) => ({ plan: p.plan, proposal: toHex(encode(dealProposalCodec, p.proposal)), signature: toHex(p.signature) }));
}

export function plannedPieces(pieces: JournalPiece[]): PlannedPiece[] {
  return pieces.map((p) => ({ plan: p.plan, proposal: decode(dealProposalCodec, fromHex(p.proposal), 'journal deal proposal'), signature: fromHex(p.signature) }));
}
