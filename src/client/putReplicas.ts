// A file or directory stored whole with R miners, the IPFS way: imported as a UnixFS DAG (its root
// CID is the file's name), packed into a CAR, cut at block boundaries into CARs of one piece each, and
// each piece dealt to every miner. Each miner indexes its pieces and serves every block by CID over
// its gateway; the client fetches from all of them at once. A root CID this client already stores
// with R miners is not stored or paid for again; asking for more replicas adds only the missing ones.
// Everything signed is journalled before it leaves (a rerun after a crash or Ctrl-C finishes it).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CarFileSink, carShardReader, importPath, parseCid, planCarShards, type CarShard } from '../content/index.js';
import { ClientError } from './errors.js';
import { checkEscrow, followDeals, listAllDeals, minerTarget, standingDeals, planDeals, publishedNonces, sendDeals, explainer, type ClientSession, type MinerTarget, type PlannedPiece, type StoreTerms } from './deals.js';
import { askCandidates, reachableTargets } from './minerChoice.js';
import { silentProgress, type Progress } from './progress.js';
import { journalPieces, plannedPieces, readPutJournal, removePutJournal, replicaJournalPath, retirePutJournal, writePutJournal } from './putJournal.js';
import { isReplicated, readPenalised, readStoredFiles, recordStoredFile, type ReplicatedFile, type StoredPiece } from './records.js';

export interface ReplicaPutOptions {
  /** A file, or a directory with everything under it. */
  path: string;
  replicas: number;
  /** Miner ids, or 'auto': the cheapest live asks that answer. */
  miners: number[] | 'auto';
  terms: StoreTerms;
  /** The client's keystore directory: records and journals live beside it. */
  keystore: string;
  progress?: Progress;
  /** Called once the journal holds what was signed (where a rerun finds it). */
  onJournal?: (path: string) => void;
  /** Stops between steps (what was signed stays in the journal: the same put again finishes it). */
  signal?: AbortSignal;
}

export interface ReplicaPutResult {
  cid: string;
  file: ReplicatedFile;
  /** Miners added by this put (none when the file was stored already). */
  added: number[];
  alreadyStored: boolean;
}

/** The content as a CAR in a temporary directory (removed by the caller), with its root CID and sha256. */
export async function packPath(path: string): Promise<{ dir: string; car: string; cid: string; bytes: number; sha256: string; directory: boolean }> {
  const dir = await mkdtemp(join(tmpdir(), 'bcr-put-'));
  const car = join(dir, 'content.car');
  const sink = await CarFileSink.create(car);
  const imported = await importPath(path, sink);
  await sink.finish(imported.cid);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(car)) hash.update(chunk as Buffer);
  return { dir, car, cid: imported.cid.toString(), bytes: (await stat(car)).size, sha256: `0x${hash.digest('hex')}`, directory: imported.directory };
}

