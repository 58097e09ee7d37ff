// Payment channels from the CLI: open one (a deposit for a payee), list a payer's or payee's
// channels, start settlement, collect what is left after the settle delay.
import type { Command } from 'commander';
import { formatBcr, parseAddress, parseBcr, toChecksumAddress } from '../../primitives/index.js';
import { paychChannelPayload, paychCollectKind, paychSettleKind } from '../../state/index.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { DEFAULT_RPC_URL, callRpc } from '../../client/rpc.js';
import { sendAndConfirm, unlockSender, withSignerOptions, type SenderOptions } from '../txSender.js';

import { openChannel, type ChannelJson } from '../../client/paymentChannels.js';

export function registerPaych(program: Command): void {
  const paych = program.command('paych').description('payment channels: a deposit a payee draws on with signed vouchers (retrieval payments)');

  withSignerOptions(paych.command('open').description('lock a deposit for a payee'))
    .requiredOption('--to <address>', 'the payee')
    .requiredOption('--deposit <bcr>', 'deposit in BCR')
    .option('--settle-delay <slots>', 'slots the payee keeps to redeem once settlement starts', '100')
    .action(async (opts: SenderOptions & { from: string; to: string; deposit: string; settleDelay: string; json?: boolean }) => {
      const sender = await unlockSender(opts, opts.from);
      const id = await openChannel(opts.rpc, sender, toChecksumAddress(parseAddress(opts.to)), parseBcr(opts.deposit), parseIntOption(opts.settleDelay, '--settle-delay'));
      if (opts.json) return printJson({ channel: id });
      console.log(`payment channel ${id} open: ${opts.deposit} BCR for ${opts.to}`);
    });

  paych
    .command('list')
    .description("an address's channels, as payer (--from) or payee (--to)")
    .option('--from <address>', 'channels paid from this address')
    .option('--to <address>', 'channels paying this address')
    .option('--rpc <url>', 'node JSON-RPC URL', DEFAULT_RPC_URL)
    .option('--json', 'machine-readable output')
    .action(async (opts: { from?: string; to?: string; rpc: string; json?: boolean }) => {
      if (!opts.from === !opts.to) throw new UsageError('give exactly one of --from or --to');
      const address = toChecksumAddress(parseAddress((opts.from ?? opts.to)!));
      const channels = await callRpc<ChannelJson[]>(opts.rpc, 'bcr_listPaymentChannels', [address, opts.from ? 'from' : 'to']);
      if (opts.json) return printJson(channels);
      if (channels.length === 0) return console.log('no payment channels');
      for (const c of channels) console.log(`channel ${c.channel}: ${c.from} -> ${c.to}, deposit ${formatBcr(BigInt(c.deposit))} BCR, redeemed ${formatBcr(BigInt(c.redeemed))} BCR, ${c.state}${c.settleAt === null ? '' : ` (settle slot ${c.settleAt})`}`);
    });

  for (const [name, kind, description] of [
    ['settle', paychSettleKind, 'start settlement (payer or payee): the payee may redeem until the settle delay ends'],
    ['collect', paychCollectKind, 'after settlement, the payer takes back what was not redeemed'],
  ] as const) {
    withSignerOptions(paych.command(name).description(description))
      .argument('<channel>', 'the channel id')
      .action(async (channel: string, opts: SenderOptions & { from: string; json?: boolean }) => {
        const sender = await unlockSender(opts, opts.from);
        const id = parseIntOption(channel, 'channel');
        const { id: tx, receipt } = await sendAndConfirm(opts.rpc, sender, kind, paychChannelPayload, { channel: id });
        const state = await callRpc<ChannelJson>(opts.rpc, 'bcr_getPaymentChannel', [id]);
        if (opts.json) return printJson({ tx, height: receipt.height, ...state });
        console.log(`${name}: channel ${id} is ${state.state}${state.settleAt === null ? '' : ` (settle slot ${state.settleAt})`} (tx ${tx})`);
      });
  }
}
