// Files across miners. `bcr client put PATH` imports a file or directory as a UnixFS DAG and packs it
// into a CAR; with --replicas R it stores the CAR whole with R miners (clientContent.ts), otherwise it
// erasure-codes the CAR into K data + M parity shards, stores each shard with a different miner, and
// stores a manifest (size, sha256, root CID, codec, shard pieces and deals) with every one of them.
// It prints the root CID (and the manifest root id `MANIFEST_COMMITMENT@MINER,...`). `bcr client get`
// fetches a CID from the gateways (clientContent.ts), or reads an erasure-coded file's manifest, fetches
// every shard from its miner at once with verified chunks, keeps the first K that arrive whole,
// rebuilds the CAR and writes the DAG out. `bcr client ls` lists what this client stored.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { carInMemory, exportTo } from '../../content/index.js';
import { encodeShards, type PieceSource } from '../../market/index.js';
import { defaultKeystoreDir } from '../../wallet/index.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { callRpc } from '../../client/rpc.js';
import { createProgress } from '../progress.js';
import { unlockSender, withSenderOptions, type SenderOptions } from '../txSender.js';
import { fetchErasureCoded, packPath, standingDeals, addPenalised, askCandidates, isReplicated, readPenalised, readStoredFiles, reachableTargets, recordStoredFile, type ErasureCodedFile, type FileManifest, checkEscrow, explainer, followDeals, listAllDeals, minerTarget, openSession, planDeals, publishedNonces, sendDeals, type DealJson, type MinerTarget, type PlannedPiece, type StoreTerms } from '../../client/index.js';
import { journalPieces, plannedPieces, putJournalPath, readPutJournal, removePutJournal, retirePutJournal, unfinishedPuts, writePutJournal } from '../../client/putJournal.js';
import { getByCidCommand, putReplicasCommand } from './clientContent.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const memorySource = (bytes: Uint8Array): PieceSource => ({ size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) });
const sha256Hex = (bytes: Uint8Array) => `0x${createHash('sha256').update(bytes).digest('hex')}`;

type PutOptions = SenderOptions & { from: string; replicas?: string; dataShards: string; parityShards: string; miners: string; duration: string; startIn: string; wait?: boolean; json?: boolean };