export async function putReplicated(session: ClientSession, options: ReplicaPutOptions): Promise<ReplicaPutResult> {
  const { replicas, keystore } = options;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 32) throw new ClientError('replicas must be between 1 and 32');
  const progress = options.progress ?? silentProgress();
  const { signal } = options;
  const packed = await packPath(options.path);
  try {
    signal?.throwIfAborted();
    const client = session.sender.address;
    const recorded = readStoredFiles(keystore).find((f): f is ReplicatedFile => isReplicated(f) && f.cid === packed.cid && f.client.toLowerCase() === client.toLowerCase());
    // Only replicas whose deals still stand count: a miner that never proved (or was slashed) holds
    // nothing, whatever this client's record says, and its copy is stored again.
    const existing = recorded ? await liveReplicas(session, recorded) : undefined;
    const have = existing?.replicas.length ?? 0;
    const journalPath = replicaJournalPath(keystore, client, packed.cid, replicas);
    if (existing && have >= replicas) {
      session.log(`${packed.cid} is already stored with ${have} miner(s) (${existing.replicas.map((r) => r.miner).join(', ')}): nothing new is sent or paid`);
      // (A put killed after it recorded the file, before it cleared its journal.)
      removePutJournal(journalPath);
      return { cid: packed.cid, file: existing, added: [], alreadyStored: true };
    }
    if (recorded && have < recorded.replicas.length) session.log(`${recorded.replicas.length - have} recorded replica(s) of ${packed.cid} no longer stand (their deals expired or were slashed): storing them anew`);
    if (existing) session.log(`${packed.cid} is stored with ${have} miner(s); adding ${replicas - have}`);
    const holders = new Set(existing?.replicas.map((r) => r.miner) ?? []);
    const need = replicas - have;

    let journal = readPutJournal(journalPath);
    if (journal && session.headSlot >= journal.startSlot) {
      session.log(`an earlier put of ${packed.cid} was cut off and its deals' start slot ${journal.startSlot} has passed: starting again (its record is kept in ${retirePutJournal(journalPath)})`);
      journal = null;
    }
    const targets: MinerTarget[] = [];
    let shards: CarShard[];
    let plans: PlannedPiece[][];
    if (journal) {
      session.log(`resuming the put of ${packed.cid} started earlier, with miners ${journal.miners.join(', ')}`);
      for (const id of journal.miners) targets.push(await minerTarget(session, id));
      shards = await planCarShards(packed.car, parseCid(packed.cid), journal.maxPieceBytes!);
      plans = journal.shards.map(plannedPieces);
    } else {
      if (options.miners !== 'auto') {
        const chosen = options.miners.filter((id) => !holders.has(id));
        if (new Set(chosen).size !== need) throw new ClientError(`${need} more distinct miners are needed (not ${[...holders].join(', ') || 'none'}), got ${options.miners.join(',')}`);
        for (const id of chosen) targets.push(await minerTarget(session, id));
      } else {
        const excluded = new Set([...readPenalised(keystore), ...holders]);
        targets.push(...(await reachableTargets(session, await askCandidates(session.rpc, excluded), need)));
      }
      // One cut for every miner: the same pieces (and commitments) in every replica where the asks allow.
      const maxPieceBytes = Math.min(...targets.map((t) => Math.min(t.ask.maxPieceBytes, t.sectorSize)));
      shards = await planCarShards(packed.car, parseCid(packed.cid), maxPieceBytes);
      plans = [];
      for (const target of targets) {
        const pieces: PlannedPiece[] = [];
        for (const shard of shards) {
          const planned = await planDeals(session, target, carShardReader(packed.car, shard), options.terms);
          if (planned.length !== 1) throw new ClientError(`a CAR shard of ${shard.bytes} bytes does not fit one piece of miner ${target.minerId}`);
          pieces.push(planned[0]!);
        }
        plans.push(pieces);
      }
      await checkEscrow(session, plans.flat());
      journal = { format: 'bcr-put/1', name: basename(options.path), size: packed.bytes, sha256: packed.sha256, client, dataShards: 1, parityShards: targets.length - 1, miners: targets.map((t) => t.minerId), startSlot: plans[0]![0]!.proposal.startSlot, shards: plans.map(journalPieces), cid: packed.cid, maxPieceBytes };
      writePutJournal(journalPath, journal);
    }
    options.onJournal?.(journalPath);
    signal?.throwIfAborted();
    session.log(`${packed.cid}: ${packed.bytes} bytes of CAR in ${shards.length} piece(s), with miner(s) ${journal.miners.join(', ')}`);

    const onChain = await publishedNonces(session.rpc, client);
    // Each miner gets its pieces on a stream of its own, all miners at once.
    await Promise.all(
      targets.map(async (target, i) => {
        for (const [j, piece] of plans[i]!.entries()) {
          signal?.throwIfAborted();
          if (onChain.has(piece.proposal.nonce)) continue;
          await sendDeals(session, target, carShardReader(packed.car, shards[j]!), [piece], `miner ${target.minerId} CAR ${j + 1}/${shards.length} `, progress);
        }
      }),
    );
    const explain = explainer(session, new Map(targets.map((t) => [t.minerId, t])));
    const deals = await followDeals(session.rpc, client, plans.flat().map((p) => p.proposal), journal.startSlot, false, explain, session.log);
    let at = 0;
    for (const pieces of journal.shards) for (const piece of pieces) piece.deal = deals[at++]!.deal;
    writePutJournal(journalPath, journal);

    at = 0;
    const added = plans.map((pieces, i) => ({
      miner: journal.miners[i]!,
      pieces: pieces.map((p, j): StoredPiece => ({ pieceCommitment: deals[at]!.pieceCommitment, pieceBytes: p.plan.pieceBytes, length: shards[j]!.bytes, deal: deals[at++]!.deal })),
    }));
    const file: ReplicatedFile = { layout: 'replicas', cid: packed.cid, name: existing?.name ?? journal.name, size: packed.bytes, client, replicas: [...(existing?.replicas ?? []), ...added] };
    recordStoredFile(keystore, file);
    removePutJournal(journalPath);
    return { cid: packed.cid, file, added: added.map((r) => r.miner), alreadyStored: false };
  } finally {
    await rm(packed.dir, { recursive: true, force: true });
  }
}

/** The file with only the replicas whose every deal is published or active on chain. */
async function liveReplicas(session: ClientSession, file: ReplicatedFile): Promise<ReplicatedFile> {
  const stands = await standingDeals(session.rpc, file.client);
  return { ...file, replicas: file.replicas.filter((r) => r.pieces.every((p) => stands(p.deal))) };
}

/**
 * Polls a replicated file's deals until every one is active; `onRetrievable` fires once, when some
 * miner has all its pieces active (the file can be fetched from then on).
 */
export async function waitReplicasActive(session: ClientSession, file: ReplicatedFile, onRetrievable: (miner: number) => void, pollMs = 500, signal?: AbortSignal): Promise<void> {
  const isActive = (state: string | undefined) => state === 'active' || state === 'completed';
  let retrievable = false;
  const reported = new Map<number, string>();
  for (;;) {
    signal?.throwIfAborted();
    const byId = new Map((await listAllDeals(session.rpc, file.client)).map((d) => [d.deal, d]));
    for (const replica of file.replicas) {
      for (const piece of replica.pieces) {
        const deal = byId.get(piece.deal);
        if (!deal) continue;
        if (reported.get(piece.deal) !== deal.state) session.log(`miner ${replica.miner}: deal ${piece.deal} ${deal.state}${deal.sector === null ? '' : ` (sector ${deal.sector})`}`);
        reported.set(piece.deal, deal.state);
        if (deal.state === 'expired' || deal.state === 'slashed') throw new ClientError(`deal ${piece.deal} with miner ${replica.miner} ${deal.state}: the miner did not prove it in time`);
      }
    }
    const complete = file.replicas.filter((r) => r.pieces.every((p) => isActive(byId.get(p.deal)?.state)));
    if (!retrievable && complete.length > 0) {
      retrievable = true;
      onRetrievable(complete[0]!.miner);
    }
    if (complete.length === file.replicas.length) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
