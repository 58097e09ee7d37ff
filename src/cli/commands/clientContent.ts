// The CID commands over the client library: `bcr client put PATH --replicas R` (the DAG's CAR whole
// with R miners) and `bcr client get CID OUT` (from every miner gateway holding it at once).
import { existsSync } from 'node:fs';
import { addPenalised, getContent, openSession, putReplicated, waitReplicasActive, type FetchEvent, type StoreTerms } from '../../client/index.js';
import { UsageError, parseAttoOption, parseIntOption, printJson } from '../io.js';
import { createProgress } from '../progress.js';
import { unlockSender, type SenderOptions } from '../txSender.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
/** The most `client get --from` pays a gateway per byte unless told (1 BCR per GB). */
const DEFAULT_MAX_PRICE = '1000000000';

export async function putReplicasCommand(path: string, opts: SenderOptions & { from: string; replicas?: string; miners: string; duration: string; startIn: string; wait?: boolean; json?: boolean }): Promise<void> {
  const replicas = parseIntOption(opts.replicas!, '--replicas');
  if (replicas < 1 || replicas > 32) throw new UsageError('--replicas must be between 1 and 32');
  if (!existsSync(path)) throw new UsageError(`${path}: no such file or directory`);
  const miners = opts.miners === 'auto' ? 'auto' : opts.miners.split(',').map((id) => parseIntOption(id.trim(), '--miners'));
  const terms: StoreTerms = { duration: parseIntOption(opts.duration, '--duration'), startIn: parseIntOption(opts.startIn, '--start-in'), clientCollateral: 0n };
  const session = await openSession(opts.rpc, await unlockSender(opts, opts.from), log);
  let onInterrupt: (() => void) | null = null;
  const progress = createProgress();
  try {
    const result = await putReplicated(session, {
      path,
      replicas,
      miners,
      terms,
      keystore: opts.keystore,
      progress,
      onJournal: (journal) => {
        onInterrupt = () => {
          process.stderr.write(`\ninterrupted: every deal signed so far is recorded in ${journal}; run the same bcr client put again to finish it without new deals\n`);
          process.exit(130);
        };
        process.once('SIGINT', onInterrupt);
      },
    });
    progress.stop();
    if (onInterrupt) process.off('SIGINT', onInterrupt);
    const { file } = result;
    if (!result.alreadyStored) log(`every deal is published: ${result.cid} with miner(s) ${file.replicas.map((r) => r.miner).join(', ')}`);
    if (opts.wait) {
      await waitReplicasActive(session, file, (miner) => {
        if (opts.json) log(`retrievable now from miner ${miner}: ${result.cid}`);
        else console.log(result.cid);
      });
      log(`all ${file.replicas.length} replicas active`);
    }
    if (opts.json) return printJson({ cid: result.cid, name: file.name, carBytes: file.size, replicas: file.replicas, added: result.added, alreadyStored: result.alreadyStored });
    if (!opts.wait) console.log(result.cid);
  } finally {
    progress.stop();
    if (onInterrupt) process.off('SIGINT', onInterrupt);
    await session.host.stop();
  }
}

export async function getByCidCommand(cid: string, out: string, opts: SenderOptions & { miners?: string; from?: string; maxPrice?: string; json?: boolean }): Promise<void> {
  const miners = opts.miners?.split(',').map((id) => parseIntOption(id.trim(), '--miners'));
  // Paid gateways: the account pays each up to --max-price per byte (checked before a channel opens).
  const payer = opts.from ? { payer: { sender: await unlockSender(opts, opts.from), maxPricePerByte: parseAttoOption(opts.maxPrice ?? DEFAULT_MAX_PRICE, '--max-price'), keystore: opts.keystore, log } } : {};
  const progress = createProgress();
  let blocks = 0;
  let bytes = 0;
  const onEvent = (event: FetchEvent) => {
    if (event.type === 'dropped') progress.log(`${event.provider} dropped: ${event.reason}`);
    if (event.type === 'paying') progress.log(`${event.provider} asks ${event.pricePerByte} atto per byte: paying ${event.payee} with a voucher per block`);
    if (event.type === 'block') {
      blocks++;
      bytes += event.bytes;
      progress.update('get', blocks, blocks, () => `${blocks} blocks, ${(bytes / 1e6).toFixed(1)} MB, each checked against its CID`);
    }
  };
  let result;
  try {
    result = await getContent(opts.rpc, cid, out, { ...(miners ? { miners } : {}), ...payer, onEvent });
  } finally {
    progress.stop();
  }
  if (result.liars.length > 0) addPenalised(opts.keystore, result.liars);
  if (opts.json) return printJson({ ...result, bytes: result.bytes.toString(), providers: result.providers.map((p) => ({ ...p, paid: p.paid.toString() })) });
  const from = result.providers.filter((p) => p.blocks > 0).map((p) => `miner ${p.miner} (${p.blocks} blocks${p.paid > 0n ? `, paid ${p.paid} atto` : ''})`);
  console.log(`wrote ${result.directory ? `a directory of ${result.files} file(s)` : 'a file'}, ${result.bytes} bytes, to ${out}; every block checked against ${result.cid}; from ${from.join(', ')}${result.liars.length ? `; dropped for lying: miner ${result.liars.join(', miner ')}` : ''}`);
}
