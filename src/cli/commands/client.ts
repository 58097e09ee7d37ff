// Storage clients: market escrow (funds set aside for deals) and the live asks of miners.
import type { Command } from 'commander';
import { formatBcr, parseAddress, parseBcr, toChecksumAddress } from '../../primitives/index.js';
import { escrowAddKind, escrowAddPayload, escrowWithdrawKind, escrowWithdrawPayload } from '../../state/index.js';
import { defaultKeystoreDir } from '../../wallet/index.js';
import { printJson } from '../io.js';
import { DEFAULT_RPC_URL, callRpc } from '../rpcClient.js';
import { sendAndConfirm, unlockSender, type SenderOptions } from '../txSender.js';

interface EscrowJson {
  total: string;
  locked: string;
  available: string;
}

export function registerClient(program: Command): void {
  const client = program.command('client').description('storage clients: market escrow');
  const escrow = client.command('escrow').description('market escrow: BCR set aside to pay for storage deals (locked amounts cannot be withdrawn)');
  const withSender = (cmd: Command) =>
    cmd
      .requiredOption('--from <address>', 'the signing account (its key must be in the keystore)')
      .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
      .option('--keystore <dir>', 'keystore directory (env BCR_KEYSTORE)', defaultKeystoreDir())
      .option('--password-file <file>', 'read the password from a file (else env BCR_PASSWORD, else a prompt)')
      .option('--json', 'machine-readable output');
  const show = async (rpc: string, address: string, json: boolean | undefined, what?: string) => {
    const e = await callRpc<EscrowJson>(rpc, 'bcr_getEscrow', [address]);
    if (json) return printJson({ address, ...e });
    if (what) console.log(what);
    console.log(`escrow of ${address}: ${formatBcr(BigInt(e.total))} BCR, ${formatBcr(BigInt(e.locked))} locked, ${formatBcr(BigInt(e.available))} available`);
  };

  withSender(escrow.command('add').description('move BCR from an account into an escrow (yours, or --for another account\'s)'))
    .requiredOption('--amount <bcr>', 'amount in BCR')
    .option('--for <address>', 'the escrow to fund (default: the sender\'s)')
    .action(async (opts: SenderOptions & { from: string; amount: string; for?: string; json?: boolean }) => {
      const sender = await unlockSender(opts, opts.from);
      const account = parseAddress(opts.for ?? sender.address);
      const value = parseBcr(opts.amount);
      const { id, receipt } = await sendAndConfirm(opts.rpc, sender, escrowAddKind, escrowAddPayload, { account, value });
      await show(opts.rpc, toChecksumAddress(account), opts.json, `added ${formatBcr(value)} BCR (tx ${id}, block ${receipt.height})`);
    });

  withSender(escrow.command('withdraw').description('move available escrow back to the account'))
    .requiredOption('--amount <bcr>', 'amount in BCR')
    .action(async (opts: SenderOptions & { from: string; amount: string; json?: boolean }) => {
      const sender = await unlockSender(opts, opts.from);
      const value = parseBcr(opts.amount);
      const { id, receipt } = await sendAndConfirm(opts.rpc, sender, escrowWithdrawKind, escrowWithdrawPayload, { value });
      await show(opts.rpc, sender.address, opts.json, `withdrew ${formatBcr(value)} BCR (tx ${id}, block ${receipt.height})`);
    });

  escrow
    .command('show')
    .description('an account\'s escrow: total, locked by deals, available')
    .argument('<address>', 'the account')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (address: string, opts: { rpc: string; json?: boolean }) => show(opts.rpc, toChecksumAddress(parseAddress(address)), opts.json));
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
      const asks = await callRpc<AskJson[]>(opts.rpc, 'bcr_getOrders', ['storageAsk']);
      const rows = [];
      for (const ask of asks.sort((a, b) => (BigInt(a.pricePerGiBSlot) < BigInt(b.pricePerGiBSlot) ? -1 : 1))) {
        const miner = await callRpc<{ power: string; peerId: string; multiaddrs: string[] }>(opts.rpc, 'bcr_getMiner', [ask.miner]);
        rows.push({ ...ask, power: miner.power, peerId: miner.peerId, multiaddrs: miner.multiaddrs });
      }
      if (opts.json) return printJson(rows);
      if (rows.length === 0) return console.log('no live storage asks');
      console.log('miner  price (atto/GiB/slot)  pieces              collateral (atto/GiB)  power (bytes)  expires  peer');
      for (const r of rows) {
        console.log(`${String(r.miner).padStart(5)}  ${r.pricePerGiBSlot.padStart(21)}  ${`${r.minPieceBytes}-${r.maxPieceBytes}`.padEnd(18)}  ${r.collateralPerGiB.padStart(21)}  ${r.power.padStart(13)}  ${String(r.expirySlot).padStart(7)}  ${r.multiaddrs[0] ?? r.peerId}`);
      }
    });
}
