import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { vrfPublicKey } from '../../consensus/index.js';
import { formatBcr, parseAddress, parseBcr, toChecksumAddress, toHex } from '../../primitives/index.js';
import { addCollateralKind, changePeerAddressesKind, changeWorkerKind, changeWorkerPayload, collateralPayload, peerAddressesPayload, declareFaultsKind, declareRecoveriesKind, sectorListPayload, terminateSectorsKind, withdrawCollateralKind } from '../../state/index.js';
import { findVrfKeystore, saveVrfKeystore } from '../../wallet/index.js';
import { pendingRegistration, registerMinerOnce, type MinerRegistration } from '../minerInit.js';
import { UsageError, parseAttoOption, parseIntOption, printJson, readPassword } from '../io.js';
import { createToken, readSecret } from '../../rpc/auth.js';
import { DEFAULT_RPC_URL, callRpc } from '../../client/rpc.js';
import { sendAndConfirm, unlockSender, withSenderOptions, type SenderOptions } from '../txSender.js';

interface MinerRecord {
  miner: number;
  owner: string;
  worker: string;
  vrfKey: string;
  peerId: string;
  multiaddrs: string[];
  power: string;
  collateral: string;
  pledge: string;
  deposits: string;
  ineligibleUntil: number;
  workerChange: { oldWorker: string; newWorker: string; effectiveHeight: number } | null;
  sectors: Record<string, number>;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Bytes, or a number with B, KiB, MiB or GiB. */
export function parseSize(text: string, name: string): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError(`${name} must be a size such as 2048, 256B, 1KiB or 1MiB, got "${text}"`);
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${name} is too large`);
  return bytes;
}

/** A comma-separated list of sector numbers. */
function sectorList(text: string): number[] {
  const numbers = text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => parseIntOption(s, '--sectors'));
  if (numbers.length === 0) throw new UsageError('--sectors needs at least one sector number');
  return numbers;
}

interface TxCommandOpts extends SenderOptions {
  miner: string;
  from?: string;
  json?: boolean;
}

interface MinerInfo {
  miner: number;
  owner: string;
  worker: string;
  power: string;
  sectorSize: number;
  collateral: string;
  pledge: string;
  sealing: { sector: number; status: string; error?: string }[];
}

interface MinerDealRow {
  deal: number | null;
  state: string | null;
  stage: string;
  client: string;
  pieceBytes: number;
  transfer: { received: number; dataBytes: number; status: string } | null;
  publishing: { status: string } | null;
  sector: number | null;
  offset: number | null;
  sealing: { status: string } | null;
}

/** A command that calls the node's admin methods: a token made from the data dir's secret, or given. */
export function withAdminOptions(cmd: Command): Command {
  return cmd
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--data-dir <dir>', 'the node\'s data dir (an admin token is made from its secret)', './data/devnet')
    .option('--token <jwt>', 'an admin token instead (env BCR_TOKEN)');
}

/** The token for the local node's admin methods: --token, else BCR_TOKEN, else a 5-minute one from the data dir's secret. */
export async function adminToken(opts: { dataDir: string; token?: string }): Promise<string> {
  return opts.token ?? process.env.BCR_TOKEN ?? (await createToken(readSecret(opts.dataDir), 'admin', { expiresInSeconds: 300 }));
}

export function registerMiner(program: Command): void {
  const miner = program.command('miner').description('become a miner and run it: registration, collateral, sectors, faults (over a node\'s JSON-RPC)');
  /** A command (under `parent`) that signs a miner tx with a keystore key and waits for it to land. */
  const txCommand = (name: string, description: string, parent: Command = miner) =>
    withSenderOptions(
      parent
        .command(name)
        .description(description)
        .requiredOption('--miner <id>', 'the miner id')
        .option('--from <address>', 'the signing address (default: the miner\'s owner, or its worker where the worker may sign)'),
    ).option('--json', 'machine-readable output');
  const record = (opts: { rpc: string; miner: string }) => callRpc<MinerRecord>(opts.rpc, 'bcr_getMiner', [parseIntOption(opts.miner, '--miner')]);
  const report = (opts: { json?: boolean }, what: string, result: { id: string; receipt: { height: number } }, extra: Record<string, unknown> = {}) => {
    if (opts.json) return printJson({ tx: result.id, height: result.receipt.height, ...extra });
    console.log(`${what} (tx ${result.id}, block ${result.receipt.height})`);
  };

  withSenderOptions(miner.command('init'))
    .description('register a new miner: make its VRF (election) key in the keystore, send createMiner from the owner, print the miner id')
    .requiredOption('--owner <address>', 'the owner (its key must be in the keystore; it pays for registration and receives rewards)')
    .option('--worker <address>', 'the worker that signs blocks and proofs (default: the owner)')
    .option('--peer-id <id>', 'libp2p peer id to register (default: the node\'s)')
    .option('--multiaddrs <list>', 'comma-separated multiaddrs to register (default: the node\'s listen addresses)')
    .option('--light-kdf', 'cheap key encryption (tests only)')
    .option('--json', 'machine-readable output')
    .action(async (opts: SenderOptions & { owner: string; worker?: string; peerId?: string; multiaddrs?: string; lightKdf?: boolean; json?: boolean }) => {
      const owner = await unlockSender(opts, opts.owner);
      // An interrupted init of this owner is finished, not repeated: one miner per registration.
      const pending = pendingRegistration(opts.keystore, owner.address);
      let registration: MinerRegistration;
      let vrfKeyFile: string | undefined;
      if (pending) {
        registration = pending;
        vrfKeyFile = findVrfKeystore(opts.keystore, toHex(pending.vrfKey));
        if (!vrfKeyFile) throw new UsageError(`an unfinished registration of ${owner.address} names VRF key ${toHex(pending.vrfKey)}, which is not in ${opts.keystore}`);
        process.stderr.write(`finishing the registration an earlier miner init started (VRF key ${toHex(pending.vrfKey)})\n`);
      } else {
        const worker = opts.worker ? parseAddress(opts.worker) : parseAddress(owner.address);
        const status = await callRpc<{ peerId: string | null; listen: string[] }>(opts.rpc, 'bcr_syncStatus');
        const peerId = opts.peerId ?? status.peerId ?? '';
        const multiaddrs = opts.multiaddrs ? opts.multiaddrs.split(',').map((a) => a.trim()).filter(Boolean) : status.listen;
        // The election key is made here and only its public half leaves the machine.
        const vrfSecret = new Uint8Array(randomBytes(32));
        const password = await readPassword(opts.passwordFile, 'Password to encrypt the VRF key: ');
        vrfKeyFile = saveVrfKeystore(opts.keystore, vrfSecret, password, opts.lightKdf ? 4096 : undefined).file;
        registration = { worker, vrfKey: vrfPublicKey(vrfSecret), peerId, multiaddrs: multiaddrs.slice(0, 16) };
      }
      const { miner: id, tx, receipt } = await registerMinerOnce(opts.rpc, opts.keystore, owner, registration, pending?.raw ?? null);
      const vrfKey = toHex(registration.vrfKey);
      if (opts.json) return printJson({ miner: id, owner: owner.address, worker: toChecksumAddress(registration.worker), vrfKey, vrfKeyFile, tx });
      console.log(`miner ${id} registered${tx ? ` (tx ${tx}, block ${receipt!.height})` : ' (found on chain)'}`);
      console.log(`owner ${owner.address}, worker ${toChecksumAddress(registration.worker)}, VRF key ${vrfKey} (secret in ${vrfKeyFile})`);
      console.log(`next: bcr miner collateral add --miner ${id} --amount 20 --from ${owner.address}; then run the node with --miner ${id}`);
    });

  const collateral = miner.command('collateral').description('free collateral: add from any account, withdraw to the owner');
  for (const [action, kind] of [['add', addCollateralKind], ['withdraw', withdrawCollateralKind]] as const) {
    const description = action === 'add' ? 'move BCR from an account (--from, default the owner) to the miner\'s free collateral' : 'move free collateral back to the owner (locked pledge and deposits never leave)';
    txCommand(action, description, collateral)
      .requiredOption('--amount <bcr>', 'amount in BCR')
      .action(async (opts: TxCommandOpts & { amount: string }) => {
        const m = await record(opts);
        const sender = await unlockSender(opts, opts.from ?? m.owner);
        const value = parseBcr(opts.amount);
        const result = await sendAndConfirm(opts.rpc, sender, kind, collateralPayload, { miner: m.miner, value });
        const after = await record(opts);
        report(opts, `${action === 'add' ? 'added' : 'withdrew'} ${formatBcr(value)} BCR; free collateral now ${formatBcr(BigInt(after.collateral))} BCR`, result, { collateral: after.collateral });
      });
  }

  const faults = miner.command('faults').description('declare sectors faulty (their power leaves; fault fees run until they are proven again), or declare them recovering');
  for (const [action, kind, verb] of [['declare', declareFaultsKind, 'declared faulty'], ['recover', declareRecoveriesKind, 'declared recovering']] as const) {
    const description = action === 'declare' ? 'mark active sectors faulty (their power leaves until recovered)' : 'mark faulty sectors recovering: the next WindowPoSt of their deadline restores them';
    txCommand(action, description, faults)
      .requiredOption('--sectors <list>', 'comma-separated sector numbers')
      .action(async (opts: TxCommandOpts & { sectors: string }) => {
        const m = await record(opts);
        const sectors = sectorList(opts.sectors);
        const result = await sendAndConfirm(opts.rpc, await unlockSender(opts, opts.from ?? m.worker), kind, sectorListPayload, { miner: m.miner, sectors });
        report(opts, `sectors ${sectors.join(', ')} ${verb}`, result);
      });
  }

  txCommand('set-worker', 'rotate the worker key (owner): the new key signs blocks and proofs from a finality later on; keep it in the node\'s keystore')
    .requiredOption('--new-worker <address>', 'the new worker address')
    .action(async (opts: TxCommandOpts & { newWorker: string }) => {
      const m = await record(opts);
      const newWorker = parseAddress(opts.newWorker);
      const result = await sendAndConfirm(opts.rpc, await unlockSender(opts, opts.from ?? m.owner), changeWorkerKind, changeWorkerPayload, { miner: m.miner, newWorker });
      const after = await record(opts);
      report(opts, `worker changes to ${toChecksumAddress(newWorker)} at height ${after.workerChange?.effectiveHeight}`, result, { workerChange: after.workerChange });
    });

  txCommand('set-addresses', 'update the libp2p peer id and multiaddrs clients dial (worker or owner); default: the node\'s own')
    .option('--peer-id <id>', 'libp2p peer id (default: the node\'s)')
    .option('--multiaddrs <list>', 'comma-separated multiaddrs (default: the node\'s listen addresses)')
    .action(async (opts: TxCommandOpts & { peerId?: string; multiaddrs?: string }) => {
      const m = await record(opts);
      const status = await callRpc<{ peerId: string | null; listen: string[] }>(opts.rpc, 'bcr_syncStatus');
      const peerId = opts.peerId ?? status.peerId ?? '';
      const multiaddrs = opts.multiaddrs ? opts.multiaddrs.split(',').map((a) => a.trim()).filter(Boolean) : status.listen;
      const result = await sendAndConfirm(opts.rpc, await unlockSender(opts, opts.from ?? m.worker), changePeerAddressesKind, peerAddressesPayload, { miner: m.miner, peerId, multiaddrs: multiaddrs.slice(0, 16) });
      report(opts, `peer ${peerId} at ${multiaddrs.join(', ') || 'no addresses'}`, result, { peerId, multiaddrs });
    });

  txCommand('terminate', 'end sectors for good: their power leaves, a termination fee is burned, the rest of their pledge is freed')
    .requiredOption('--sectors <list>', 'comma-separated sector numbers')
    .action(async (opts: TxCommandOpts & { sectors: string }) => {
      const m = await record(opts);
      const sectors = sectorList(opts.sectors);
      const result = await sendAndConfirm(opts.rpc, await unlockSender(opts, opts.from ?? m.owner), terminateSectorsKind, sectorListPayload, { miner: m.miner, sectors });
      report(opts, `sectors ${sectors.join(', ')} terminated`, result);
    });

  miner
    .command('info')
    .description('power, collateral, sectors and sealing jobs of the node\'s miner (or of any miner with --miner)')
    .option('--miner <id>', 'a miner id (default: the node\'s own miner)')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (opts: { rpc: string; json?: boolean; miner?: string }) => {
      const local = opts.miner === undefined ? await callRpc<MinerInfo>(opts.rpc, 'bcr_minerInfo') : null;
      const id = local?.miner ?? parseIntOption(opts.miner!, '--miner');
      const info = { ...(await callRpc<MinerInfo & MinerRecord>(opts.rpc, 'bcr_getMiner', [id])), sealing: local?.sealing ?? [] };
      const head = await callRpc<{ height: number; slot: number }>(opts.rpc, 'bcr_chainHead');
      const sectors = await callRpc<{ sector: number; state: string }[]>(opts.rpc, 'bcr_getSectors', [info.miner]);
      const table = await callRpc<{ total: string }>(opts.rpc, 'bcr_getPowerTable');
      const deadlines = await callRpc<{ slotMs: number; windows: { period: number; deadline: number; open: number; close: number; state: string; sectors: number; partitions: number; faulty: number; proven: boolean; marginSlots: number; opensInSlots: number }[] }>(opts.rpc, 'bcr_getDeadlines', [info.miner]);
      if (opts.json) return printJson({ ...info, sectors, networkPower: table.total, deadlines: deadlines.windows });
      const share = BigInt(table.total) > 0n ? Number((BigInt(info.power) * 10000n) / BigInt(table.total)) / 100 : 0;
      console.log(`miner ${info.miner}: owner ${info.owner}, worker ${info.worker}`);
      console.log(`power ${info.power} bytes (${share}% of the network), sector size ${info.sectorSize} bytes`);
      console.log(`collateral ${formatBcr(BigInt(info.collateral))} BCR free, ${formatBcr(BigInt(info.pledge))} BCR pledged, ${formatBcr(BigInt(info.deposits))} BCR in pre-commit deposits`);
      console.log(`peer ${info.peerId || '(none)'} at ${info.multiaddrs.join(', ') || '(no addresses)'}`);
      const change = info.workerChange;
      if (change && change.effectiveHeight > head.height) console.log(`worker changes to ${change.newWorker} at height ${change.effectiveHeight} (now ${head.height})`);
      if (info.ineligibleUntil > head.slot) console.log(`INELIGIBLE until slot ${info.ineligibleUntil} (equivocation), now slot ${head.slot}`);
      const byState = new Map<string, number>();
      for (const s of sectors) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
      console.log(`sectors: ${[...byState].map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`);
      for (const job of info.sealing) console.log(`  sealing sector ${job.sector}: ${job.status}${job.error ? ` (${job.error})` : ''}`);
      console.log('next deadlines:');
      for (const w of deadlines.windows) {
        const seconds = (slots: number) => `${Math.round((slots * deadlines.slotMs) / 1000)} s`;
        const when = w.state === 'open' ? `OPEN, closes in ${w.marginSlots} slots (${seconds(w.marginSlots)})` : `opens in ${w.opensInSlots} slots (${seconds(w.opensInSlots)})`;
        // A window that has not opened cannot hold a proof yet: covered means nothing is owed this period.
        const proof = w.sectors === 0 ? 'no sectors' : w.proven ? (w.state === 'open' ? 'proven' : 'nothing owed this period') : w.state === 'open' ? 'NOT YET PROVEN' : 'to prove';
        const partitions = w.partitions > 1 ? ` in ${w.partitions} partitions` : '';
        console.log(`  period ${w.period} deadline ${w.deadline}: slots ${w.open}-${w.close - 1}, ${when}, ${w.sectors} sectors${partitions}${w.faulty ? ` (${w.faulty} faulty)` : ''}, ${proof}`);
      }
    });
  withAdminOptions(miner
    .command('ask')
    .description('the miner\'s storage ask, gossiped to clients')
    .command('set')
    .description('set the price and terms (the node signs with its worker key, gossips, and renews the ask before it expires)')
    .requiredOption('--price <atto>', 'atto per GiB per slot')
    .requiredOption('--min-piece <size>', 'smallest piece: bytes or a size such as 256B, 1KiB, 1MiB (a power of two)')
    .requiredOption('--max-piece <size>', 'largest piece (a power of two)')
    .requiredOption('--collateral <atto>', 'provider collateral per GiB, in atto')
    .option('--expiry <slots>', 'life of each signed ask in slots (it is renewed)', '3600'))
    .option('--json', 'machine-readable output')
    .action(async (opts: { price: string; minPiece: string; maxPiece: string; collateral: string; expiry: string; rpc: string; dataDir: string; token?: string; json?: boolean }) => {
      const token = await adminToken(opts);
      const params = [parseAttoOption(opts.price, '--price').toString(), parseSize(opts.minPiece, '--min-piece'), parseSize(opts.maxPiece, '--max-piece'), parseAttoOption(opts.collateral, '--collateral').toString(), parseIntOption(opts.expiry, '--expiry')];
      const ask = await callRpc<{ id: string; miner: number; seq: number; expirySlot: number }>(opts.rpc, 'bcr_minerSetAsk', params, token);
      if (opts.json) return printJson(ask);
      console.log(`ask of miner ${ask.miner} published (seq ${ask.seq}, expires at slot ${ask.expirySlot}, renewed before then): ${ask.id}`);
    });

  withAdminOptions(miner
    .command('retrieval-ask')
    .description('the price this miner asks for retrievals')
    .command('set')
    .description('set the price per byte (0: free); clients read it from the miner directly')
    .requiredOption('--price <atto>', 'atto per byte'))
    .action(async (opts: { price: string; rpc: string; dataDir: string; token?: string }) => {
      const token = await adminToken(opts);
      const result = await callRpc<{ pricePerByte: string }>(opts.rpc, 'bcr_minerSetRetrievalAsk', [parseAttoOption(opts.price, '--price').toString()], token);
      console.log(`retrieval price: ${result.pricePerByte} atto per byte`);
    });

  withAdminOptions(miner
    .command('retrievals')
    .description('the retrieval price and, per payment channel, the best voucher held and the bytes served this run'))
    .option('--json', 'machine-readable output')
    .action(async (opts: { rpc: string; dataDir: string; token?: string; json?: boolean }) => {
      const token = await adminToken(opts);
      const result = await callRpc<{ pricePerByte: string; channels: { channel: number; voucherAmount: string; voucherNonce: number; servedBytes: string }[] }>(opts.rpc, 'bcr_minerRetrievals', [], token);
      if (opts.json) return printJson(result);
      console.log(`retrieval price: ${result.pricePerByte} atto per byte`);
      for (const c of result.channels) console.log(`channel ${c.channel}: best voucher ${c.voucherAmount} atto (nonce ${c.voucherNonce}), ${c.servedBytes} bytes served this run`);
    });

  withAdminOptions(miner
    .command('deals')
    .description("the deals this node's miner takes: transfer progress, deal id, state, sector and offset, unsealed copy"))
    .option('--json', 'machine-readable output')
    .action(async (opts: { rpc: string; dataDir: string; token?: string; json?: boolean }) => {
      const token = await adminToken(opts);
      const deals = await callRpc<MinerDealRow[]>(opts.rpc, 'bcr_minerDeals', [], token);
      if (opts.json) return printJson(deals);
      if (deals.length === 0) return console.log('no deals');
      console.log('deal  state      client                                      bytes     transfer       sector  offset    sealing');
      for (const d of deals) {
        const transfer = d.transfer ? `${d.transfer.status} ${Math.floor((d.transfer.received * 100) / Math.max(1, d.transfer.dataBytes))}%` : 'offline';
        console.log(`${String(d.deal ?? '-').padStart(4)}  ${d.stage.padEnd(9)}  ${d.client}  ${String(d.pieceBytes).padStart(8)}  ${transfer.padEnd(13)}  ${String(d.sector ?? '-').padStart(6)}  ${String(d.offset ?? '-').padStart(8)}  ${d.sealing?.status ?? '-'}`);
      }
    });

  withAdminOptions(miner
    .command('deal')
    .description('deals the miner takes')
    .command('import')
    .description('an offline deal: the client\'s proposal (from bcr client deal propose) and its file; the node checks the piece, publishes the deal and seals it')
    .requiredOption('--proposal <file>', 'the proposal JSON')
    .requiredOption('--data <file>', 'the client\'s file'))
    .option('--json', 'machine-readable output')
    .action(async (opts: { proposal: string; data: string; rpc: string; dataDir: string; token?: string; json?: boolean }) => {
      const proposal = JSON.parse(readFileSync(opts.proposal, 'utf8')) as { proposal: string; clientSignature: string };
      const token = await adminToken(opts);
      const result = await callRpc<{ tx: string }>(opts.rpc, 'bcr_minerImportDeal', [proposal.proposal, proposal.clientSignature, toHex(new Uint8Array(readFileSync(opts.data)))], token);
      if (opts.json) return printJson(result);
      console.log(`deal sent for publication (tx ${result.tx}); once it is on chain its piece is packed into a sector and sealed; follow with: bcr miner deals`);
    });

  withAdminOptions(miner
    .command('seal')
    .description('seal, pre-commit and prove-commit new committed-capacity sectors')
    .requiredOption('--count <n>', 'how many sectors'))
    .action(async (opts: { count: string; rpc: string; dataDir: string; token?: string }) => {
      const token = await adminToken(opts);
      const { sectors } = await callRpc<{ sectors: number[] }>(opts.rpc, 'bcr_minerSeal', [parseIntOption(opts.count, '--count')], token);
      console.log(`sealing sectors ${sectors.join(', ')}; follow with: bcr miner info`);
    });
}
