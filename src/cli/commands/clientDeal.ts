// `bcr client deal FILE --miner ID --duration SLOTS`: stores a file with a miner. The file is cut
// into pieces of at most the miner's largest piece (one piece when it fits); for each piece the
// command signs a proposal, sends it to the miner over libp2p, streams the piece (resuming after a
// dropped stream), and follows the deal on chain: published, then (with --wait) active.
import { open, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkEscrow, explainer, followDeals, minerTarget, openSession, planDeals, sendDeals, type StoreTerms } from '../../client/index.js';
import type { PieceSource } from '../../market/index.js';
import { formatBcr, toHex } from '../../primitives/index.js';
import { UsageError, parseAttoOption, parseIntOption, printJson } from '../io.js';
import { createProgress } from '../progress.js';
import { unlockSender, withSenderOptions, type SenderOptions } from '../txSender.js';

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
      const handle = await open(file, 'r');
      const size = (await handle.stat()).size;
      if (size === 0) throw new UsageError('the file is empty');
      const source: PieceSource = {
        size,
        read: async (offset, length) => {
          const buffer = new Uint8Array(length);
          await handle.read(buffer, 0, length, offset);
          return buffer;
        },
      };
      const session = await openSession(opts.rpc, await unlockSender(opts, opts.from), log);
      try {
        const target = await minerTarget(session, minerId);
        const terms: StoreTerms = { duration, startIn: parseIntOption(opts.startIn, '--start-in'), clientCollateral, ...(opts.price ? { price: parseAttoOption(opts.price, '--price') } : {}) };
        const pieces = await planDeals(session, target, source, terms);
        const total = await checkEscrow(session, pieces);
        const startSlot = pieces[0]!.proposal.startSlot;
        log(`storing ${file} (${mib(size)}) with miner ${minerId} as ${pieces.length} piece(s) from slot ${startSlot} to ${startSlot + duration}; locks ${formatBcr(total)} BCR of escrow`);
        const progress = createProgress();
        try {
          await sendDeals(session, target, source, pieces, '', progress);
        } finally {
          progress.stop();
        }
        const deals = await followDeals(opts.rpc, session.sender.address, pieces.map((p) => p.proposal), startSlot, Boolean(opts.wait), explainer(session, new Map([[minerId, target]])), log);
        const manifest = {
          file,
          bytes: size,
          client: session.sender.address,
          pieces: pieces.map(({ plan, proposal }, i) => ({ index: plan.index, offset: plan.offset, length: plan.length, pieceCommitment: toHex(proposal.pieceCommitment), pieceBytes: plan.pieceBytes, miner: minerId, nonce: proposal.nonce, deal: deals[i]!.deal, state: deals[i]!.state, sector: deals[i]!.sector })),
        };
        if (opts.manifest) await writeFile(opts.manifest, JSON.stringify(manifest, null, 2) + '\n');
        if (opts.json) return printJson(manifest);
        for (const p of manifest.pieces) console.log(`deal ${p.deal}: piece ${p.index + 1}/${manifest.pieces.length} (${p.pieceCommitment.slice(0, 18)}…, ${p.pieceBytes} B) with miner ${minerId}, ${p.state}${p.sector === null ? '' : ` in sector ${p.sector}`}`);
      } finally {
        await handle.close();
        await session.host.stop();
      }
    });
}
