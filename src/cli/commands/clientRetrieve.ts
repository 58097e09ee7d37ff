// `bcr client retrieve PIECE --miner ID --out FILE` (or `--manifest M.json`: every piece of a file, the
// original written back): fetches a piece (or a byte range of it) from a miner over the retrieval protocol, every chunk checked against the piece commitment as it arrives,
// paid (when the miner asks a price) with vouchers on a payment channel to the miner's worker.
import { readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { RETRIEVAL_CHUNK_BYTES, RetrievalError, queryRetrievalAsk, retrieveRange, retrievalProtocols } from '../../market/index.js';
import { createClientHost } from '../../p2p/clientHost.js';
import { errorMessage, formatBcr, fromHex, parseBcr, toChecksumAddress } from '../../primitives/index.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { callRpc } from '../../client/rpc.js';
import { unlockSender, withSenderOptions, type SenderOptions } from '../txSender.js';
import { dialAddresses } from '../../client/index.js';
import { channelPayment, openChannel, settleDelayFor, type ChannelJson } from '../../client/paymentChannels.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

type RetrieveOptions = SenderOptions & { miner?: string; out: string; offset: string; length?: string; from?: string; channel?: string; deposit?: string; manifest?: string; json?: boolean };

/** What `bcr client deal --manifest` wrote: where each piece of the file went. */
interface Manifest {
  file: string;
  bytes: number;
  pieces: { index: number; offset: number; length: number; pieceCommitment: string; miner: number }[];
}

/** A miner's retrieval session: its addresses, ask and (for a paid ask) the channel that pays it. */
interface MinerSession {
  minerId: number;
  addresses: ReturnType<typeof dialAddresses>;
  ask: Awaited<ReturnType<typeof queryRetrievalAsk>>;
  payment?: Awaited<ReturnType<typeof channelPayment>>;
}

export function registerClientRetrieve(client: Command): void {
  withSenderOptions(client.command('retrieve'))
    .description("fetch a piece (or --offset/--length of it) from a miner, or a whole file from its deal manifest, each chunk verified; pays the miner's price from a payment channel")
    .argument('[piece]', 'the piece commitment (0x-hex); not with --manifest')
    .option('--miner <id>', 'the miner that stores the piece')
    .option('--manifest <file>', 'the manifest `bcr client deal --manifest` wrote: fetch every piece and write the original file')
    .requiredOption('--out <file>', 'where to write the bytes')
    .option('--offset <bytes>', 'first byte', '0')
    .option('--length <bytes>', 'how many bytes (default: to the end of the piece)')
    .option('--from <address>', 'the payer (needed when the miner asks a price)')
    .option('--channel <id>', "pay from this open channel to the miner's worker")
    .option('--deposit <bcr>', 'or open a new channel with this deposit (default: twice the price of the range and two chunks)')
    .option('--json', 'machine-readable output')
    .action(async (piece: string | undefined, opts: RetrieveOptions) => {
      const { chainId, network, genesis } = await callRpc<{ chainId: number; network: string; genesis: string }>(opts.rpc, 'bcr_nodeInfo');
      const protocols = retrievalProtocols(network, fromHex(genesis));
      const host = await createClientHost();
      try {
        if (opts.manifest) {
          if (piece || opts.miner) throw new UsageError('--manifest names the pieces and miners itself: give no piece and no --miner');
          return await retrieveManifest(host, protocols, chainId, opts);
        }
        if (!piece || !/^0x[0-9a-fA-F]{64}$/.test(piece)) throw new UsageError('the piece commitment is 32 bytes of 0x-hex (or use --manifest)');
        if (!opts.miner) throw new UsageError('--miner is required with a piece');
        const minerId = parseIntOption(opts.miner, '--miner');
        const offset = parseIntOption(opts.offset, '--offset');
        // The piece's size comes with the first answer; without --length ask for the rest of it.
        const length = opts.length ? parseIntOption(opts.length, '--length') : Number.MAX_SAFE_INTEGER - offset;
        const session = await minerSession(host, protocols, chainId, minerId, opts, opts.length ? length + 2 * RETRIEVAL_CHUNK_BYTES : null);
        const { bytes, pieceBytes, paid } = await fetchRange(host, protocols, session, piece, offset, length, Boolean(opts.length));
        await writeFile(opts.out, bytes);
        const result = { piece, miner: minerId, bytes: bytes.length, pieceBytes, paid: paid.toString(), channel: session.payment?.channel ?? null };
        if (opts.json) return printJson(result);
        console.log(`wrote ${result.bytes} bytes of piece ${piece.slice(0, 18)}… to ${opts.out}${paid > 0n ? `; paid ${formatBcr(paid)} BCR on channel ${session.payment!.channel}` : ' (free)'}`);
      } finally {
        await host.stop();
      }
    });
}

type Host = Awaited<ReturnType<typeof createClientHost>>;
type Protocols = ReturnType<typeof retrievalProtocols>;

/** Dials the miner for its ask; for a paid ask, the channel that pays it (given, or opened to cover `bytes`). */
async function minerSession(host: Host, protocols: Protocols, chainId: number, minerId: number, opts: RetrieveOptions, bytes: number | null): Promise<MinerSession> {
  const miner = await callRpc<{ peerId: string; multiaddrs: string[] }>(opts.rpc, 'bcr_getMiner', [minerId]);
  const addresses = dialAddresses(minerId, miner);
  const ask = await queryRetrievalAsk(host, addresses, protocols);
  if (ask.pricePerByte === 0n) return { minerId, addresses, ask };
  if (!opts.from) throw new UsageError(`miner ${minerId} asks ${formatBcr(ask.pricePerByte)} BCR per byte: pay with --from ADDRESS (and --channel ID or --deposit BCR)`);
  if (bytes === null) throw new UsageError('a paid retrieval needs --length (what the channel must cover)');
  const sender = await unlockSender(opts, opts.from);
  const payee = toChecksumAddress(ask.payee);
  let channel = opts.channel ? parseIntOption(opts.channel, '--channel') : 0;
  if (channel) {
    const c = await callRpc<ChannelJson | null>(opts.rpc, 'bcr_getPaymentChannel', [channel]);
    if (!c || c.to.toLowerCase() !== payee.toLowerCase() || c.state !== 'open') throw new UsageError(`channel ${channel} is not an open channel to the miner's worker ${payee}`);
    if (c.settleDelay < ask.minSettleDelay) throw new UsageError(`channel ${channel} settles after ${c.settleDelay} slots; miner ${minerId} serves only on channels of at least ${ask.minSettleDelay}`);
  } else {
    const deposit = opts.deposit ? parseBcr(opts.deposit) : 2n * ask.pricePerByte * BigInt(bytes);
    channel = await openChannel(opts.rpc, sender, payee, deposit, settleDelayFor(ask));
    log(`opened payment channel ${channel} to ${payee} with ${formatBcr(deposit)} BCR`);
  }
  return { minerId, addresses, ask, payment: await channelPayment(opts.rpc, sender, chainId, channel, opts.keystore) };
}

/** Bytes [offset, offset + length) of a piece (to its end when `exact` is false), every chunk verified. */
async function fetchRange(host: Host, protocols: Protocols, session: MinerSession, piece: string, offset: number, length: number, exact: boolean): Promise<{ bytes: Uint8Array; pieceBytes: number; paid: bigint }> {
  let shown = -1;
  const range = await retrieveRange(host, session.addresses, protocols, { pieceCommitment: fromHex(piece), offset, length: Math.max(1, length), pricePerByte: session.ask.pricePerByte, ...(session.payment ? { payment: session.payment } : {}) }, (done, of) => {
    const tenth = Math.floor((done * 10) / of);
    if (tenth !== shown) log(`retrieved ${done}/${of} chunks (${(shown = tenth) * 10}%), each verified`);
  }).catch((error: unknown) => {
    if (error instanceof RetrievalError && error.code === 'BAD_RANGE' && !exact) throw new UsageError('--offset is past the end of the piece');
    if (error instanceof RetrievalError) throw new UsageError(`miner ${session.minerId}: ${error.message}`);
    throw error;
  });
  const start = offset - range.firstChunk * range.chunkBytes;
  const end = Math.min(range.data.length, start + Math.min(length, range.pieceBytes - offset));
  return { bytes: range.data.subarray(start, end), pieceBytes: range.pieceBytes, paid: range.paid };
}

/** Every piece of a manifest from its miner, written at its offset: the original file, bit for bit. */
async function retrieveManifest(host: Host, protocols: Protocols, chainId: number, opts: RetrieveOptions): Promise<void> {
  const manifest = readManifest(opts.manifest!);
  const sessions = new Map<number, MinerSession>();
  const out = await open(opts.out, 'w');
  let paid = 0n;
  try {
    await out.truncate(manifest.bytes);
    for (const p of [...manifest.pieces].sort((a, b) => a.index - b.index)) {
      let session = sessions.get(p.miner);
      if (!session) {
        const owed = manifest.pieces.filter((q) => q.miner === p.miner).reduce((sum, q) => sum + q.length + 2 * RETRIEVAL_CHUNK_BYTES, 0);
        session = await minerSession(host, protocols, chainId, p.miner, opts, owed);
        sessions.set(p.miner, session);
      }
      log(`piece ${p.index + 1}/${manifest.pieces.length} (${p.length} B) from miner ${p.miner}`);
      const got = await fetchRange(host, protocols, session, p.pieceCommitment, 0, p.length, true);
      if (got.bytes.length !== p.length) throw new UsageError(`piece ${p.index + 1}: miner ${p.miner} returned ${got.bytes.length} bytes, the manifest says ${p.length}`);
      await out.write(got.bytes, 0, got.bytes.length, p.offset);
      paid += got.paid;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  const result = { file: manifest.file, out: opts.out, bytes: manifest.bytes, pieces: manifest.pieces.length, paid: paid.toString() };
  if (opts.json) return printJson(result);
  console.log(`wrote ${manifest.bytes} bytes (${manifest.pieces.length} piece(s), each verified) to ${opts.out}${paid > 0n ? `; paid ${formatBcr(paid)} BCR` : ' (free)'}`);
}

function readManifest(path: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read the manifest ${path}: ${errorMessage(error)}`);
  }
  const m = parsed as Partial<Manifest>;
  const ok = Number.isSafeInteger(m.bytes) && Array.isArray(m.pieces) && m.pieces.length > 0 && m.pieces.every((p) => Number.isSafeInteger(p.index) && Number.isSafeInteger(p.offset) && Number.isSafeInteger(p.length) && p.length > 0 && Number.isSafeInteger(p.miner) && /^0x[0-9a-fA-F]{64}$/.test(p.pieceCommitment) && p.offset + p.length <= m.bytes!);
  if (!ok) throw new UsageError(`${path} is not a deal manifest (bcr client deal --manifest writes one)`);
  return m as Manifest;
}