export function registerClientFiles(client: Command): void {
  withSenderOptions(client.command('put'))
    .description('store a file or directory as an IPFS DAG (a CAR): whole with R miners (--replicas R), or erasure-coded across K+M miners with a manifest; prints the root CID')
    .argument('<path>', 'the file or directory')
    .requiredOption('--from <address>', 'the client (its escrow pays)')
    .option('--replicas <r>', 'store the CAR whole with R miners, each serving every block by CID from its gateway (instead of erasure coding)')
    .option('--data-shards <k>', 'shards the file is cut into (any K rebuild it)', '3')
    .option('--parity-shards <m>', 'extra shards (any M may be lost)', '2')
    .option('--miners <list>', '"auto" (cheapest live asks, then most power) or miner ids, comma-separated', 'auto')
    .option('--duration <slots>', 'how long the miners store it', '10000')
    .option('--start-in <slots>', 'slots until the deals start', '100')
    .option('--wait', 'wait until every deal is active')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: PutOptions) => {
      if (opts.replicas !== undefined) return putReplicasCommand(file, opts);
      const k = parseIntOption(opts.dataShards, '--data-shards');
      const m = parseIntOption(opts.parityShards, '--parity-shards');
      if (k < 1 || k + m > 32) throw new UsageError('--data-shards must be at least 1 and K+M at most 32');
      if (!existsSync(file)) throw new UsageError(`${file}: no such file or directory`);
      // The file (or directory) as a UnixFS DAG in a CAR: what the shards encode and a get rebuilds.
      const packed = await packPath(file);
      const data = new Uint8Array(await readFile(packed.car));
      await rm(packed.dir, { recursive: true, force: true });
      const chosen = opts.miners === 'auto' ? null : opts.miners.split(',').map((id) => parseIntOption(id.trim(), '--miners'));
      if (chosen && new Set(chosen).size !== k + m) throw new UsageError(`${k + m} distinct miners are needed, got ${chosen.join(',')}`);
      const candidates = chosen ?? (await askCandidates(opts.rpc, readPenalised(opts.keystore)));
      if (candidates.length < k + m) throw new UsageError(`${k + m} distinct miners are needed, ${candidates.length} have live asks (bcr market asks)`);
      const { shards, shardBytes } = await encodeShards(data, k, m);
      const sha256 = sha256Hex(data);
      // Already stored by this client in this layout (a put cut off while it waited, or run twice):
      // nothing new is signed or paid; with --wait it waits for those deals.
      // Only while all its deals stand: a file whose miners stopped holding it is stored anew.
      const stands = await standingDeals(opts.rpc, opts.from);
      const stored = readStoredFiles(opts.keystore)
        .filter((f): f is ErasureCodedFile => !isReplicated(f))
        .find((f) => f.sha256 === sha256 && f.dataShards === k && f.parityShards === m && f.client.toLowerCase() === opts.from.toLowerCase() && [...f.manifest.shards.flatMap((sh) => sh.pieces.map((p) => p.deal)), ...f.manifestDeals].every(stands));
      if (stored) {
        log(`${basename(file)} is already stored as ${stored.root}: nothing new is sent (bcr client ls shows its deals)`);
        if (opts.wait) {
          await waitActive(opts.rpc, opts.from, stored.manifest, stored.manifestDeals, async () => null, (active) => log(`retrievable now: ${active} of ${k + m} shards active, root ${stored.root}`));
          log(`all ${k + m} shards and manifests active`);
        }
        if (opts.json) return printJson({ cid: packed.cid, root: stored.root, size: stored.size, sha256, shards: stored.manifest.shards, alreadyStored: true });
        return console.log(packed.cid);
      }
      const session = await openSession(opts.rpc, await unlockSender(opts, opts.from), log);
      let onInterrupt: (() => void) | null = null;
      try {
        const terms: StoreTerms = { duration: parseIntOption(opts.duration, '--duration'), startIn: parseIntOption(opts.startIn, '--start-in'), clientCollateral: 0n };
        // Everything signed goes to the journal before it leaves; a rerun after a crash finishes it.
        const journalPath = putJournalPath(opts.keystore, session.sender.address, sha256, k, m);
        let journal = readPutJournal(journalPath);
        if (journal && session.headSlot >= journal.startSlot) {
          log(`an earlier put of this file was cut off and its deals' start slot ${journal.startSlot} has passed: starting again (its record is kept in ${retirePutJournal(journalPath)})`);
          journal = null;
        }
        const targets: MinerTarget[] = [];
        let plans: PlannedPiece[][];
        if (journal) {
          log(`resuming the put of ${basename(file)} started earlier, with miners ${journal.miners.join(', ')}`);
          for (const id of journal.miners) targets.push(await minerTarget(session, id));
          plans = journal.shards.map(plannedPieces);
        } else {
          if (chosen) for (const id of chosen) targets.push(await minerTarget(session, id));
          else targets.push(...(await reachableTargets(session, candidates, k + m)));
          plans = [];
          for (const [i, target] of targets.entries()) plans.push(await planDeals(session, target, memorySource(shards[i]!), terms));
          await checkEscrow(session, plans.flat());
          journal = { format: 'bcr-put/1', name: basename(file), size: data.length, sha256, client: session.sender.address, dataShards: k, parityShards: m, miners: targets.map((t) => t.minerId), startSlot: plans[0]![0]!.proposal.startSlot, shards: plans.map(journalPieces) };
          writePutJournal(journalPath, journal);
        }
        const miners = journal.miners;
        // Ctrl-C: say what stands and how to finish it (the journal already holds everything signed).
        const recorded = journal;
        onInterrupt = () => {
          const known = recorded.shards.flat().filter((p) => p.deal !== undefined).length;
          process.stderr.write(`\ninterrupted: every deal signed so far is recorded in ${journalPath} (${known} seen on chain); run the same bcr client put again to finish it without new deals (bcr client ls lists it as unfinished)\n`);
          process.exit(130);
        };
        process.once('SIGINT', onInterrupt);
        log(`${basename(file)}: ${data.length} bytes as ${k} data + ${m} parity shards of ${shardBytes} bytes, with miners ${miners.join(', ')}`);
        const startSlot = journal.startSlot;
        const explain = explainer(session, new Map(targets.map((t) => [t.minerId, t])));
        const progress = createProgress();
        try {
          const onChain = await publishedNonces(opts.rpc, session.sender.address);
          for (const [i, target] of targets.entries()) await sendDeals(session, target, memorySource(shards[i]!), plans[i]!.filter((p) => !onChain.has(p.proposal.nonce)), `shard ${i + 1}/${k + m} `, progress);
        } finally {
          progress.stop();
        }
        const shardDeals = await followDeals(opts.rpc, session.sender.address, plans.flat().map((p) => p.proposal), startSlot, false, explain, log);
        let at = 0;
        for (const pieces of journal.shards) for (const piece of pieces) piece.deal = shardDeals[at++]!.deal;
        writePutJournal(journalPath, journal);
        at = 0;
        const manifest: FileManifest = {
          format: 'bcr-file/1',
          name: journal.name,
          size: data.length,
          sha256,
          cid: packed.cid,
          codec: { name: 'reed-solomon-gf256', dataShards: k, parityShards: m, shardBytes },
          shards: plans.map((pieces, i) => ({ index: i, miner: miners[i]!, pieces: pieces.map((p) => ({ pieceCommitment: shardDeals[at]!.pieceCommitment, pieceBytes: p.plan.pieceBytes, length: p.plan.length, deal: shardDeals[at++]!.deal })) })),
        };
        // The manifest goes to every shard's miner, so that each of them can hand it out.
        if (!journal.manifest) {
          const json = JSON.stringify(manifest);
          // Its deals start as far ahead as the shards' did: the miners need the same time to seal them.
          session.headSlot = (await callRpc<{ slot: number }>(opts.rpc, 'bcr_chainHead')).slot;
          const manifestPlans: PlannedPiece[][] = [];
          for (const target of targets) manifestPlans.push(await planDeals(session, target, memorySource(new TextEncoder().encode(json)), terms));
          if (manifestPlans.some((p) => p.length !== 1)) throw new UsageError('the manifest does not fit one piece');
          await checkEscrow(session, manifestPlans.flat());
          journal.manifest = { json, pieces: manifestPlans.map(journalPieces) };
          writePutJournal(journalPath, journal);
        }
        const manifestBytes = new TextEncoder().encode(journal.manifest.json);
        const manifestPlans = journal.manifest.pieces.map(plannedPieces);
        const manifestProgress = createProgress();
        try {
          const onChain = await publishedNonces(opts.rpc, session.sender.address);
          for (const [i, target] of targets.entries()) await sendDeals(session, target, memorySource(manifestBytes), manifestPlans[i]!.filter((p) => !onChain.has(p.proposal.nonce)), `manifest ${i + 1}/${k + m} `, manifestProgress);
        } finally {
          manifestProgress.stop();
        }
        const manifestDeals = await followDeals(opts.rpc, session.sender.address, manifestPlans.flat().map((p) => p.proposal), manifestPlans[0]![0]!.proposal.startSlot, false, explain, log);
        const root = `0x${Buffer.from(manifestPlans[0]![0]!.proposal.pieceCommitment).toString('hex')}@${miners.join(',')}`;
        // Every deal is on chain: the file is recorded under its root and the journal has done its job.
        recordStoredFile(opts.keystore, { layout: 'erasure', root, cid: packed.cid, name: manifest.name, size: manifest.size, sha256, client: session.sender.address, dataShards: k, parityShards: m, manifest, manifestDeals: manifestDeals.map((d) => d.deal) });
        removePutJournal(journalPath);
        process.off('SIGINT', onInterrupt);
        onInterrupt = () => {
          process.stderr.write(`\ninterrupted while waiting for the miners to seal: every deal is on chain and the file is recorded as ${root} (bcr client ls shows its deals)\n`);
          process.exit(130);
        };
        process.once('SIGINT', onInterrupt);
        if (opts.wait) {
          log(`every deal is published; root ${packed.cid} (manifest ${root}: bcr client get takes either)`);
          const proposals = new Map([...plans.flat().map((p, i) => [shardDeals[i]!.deal, p.proposal] as const), ...manifestPlans.flat().map((p, i) => [manifestDeals[i]!.deal, p.proposal] as const)]);
          const explainDeal = (deal: number) => explain(proposals.get(deal)!);
          await waitActive(opts.rpc, session.sender.address, manifest, manifestDeals.map((d) => d.deal), explainDeal, (active) => {
            // Any K whole shards and one manifest rebuild the file: the root is usable from here on.
            if (opts.json) log(`retrievable now: ${active} of ${k + m} shards active, root ${root}`);
            else console.log(packed.cid);
          });
          log(`all ${k + m} shards and manifests active`);
        }
        if (opts.json) return printJson({ cid: packed.cid, root, size: manifest.size, sha256, shards: manifest.shards });
        if (!opts.wait) {
          log(`manifest root ${root} (bcr client get takes it on every machine; the CID on this one)`);
          console.log(packed.cid);
        }
      } finally {
        if (onInterrupt) process.off('SIGINT', onInterrupt);
        await session.host.stop();
      }
    });

  withSenderOptions(client.command('get'))
    .description('fetch a file or directory by its root CID from every miner gateway holding it at once (each block verified), or an erasure-coded one by its manifest: shards from several miners at once, rebuilt from the first K')
    .argument('<root>', 'the root CID put printed, or a manifest root id 0x...@miners')
    .argument('<out>', 'where to write the file or directory')
    .option('--from <address>', 'pays the miners that ask a price (payment channels are opened as needed)')
    .option('--max-price <atto>', 'with a CID: the most paid per byte to a gateway (default 1000000000: 1 BCR per GB)')
    .option('--miners <ids>', 'with a CID: ask only these miners (comma-separated; default: every miner with a gateway)')
    .option('--json', 'machine-readable output')
    .action(async (target: string, out: string, opts: SenderOptions & { from?: string; maxPrice?: string; miners?: string; json?: boolean }) => {
      // A CID this client stored erasure-coded is fetched through its manifest; every other CID from gateways.
      const erasure = target.startsWith('0x') ? null : readStoredFiles(opts.keystore).find((f): f is ErasureCodedFile => !isReplicated(f) && f.cid === target);
      if (!target.startsWith('0x') && !erasure) return getByCidCommand(target, out, opts);
      const root = erasure ? erasure.root : target;
      const sender = opts.from ? await unlockSender(opts, opts.from) : null;
      const session = await openSession(opts.rpc, sender ?? { address: '', key: new Uint8Array(32) }, log);
      try {
        const progress = createProgress();
        const { manifest, file, paid, penalised } = await fetchErasureCoded(session, root, { pay: sender !== null, keystore: opts.keystore, progress, log }).finally(() => progress.stop());
        if (manifest.cid) {
          // The shards rebuild the file's CAR: every block checked, the DAG written out as the file or directory.
          const car = await carInMemory(file);
          if (car.roots[0]?.toString() !== manifest.cid) throw new UsageError(`the rebuilt CAR's root is not the manifest's CID ${manifest.cid}`);
          await exportTo(car.roots[0], car, out);
        } else await writeFile(out, file);
        if (penalised.length > 0) addPenalised(opts.keystore, penalised);
        const result = { root, cid: manifest.cid ?? null, name: manifest.name, size: manifest.size, sha256: manifest.sha256, paid, penalised };
        if (opts.json) return printJson(result);
        console.log(manifest.cid ? `wrote ${manifest.name} to ${out} (every block checked against ${manifest.cid})` : `wrote ${manifest.size} bytes to ${out} (sha256 ${manifest.sha256} checked)`);
      } finally {
        await session.host.stop();
      }
    });

  client
    .command('ls')
    .description('files stored with bcr client put from this keystore (root CIDs), with their deals\' states')
    .option('--keystore <dir>', 'the keystore whose files to list', defaultKeystoreDir())
    .option('--rpc <url>', 'node JSON-RPC URL', 'http://127.0.0.1:8645/')
    .option('--json', 'machine-readable output')
    .action(async (opts: { keystore: string; rpc: string; json?: boolean }) => {
      const stateOf = async (deal: number) => (await callRpc<{ state: string } | null>(opts.rpc, 'bcr_getDeal', [deal]))?.state ?? 'unknown';
      const withStates = async (pieces: { deal: number }[]) => Promise.all(pieces.map(async (p) => ({ deal: p.deal, state: await stateOf(p.deal) })));
      const rows = [];
      for (const f of readStoredFiles(opts.keystore)) {
        if (isReplicated(f)) {
          const replicas = [];
          for (const r of f.replicas) replicas.push({ miner: r.miner, deals: await withStates(r.pieces) });
          rows.push({ layout: 'replicas' as const, cid: f.cid, root: null, name: f.name, size: f.size, replicas, shards: [] });
          continue;
        }
        const shards = [];
        for (const shard of f.manifest.shards) shards.push({ index: shard.index, miner: shard.miner, deals: await withStates(shard.pieces) });
        rows.push({ layout: 'erasure' as const, cid: f.cid ?? null, root: f.root, name: f.name, size: f.size, replicas: [], shards });
      }
      // Puts cut off midway: their signed deals are on record until a rerun of the put finishes them.
      const unfinished = unfinishedPuts(opts.keystore).map(({ path, journal }) => ({
        name: journal.name,
        size: journal.size,
        journal: path,
        shards: journal.shards.map((pieces, index) => ({ index, miner: journal.miners[index]!, deals: pieces.map((p) => p.deal ?? null) })),
      }));
      const unfinishedRows = unfinished.map((u) => ({ root: null, unfinished: u.journal, name: u.name, size: u.size, shards: u.shards.map((sh) => ({ ...sh, deals: sh.deals.map((deal) => ({ deal, state: deal === null ? 'not yet on chain' : 'published' })) })) }));
      if (opts.json) return printJson([...rows, ...unfinishedRows]);
      if (rows.length === 0 && unfinished.length === 0) return console.log('no files');
      for (const u of unfinished) console.log(`${u.name} (${u.size} bytes) unfinished: run bcr client put on it again to finish (${u.journal})`);
      for (const r of rows) {
        console.log(`${r.name} (${r.size} bytes) ${r.cid ?? r.root}${r.layout === 'replicas' ? `, ${r.replicas.length} replica(s)` : `, ${r.shards.length} shards (manifest ${r.root})`}`);
        for (const s of r.replicas) console.log(`  replica with miner ${s.miner}: ${s.deals.map((d) => `deal ${d.deal} ${d.state}`).join(', ')}`);
        for (const s of r.shards) console.log(`  shard ${s.index + 1} with miner ${s.miner}: ${s.deals.map((d) => `deal ${d.deal} ${d.state}`).join(', ')}`);
      }
    });
}

