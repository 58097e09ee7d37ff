// `bcr client retrieve PIECE --miner ID --out FILE`: fetches a piece (or a byte range of it) from a
// miner over the retrieval protocol, every chunk checked against the piece commitment as it arrives,
// paid (when the miner asks a price) with vouchers on a payment channel to the miner's worker.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { RETRIEVAL_CHUNK_BYTES, RetrievalError, queryRetrievalAsk, retrieveRange, retrievalProtocols } from '../../market/index.js';
import { createClientHost } from '../../p2p/clientHost.js';
import { formatBcr, fromHex, parseBcr, toChecksumAddress } from '../../primitives/index.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { callRpc } from '../rpcClient.js';
import { unlockSender, withSenderOptions, type SenderOptions } from '../txSender.js';
import { dialAddresses } from './clientDeal.js';
import { channelPayment, openChannel, settleDelayFor, type ChannelJson } from './paych.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

export function registerClientRetrieve(client: Command): void {
  withSenderOptions(client.command('retrieve'))
    .description('fetch a piece (or --offset/--length of it) from a miner, each chunk verified; pays the miner\'s price from a payment channel')
    .argument('<piece>', 'the piece commitment (0x-hex)')
    .requiredOption('--miner <id>', 'the miner that stores it')
    .requiredOption('--out <file>', 'where to write the bytes')
    .option('--offset <bytes>', 'first byte', '0')
    .option('--length <bytes>', 'how many bytes (default: to the end of the piece)')
    .option('--from <address>', 'the payer (needed when the miner asks a price)')
    .option('--channel <id>', 'pay from this open channel to the miner\'s worker')
    .option('--deposit <bcr>', 'or open a new channel with this deposit (default: twice the price of the range and two chunks)')
    .option('--json', 'machine-readable output')
    .action(async (piece: string, opts: SenderOptions & { miner: string; out: string; offset: string; length?: string; from?: string; channel?: string; deposit?: string; json?: boolean }) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(piece)) throw new UsageError('the piece commitment is 32 bytes of 0x-hex');
      const minerId = parseIntOption(opts.miner, '--miner');
      const miner = await callRpc<{ peerId: string; multiaddrs: string[] }>(opts.rpc, 'bcr_getMiner', [minerId]);
      const addresses = dialAddresses(minerId, miner);
      const { chainId, network, genesis } = await callRpc<{ chainId: number; network: string; genesis: string }>(opts.rpc, 'bcr_nodeInfo');
      const protocols = retrievalProtocols(network, fromHex(genesis));
      const host = await createClientHost();
      try {
        const ask = await queryRetrievalAsk(host, addresses, protocols);
        const offset = parseIntOption(opts.offset, '--offset');
        // The piece's size comes with the first answer; without --length ask for the rest of it.
        const length = opts.length ? parseIntOption(opts.length, '--length') : Number.MAX_SAFE_INTEGER - offset;
        let payment: Awaited<ReturnType<typeof channelPayment>> | undefined;
        if (ask.pricePerByte > 0n) {
          if (!opts.from) throw new UsageError(`miner ${minerId} asks ${ask.pricePerByte} atto per byte: pay with --from ADDRESS (and --channel ID or --deposit BCR)`);
          if (!opts.length) throw new UsageError('a paid retrieval needs --length (what the channel must cover)');
          const sender = await unlockSender(opts, opts.from);
          const payee = toChecksumAddress(ask.payee);
          let channel = opts.channel ? parseIntOption(opts.channel, '--channel') : 0;
          if (channel) {
            const c = await callRpc<ChannelJson | null>(opts.rpc, 'bcr_getPaymentChannel', [channel]);
            if (!c || c.to.toLowerCase() !== payee.toLowerCase() || c.state !== 'open') throw new UsageError(`channel ${channel} is not an open channel to the miner's worker ${payee}`);
            if (c.settleDelay < ask.minSettleDelay) throw new UsageError(`channel ${channel} settles after ${c.settleDelay} slots; miner ${minerId} serves only on channels of at least ${ask.minSettleDelay}`);
          } else {
            const deposit = opts.deposit ? parseBcr(opts.deposit) : 2n * ask.pricePerByte * BigInt(length + 2 * RETRIEVAL_CHUNK_BYTES);
            channel = await openChannel(opts.rpc, sender, payee, deposit, settleDelayFor(ask));
            log(`opened payment channel ${channel} to ${payee} with ${formatBcr(deposit)} BCR`);
          }
          payment = await channelPayment(opts.rpc, sender, chainId, channel, opts.keystore);
        }
        let shown = -1;
        const range = await retrieveRange(host, addresses, protocols, { pieceCommitment: fromHex(piece), offset, length: Math.max(1, length), pricePerByte: ask.pricePerByte, ...(payment ? { payment } : {}) }, (done, of) => {
          const tenth = Math.floor((done * 10) / of);
          if (tenth !== shown) log(`retrieved ${done}/${of} chunks (${(shown = tenth) * 10}%), each verified`);
        }).catch((error: unknown) => {
          if (error instanceof RetrievalError && error.code === 'BAD_RANGE' && !opts.length) throw new UsageError('--offset is past the end of the piece');
          if (error instanceof RetrievalError) throw new UsageError(`miner ${minerId}: ${error.message}`);
          throw error;
        });
        const start = offset - range.firstChunk * range.chunkBytes;
        const end = Math.min(range.data.length, start + Math.min(length, range.pieceBytes - offset));
        await writeFile(opts.out, range.data.subarray(start, end));
        const result = { piece, miner: minerId, bytes: end - start, pieceBytes: range.pieceBytes, paid: range.paid.toString(), channel: payment?.channel ?? null };
        if (opts.json) return printJson(result);
        console.log(`wrote ${result.bytes} bytes of piece ${piece.slice(0, 18)}… to ${opts.out}${range.paid > 0n ? `; paid ${range.paid} atto on channel ${payment!.channel}` : ' (free)'}`);
      } finally {
        await host.stop();
      }
    });
}
