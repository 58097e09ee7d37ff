// Storage clients: market escrow (funds set aside for deals) and the live asks of miners.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { encode, formatBcr, parseAddress, parseBcr, toChecksumAddress, toHex } from '../../primitives/index.js';
import { merkleRoot } from '../../proofs/index.js';
import { dealPayment, dealProposalCodec, escrowAddKind, escrowAddPayload, escrowWithdrawKind, escrowWithdrawPayload, signDealProposal, type DealProposal } from '../../state/index.js';
import { UsageError, parseAttoOption, parseIntOption, printJson } from '../io.js';
import { registerClientDeal } from './clientDeal.js';
import { registerClientRetrieve } from './clientRetrieve.js';
import { registerClientFiles } from './clientFiles.js';
import { DEFAULT_RPC_URL, callRpc } from '../../client/rpc.js';
import { sendAndConfirm, unlockSender, withSenderOptions, withSignerOptions, type SenderOptions } from '../txSender.js';

interface EscrowJson {
  total: string;
  locked: string;
  available: string;
}

export function registerClient(program: Command): void {
  const client = program.command('client').description('storage clients: market escrow and deals').enablePositionalOptions();
  const escrow = client.command('escrow').description('market escrow: BCR set aside to pay for storage deals (locked amounts cannot be withdrawn)');
  const show = async (rpc: string, address: string, json: boolean | undefined, what?: string) => {
    const e = await callRpc<EscrowJson>(rpc, 'bcr_getEscrow', [address]);
    if (json) return printJson({ address, ...e });
    if (what) console.log(what);
    console.log(`escrow of ${address}: ${formatBcr(BigInt(e.total))} BCR, ${formatBcr(BigInt(e.locked))} locked, ${formatBcr(BigInt(e.available))} available`);
  };

  withSignerOptions(escrow.command('add').description('move BCR from an account into an escrow (yours, or --for another account\'s)'))
    .requiredOption('--amount <bcr>', 'amount in BCR')
    .option('--for <address>', 'the escrow to fund (default: the sender\'s)')
    .action(async (opts: SenderOptions & { from: string; amount: string; for?: string; json?: boolean }) => {
      const sender = await unlockSender(opts, opts.from);
      const account = parseAddress(opts.for ?? sender.address);
      const value = parseBcr(opts.amount);
      const { id, receipt } = await sendAndConfirm(opts.rpc, sender, escrowAddKind, escrowAddPayload, { account, value });
      await show(opts.rpc, toChecksumAddress(account), opts.json, `added ${formatBcr(value)} BCR (tx ${id}, block ${receipt.height})`);
    });

  withSignerOptions(escrow.command('withdraw').description('move available escrow back to the account'))
    .requiredOption('--amount <bcr>', 'amount in BCR')
    .action(async (opts: SenderOptions & { from: string; amount: string; json?: boolean }) => {
      const sender = await unlockSender(opts, opts.from);
      const value = parseBcr(opts.amount);
      const { id, receipt } = await sendAndConfirm(opts.rpc, sender, escrowWithdrawKind, escrowWithdrawPayload, { value });
      await show(opts.rpc, sender.address, opts.json, `withdrew ${formatBcr(value)} BCR (tx ${id}, block ${receipt.height})`);
    });

  const deal = client.command('deal').enablePositionalOptions().description('store a file with a miner (bcr client deal FILE --miner ID --duration SLOTS --from ADDRESS), or an offline deal (propose) and a deal\'s state (show)');
  registerClientDeal(deal);
  registerClientRetrieve(client);
  registerClientFiles(client);
  client
    .command('deals')
    .description("a client's deals on chain: piece, miner, slots, price, state, what is settled")
    .requiredOption('--client <address>', 'the client address')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (opts: { client: string; rpc: string; json?: boolean }) => {
      const deals = await callRpc<DealRow[]>(opts.rpc, 'bcr_listDeals', [{ client: toChecksumAddress(parseAddress(opts.client)) }]);
      if (opts.json) return printJson(deals);
      printDeals(deals, 'miner');
    });
  withSenderOptions(deal.command('propose'))
    .description('sign an offline deal proposal for a file (hand the proposal and the file to the miner: bcr miner deal import)')
    .argument('<file>', 'the data (at most one sector)')
    .requiredOption('--miner <id>', 'the provider miner id')
    .requiredOption('--duration <slots>', 'how long the miner stores it, in slots')
    .requiredOption('--price <atto>', 'price per slot, in atto')
    .option('--start-in <slots>', 'slots from now until the deal starts (the miner must seal before then)', '120')
    .option('--provider-collateral <atto>', 'collateral the provider locks', '0')
    .option('--client-collateral <atto>', 'collateral the client locks', '0')
    .requiredOption('--from <address>', 'the client (its key must be in the keystore; its escrow pays)')
    .option('--out <file>', 'write the proposal JSON here (default: stdout)')
    .action(async (file: string, opts: SenderOptions & { miner: string; duration: string; price: string; startIn: string; providerCollateral: string; clientCollateral: string; from: string; out?: string }) => {
      const data = new Uint8Array(readFileSync(file));
      const provider = parseIntOption(opts.miner, '--miner');
      const { sectorSize } = await callRpc<{ sectorSize: number }>(opts.rpc, 'bcr_getMiner', [provider]);
      let pieceBytes = 128;
      while (pieceBytes < data.length) pieceBytes *= 2;
      if (pieceBytes > sectorSize) throw new UsageError(`${file} is ${data.length} bytes: more than miner ${provider}'s ${sectorSize}-byte sectors hold`);
      const padded = new Uint8Array(pieceBytes);
      padded.set(data);
      const head = await callRpc<{ slot: number }>(opts.rpc, 'bcr_chainHead');
      const startSlot = head.slot + parseIntOption(opts.startIn, '--start-in');
      const sender = await unlockSender(opts, opts.from);
      const { chainId } = await callRpc<{ chainId: number }>(opts.rpc, 'bcr_nodeInfo');
      const proposal: DealProposal = {
        pieceCommitment: merkleRoot(padded),
        pieceBytes,
        client: parseAddress(sender.address),
        provider,
        startSlot,
        endSlot: startSlot + parseIntOption(opts.duration, '--duration'),
        pricePerSlot: parseAttoOption(opts.price, '--price'),
        providerCollateral: parseAttoOption(opts.providerCollateral, '--provider-collateral'),
        clientCollateral: parseAttoOption(opts.clientCollateral, '--client-collateral'),
        nonce: Number(BigInt(`0x${randomBytes(6).toString('hex')}`)),
      };
      const json = {
        proposal: toHex(encode(dealProposalCodec, proposal)),
        clientSignature: toHex(signDealProposal(sender.key, chainId, proposal)),
        pieceCommitment: toHex(proposal.pieceCommitment),
        pieceBytes,
        startSlot,
        endSlot: proposal.endSlot,
        payment: dealPayment(proposal).toString(),
      };
      if (opts.out) writeFileSync(opts.out, JSON.stringify(json, null, 2) + '\n');
      else printJson(json);
    });
  deal
    .command('show')
    .description('a deal on chain: its terms and state')
    .argument('<id>', 'the deal id')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .action(async (id: string, opts: { rpc: string }) => printJson(await callRpc(opts.rpc, 'bcr_getDeal', [parseIntOption(id, 'deal id')])));

  escrow
    .command('show')
    .description('an account\'s escrow: total, locked by deals, available')
    .argument('<address>', 'the account')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (address: string, opts: { rpc: string; json?: boolean }) => show(opts.rpc, toChecksumAddress(parseAddress(address)), opts.json));
}

