// `bcr client deal FILE --miner ID --duration SLOTS`: stores a file with a miner. The file is cut
// into pieces of at most the miner's largest piece (one piece when it fits); for each piece the
// command signs a proposal, sends it to the miner over libp2p, streams the piece (resuming after a
// dropped stream), and follows the deal on chain: published, then (with --wait) active.
import { randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Command } from 'commander';
import type { Libp2p } from '@libp2p/interface';
import { DealClientError, askCollateral, askPricePerSlot, dealProtocols, openOrder, planPieces, proposeDeal, queryAsk, sendPiece, type DealProtocols, type PiecePlan, type PieceSource, type StorageAsk } from '../../market/index.js';
import { createClientHost } from '../../p2p/clientHost.js';
import { bytesEqual, formatBcr, fromHex, parseAddress, toHex } from '../../primitives/index.js';
import { merkleRoot } from '../../proofs/index.js';
import { dealPayment, signDealProposal, type DealProposal } from '../../state/index.js';
import { UsageError, parseAttoOption, parseIntOption, printJson } from '../io.js';
import { callRpc } from '../rpcClient.js';
import { unlockSender, withSenderOptions, type SenderOptions } from '../txSender.js';

interface DealJson {
  deal: number;
  state: string;
  nonce: number;
  sector: number | null;
  pieceCommitment: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const mib = (bytes: number) => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

export function registerClientDeal(deal: Command): void {
  withSenderOptions(deal)
    .argument('[file]', 'the file to store')
    .option('--miner <id>', 'the provider miner id')
    .option('--duration <slots>', 'how long the miner stores it, in slots')
    .option('--price <atto>', "price per slot for each piece, in atto (default: the miner's ask)")
    .option('--start-in <slots>', 'slots from now until the deals start (the miner seals before then)', '100')
    .option('--client-collateral <atto>', 'collateral the client locks per deal', '0')
    .option('--from <address>', 'the client (its key must be in the keystore; its escrow pays)')
    .option('--wait', 'wait until every deal is active (its sector proven)')
    .option('--manifest <file>', 'write where each piece of the file went (JSON)')
    .option('--json', 'machine-readable output')
    .action(async (file: string | undefined, opts: SenderOptions & { miner?: string; duration?: string; price?: string; startIn: string; clientCollateral: string; from?: string; wait?: boolean; manifest?: string; json?: boolean }) => {
      if (!file) throw new UsageError('name the file to store: bcr client deal FILE --miner ID --duration SLOTS --from ADDRESS');
      if (!opts.miner || !opts.duration || !opts.from) throw new UsageError('--miner, --duration and --from are required');
      const minerId = parseIntOption(opts.miner, '--miner');
      const duration = parseIntOption(opts.duration, '--duration');
      if (duration === 0) throw new UsageError('--duration must be at least 1 slot');
      const clientCollateral = parseAttoOption(opts.clientCollateral, '--client-collateral');
      const miner = await callRpc<MinerJson>(opts.rpc, 'bcr_getMiner', [minerId]);
      if (!miner.peerId || miner.multiaddrs.length === 0) throw new UsageError(`miner ${minerId} has no peer addresses on chain (bcr miner set-addresses)`);
      const { chainId, network, genesis } = await callRpc<{ chainId: number; network: string; genesis: string }>(opts.rpc, 'bcr_nodeInfo');
      const head = await callRpc<{ slot: number }>(opts.rpc, 'bcr_chainHead');
      const host = await createClientHost();
      const protocols = dealProtocols(network, fromHex(genesis));
      const addresses: Multiaddr[] = miner.multiaddrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${miner.peerId}`));
      try {
        await storeFile(host, protocols, addresses, { file, minerId, duration, clientCollateral, miner, chainId, headSlot: head.slot, opts });
      } finally {
        await host.stop();
      }
    });
}

interface MinerJson {
  worker: string;
  peerId: string;
  multiaddrs: string[];
  sectorSize: number;
}

/** The miner's live ask, straight from the miner (its terms now), checked against its worker key on chain. */
async function minerAsk(host: Libp2p, protocols: DealProtocols, addresses: Multiaddr[], minerId: number, miner: MinerJson, chainId: number, slot: number): Promise<StorageAsk> {
  const bytes = await queryAsk(host, addresses, protocols).catch((error: unknown) => {
    throw new UsageError(`miner ${minerId} cannot be reached at ${addresses.join(', ')}: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (!bytes) throw new UsageError(`miner ${minerId} has no live storage ask`);
  const signed = openOrder('storageAsk', bytes, chainId);
  if (signed.order.miner !== minerId || !bytesEqual(signed.signer, parseAddress(miner.worker)) || signed.order.expirySlot <= slot) throw new UsageError(`miner ${minerId} answered with an ask that is not its own or has expired`);
  return signed.order;
}

interface StoreArgs {
  file: string;
  minerId: number;
  duration: number;
  clientCollateral: bigint;
  miner: MinerJson;
  chainId: number;
  headSlot: number;
  opts: SenderOptions & { price?: string; startIn: string; from?: string; wait?: boolean; manifest?: string; json?: boolean };
}

async function storeFile(host: Libp2p, protocols: DealProtocols, addresses: Multiaddr[], args: StoreArgs): Promise<void> {
  const { file, minerId, duration, clientCollateral, miner, chainId, opts } = args;
  const ask = await minerAsk(host, protocols, addresses, minerId, miner, chainId, args.headSlot);
  const terms = { pricePerGiBSlot: ask.pricePerGiBSlot, collateralPerGiB: ask.collateralPerGiB };
  const handle = await open(file, 'r');
  const size = (await handle.stat()).size;
  const read = async (offset: number, length: number) => {
    const buffer = new Uint8Array(length);
    await handle.read(buffer, 0, length, offset);
    return buffer;
  };
  const sender = await unlockSender(opts, opts.from!);
  const client = parseAddress(sender.address);
  const startSlot = args.headSlot + parseIntOption(opts.startIn, '--start-in');
  if (size === 0) throw new UsageError('the file is empty');
  const plans = planPieces(size, Math.min(ask.maxPieceBytes, miner.sectorSize), ask.minPieceBytes);
  const pieces: { plan: PiecePlan; proposal: DealProposal; signature: Uint8Array }[] = [];
  for (const plan of plans) {
    const padded = new Uint8Array(plan.pieceBytes);
    padded.set(await read(plan.offset, plan.length));
    const proposal: DealProposal = {
      pieceCommitment: merkleRoot(padded),
      pieceBytes: plan.pieceBytes,
      client,
      provider: minerId,
      startSlot,
      endSlot: startSlot + duration,
      pricePerSlot: opts.price ? parseAttoOption(opts.price, '--price') : askPricePerSlot(terms, plan.pieceBytes),
      providerCollateral: askCollateral(terms, plan.pieceBytes),
      clientCollateral,
      nonce: Number(BigInt(`0x${randomBytes(6).toString('hex')}`)),
    };
    pieces.push({ plan, proposal, signature: signDealProposal(sender.key, chainId, proposal) });
  }
  const total = pieces.reduce((sum, p) => sum + dealPayment(p.proposal) + p.proposal.clientCollateral, 0n);
  const escrow = await callRpc<{ available: string }>(opts.rpc, 'bcr_getEscrow', [sender.address]);
  if (BigInt(escrow.available) < total) throw new UsageError(`the deals lock ${formatBcr(total)} BCR but ${sender.address}'s escrow has ${formatBcr(BigInt(escrow.available))} BCR available: bcr client escrow add --from ${sender.address} --amount ...`);
  log(`storing ${file} (${mib(size)}) with miner ${minerId} as ${pieces.length} piece(s) from slot ${startSlot} to ${startSlot + duration}; locks ${formatBcr(total)} BCR of escrow`);

  try {
    for (const { plan, proposal, signature } of pieces) {
      const label = `piece ${plan.index + 1}/${pieces.length}`;
      const answer = await proposeDeal(host, addresses, protocols, { chainId, proposal, clientSignature: signature, dataBytes: plan.length });
      if (answer.code !== 'ACCEPTED') throw new UsageError(`miner ${minerId} refused ${label}: ${answer.code}: ${answer.message}`);
      log(`${label}: accepted by miner ${minerId}${answer.received ? ` (resuming at ${mib(answer.received)})` : ''}; sending ${mib(plan.length)}`);
      const source: PieceSource = { size: plan.length, read: (offset, length) => read(plan.offset + offset, length) };
      let shown = -1;
      const verdict = await sendPiece(host, addresses, protocols, { proposal }, source, {
        onProgress: (p) => {
          const tenth = Math.floor((p.sent * 10) / p.total);
          if (tenth === shown) return;
          shown = tenth;
          log(`${label}: ${mib(p.sent)} of ${mib(p.total)} (${tenth * 10}%), ${(p.bytesPerSecond / 1e6).toFixed(1)} MB/s`);
        },
        onRetry: (error, attempt) => log(`${label}: stream lost (${error instanceof Error ? error.message : String(error)}); resuming (attempt ${attempt + 1})`),
      }).catch((error: unknown) => {
        if (error instanceof DealClientError) throw new UsageError(`miner ${minerId} refused ${label}: ${error.message}`);
        throw error;
      });
      log(`${label}: the miner verified the piece: ${verdict}`);
    }
  } finally {
    await handle.close();
  }

  const deals = await followDeals(opts.rpc, sender.address, pieces.map((p) => p.proposal), startSlot, Boolean(opts.wait));
  const manifest = {
    file,
    bytes: size,
    client: sender.address,
    pieces: pieces.map(({ plan, proposal }, i) => ({ index: plan.index, offset: plan.offset, length: plan.length, pieceCommitment: toHex(proposal.pieceCommitment), pieceBytes: plan.pieceBytes, miner: minerId, nonce: proposal.nonce, deal: deals[i]!.deal, state: deals[i]!.state, sector: deals[i]!.sector })),
  };
  if (opts.manifest) await writeFile(opts.manifest, JSON.stringify(manifest, null, 2) + '\n');
  if (opts.json) return printJson(manifest);
  for (const p of manifest.pieces) console.log(`deal ${p.deal}: piece ${p.index + 1}/${manifest.pieces.length} (${p.pieceCommitment.slice(0, 18)}…, ${p.pieceBytes} B) with miner ${minerId}, ${p.state}${p.sector === null ? '' : ` in sector ${p.sector}`}`);
}

/** Waits until every proposal is a deal on chain (and, with `active`, until each is active); fails if one expires. */
async function followDeals(rpc: string, client: string, proposals: DealProposal[], startSlot: number, active: boolean): Promise<DealJson[]> {
  const found = new Map<number, DealJson>();
  let reported = new Map<number, string>();
  for (;;) {
    const deals = await listAll(rpc, client);
    const next = new Map<number, string>();
    for (const [i, proposal] of proposals.entries()) {
      const deal = deals.find((d) => d.nonce === proposal.nonce && d.pieceCommitment === toHex(proposal.pieceCommitment));
      if (!deal) continue;
      found.set(i, deal);
      next.set(i, deal.state);
      if (reported.get(i) !== deal.state) log(`piece ${i + 1}/${proposals.length}: deal ${deal.deal} ${deal.state}${deal.sector === null ? '' : ` (sector ${deal.sector})`}`);
      if (deal.state === 'expired' || deal.state === 'slashed') throw new UsageError(`deal ${deal.deal} ${deal.state}: the miner did not prove it in time`);
    }
    reported = next;
    const done = found.size === proposals.length && (!active || [...found.values()].every((d) => d.state === 'active' || d.state === 'completed'));
    if (done) return proposals.map((_, i) => found.get(i)!);
    const head = await callRpc<{ slot: number }>(rpc, 'bcr_chainHead');
    if (found.size < proposals.length && head.slot > startSlot) throw new UsageError(`slot ${startSlot} passed and ${proposals.length - found.size} deal(s) were never published`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function listAll(rpc: string, client: string): Promise<DealJson[]> {
  const out: DealJson[] = [];
  for (let after = 0; ; ) {
    const page = await callRpc<DealJson[]>(rpc, 'bcr_listDeals', [{ client }, after]);
    out.push(...page);
    if (page.length < 256) return out;
    after = page[page.length - 1]!.deal;
  }
}