/** Polls the file's deals until all are active; `onRetrievable` fires once, when any K shards and a manifest are. */
async function waitActive(rpc: string, client: string, manifest: FileManifest, manifestDeals: number[], explain: (deal: number) => Promise<string | null>, onRetrievable: (activeShards: number) => void): Promise<void> {
  const isActive = (deal: DealJson | undefined) => deal !== undefined && (deal.state === 'active' || deal.state === 'completed');
  let retrievable = false;
  let reported = new Map<number, string>();
  for (;;) {
    const byId = new Map((await listAllDeals(rpc, client)).map((d) => [d.deal, d]));
    const next = new Map<number, string>();
    for (const deal of [...manifest.shards.flatMap((s) => s.pieces.map((p) => p.deal)), ...manifestDeals]) {
      const found = byId.get(deal);
      if (!found) continue;
      next.set(deal, found.state);
      if (reported.get(deal) !== found.state) log(`deal ${deal} ${found.state}${found.sector === null ? '' : ` (sector ${found.sector})`}`);
      if (found.state === 'expired' || found.state === 'slashed') {
        const why = await explain(deal);
        throw new UsageError(`deal ${deal} ${found.state}: the miner did not prove it in time${why ? ` (${why})` : ''}`);
      }
    }
    reported = next;
    const activeShards = manifest.shards.filter((s) => s.pieces.every((p) => isActive(byId.get(p.deal)))).length;
    const activeManifests = manifestDeals.filter((d) => isActive(byId.get(d))).length;
    if (!retrievable && activeShards >= manifest.codec.dataShards && activeManifests > 0) {
      retrievable = true;
      onRetrievable(activeShards);
    }
    if (activeShards === manifest.shards.length && activeManifests === manifestDeals.length) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}