export interface DealRow {
  deal: number;
  state: string;
  pieceCommitment: string;
  pieceBytes: number;
  client: string;
  provider: number;
  sector: number | null;
  startSlot: number;
  endSlot: number;
  pricePerSlot: string;
  settledSlots: number;
}

/** One line per deal; `party` names the other side's column. */
export function printDeals(deals: DealRow[], party: 'miner' | 'client'): void {
  if (deals.length === 0) return console.log('no deals');
  console.log(`deal  state      ${party === 'miner' ? 'miner' : 'client                                    '}  piece                 bytes     sector  slots          price/slot  settled`);
  for (const d of deals) {
    const who = party === 'miner' ? String(d.provider).padStart(5) : d.client.padEnd(42);
    console.log(`${String(d.deal).padStart(4)}  ${d.state.padEnd(9)}  ${who}  ${d.pieceCommitment.slice(0, 20)}  ${String(d.pieceBytes).padStart(8)}  ${String(d.sector ?? '-').padStart(6)}  ${`${d.startSlot}-${d.endSlot}`.padEnd(13)}  ${d.pricePerSlot.padStart(10)}  ${d.settledSlots}`);
  }
}

interface AskJson {
  id: string;
  miner: number;
  pricePerGiBSlot: string;
  minPieceBytes: number;
  maxPieceBytes: number;
  collateralPerGiB: string;
  expirySlot: number;
}

export function registerMarket(program: Command): void {
  const market = program.command('market').description('the storage market as this node sees it');
  market
    .command('asks')
    .description('live storage asks: miner, price, piece sizes, collateral, power, peer addresses')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (opts: { rpc: string; json?: boolean }) => {
      const rows = await callRpc<(AskJson & { power: string; peerId: string; multiaddrs: string[] })[]>(opts.rpc, 'bcr_listAsks');
      if (opts.json) return printJson(rows);
      if (rows.length === 0) return console.log('no live storage asks');
      console.log('miner  price (atto/GiB/slot)  pieces              collateral (atto/GiB)  power (bytes)  expires  peer');
      for (const r of rows) {
        console.log(`${String(r.miner).padStart(5)}  ${r.pricePerGiBSlot.padStart(21)}  ${`${r.minPieceBytes}-${r.maxPieceBytes}`.padEnd(18)}  ${r.collateralPerGiB.padStart(21)}  ${r.power.padStart(13)}  ${String(r.expirySlot).padStart(7)}  ${r.multiaddrs[0] ?? r.peerId}`);
      }
    });
}
