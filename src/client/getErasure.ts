// Erasure-coded files: a manifest root id (`0x<manifest piece commitment>@<miners>`) names a file
// cut into K data + M parity shards on K+M miners. The manifest is fetched from the first miner
// that serves it and checked against its schema; every shard is fetched at once over libp2p
// retrieval (each chunk proven against its piece commitment as it arrives, a miner that sends a bad
// chunk dropped and penalised), the first K complete shards rebuild the file, and the file must hash
// to the manifest's sha256. Miners that ask a price are paid from a channel per miner when a payer
// is given.
import { createHash } from 'node:crypto';
import { RetrievalError, decodeShards, queryRetrievalAsk, retrieveRange, retrievalProtocols } from '../market/index.js';
import { fromHex, toChecksumAddress } from '../primitives/index.js';
import { dialAddresses, type ClientSession } from './deals.js';
import { ClientError } from './errors.js';
import { parseManifest } from './manifest.js';
import type { FileManifest } from './records.js';
import { ChannelFunder, channelPayment } from './paymentChannels.js';
import { silentProgress, type Progress } from './progress.js';
import { callRpc } from './rpc.js';

/** Bytes a channel opened (or topped up) to pay a miner for shards covers at its price. */
const CHANNEL_FUNDING_BYTES = 16 << 20;

/** Parses `0xCOMMITMENT@1,2,3`. */
export function parseRoot(root: string): { commitment: string; miners: number[] } {
  const match = /^(0x[0-9a-fA-F]{64})@(\d+(?:,\d+)*)$/.exec(root);
  if (!match) throw new ClientError('a root id looks like 0x<manifest piece commitment>@<miner>,<miner>,...');
  return { commitment: match[1]!.toLowerCase(), miners: match[2]!.split(',').map(Number) };
}

export interface ErasureFetchOptions {
  /** Pay miners that ask a price (the session's sender pays); without it such miners fail. */
  pay?: boolean;
  /** The payer's keystore directory (its voucher ledger lives beside it). */
  keystore: string;
  progress?: Progress;
  log?: (line: string) => void;
}

export interface ErasureFetchResult {
  manifest: FileManifest;
  /** The rebuilt file (for a manifest with a CID: the DAG's CAR). */
  file: Uint8Array;
  /** Atto paid per miner. */
  paid: Record<string, string>;
  /** Miners caught sending a chunk that does not prove. */
  penalised: number[];
}

/** Fetches and rebuilds the file a manifest root id names (see the header). */
export async function fetchErasureCoded(session: ClientSession, root: string, options: ErasureFetchOptions): Promise<ErasureFetchResult> {
  const { commitment, miners } = parseRoot(root);
  const log = options.log ?? (() => {});
  const progress = options.progress ?? silentProgress();
  const fetcher = new ShardFetcher(session, options.pay === true, options.keystore, log);
  let manifest: FileManifest | null = null;
  for (const miner of miners) {
    try {
      manifest = parseManifest(await fetcher.piece(miner, commitment, null));
      break;
    } catch (error) {
      log(`manifest from miner ${miner} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!manifest) throw new ClientError('no miner of the root served its manifest');
  const { dataShards: k, parityShards: m, shardBytes } = manifest.codec;
  log(`${manifest.name}: ${manifest.size} bytes in ${k}+${m} shards; fetching all ${k + m} at once, keeping the first ${k}`);
  const shards: (Uint8Array | null)[] = new Array(k + m).fill(null);
  let complete = 0;
  const fetches = manifest.shards.map(async (shard) => {
    const name = `shard ${shard.index + 1}/${k + m} (miner ${shard.miner})`;
    let got = 0;
    try {
      const parts: Uint8Array[] = [];
      for (const piece of shard.pieces) {
        parts.push((await fetcher.piece(shard.miner, piece.pieceCommitment, piece.length, (bytes) => progress.update(name, (got += bytes), shardBytes, (percent) => `${name}: ${percent}% of ${shardBytes} bytes, every chunk verified`))).subarray(0, piece.length));
      }
      const bytes = Buffer.concat(parts);
      if (bytes.length !== shardBytes) throw new Error(`shard is ${bytes.length} bytes, expected ${shardBytes}`);
      if (complete < k) {
        shards[shard.index] = new Uint8Array(bytes);
        complete++;
        progress.log(`shard ${shard.index + 1}/${k + m} from miner ${shard.miner}: complete (${complete}/${k})`);
      }
    } catch (error) {
      const bad = error instanceof RetrievalError && error.code === 'BAD_CHUNK';
      if (bad) fetcher.penalise(shard.miner);
      progress.log(`shard ${shard.index + 1}/${k + m} from miner ${shard.miner}: ${bad ? 'served a bad chunk, dropped and penalised' : 'failed'} (${error instanceof Error ? error.message : String(error)})`);
    }
  });
  // Every fetch runs to its end (a dead provider fails fast): what was served is paid for exactly.
  await Promise.all(fetches);
  if (complete < k) throw new ClientError(`only ${complete} of the ${k} shards needed arrived`);
  const file = await decodeShards(shards, k, m, shardBytes, manifest.size);
  if (`0x${createHash('sha256').update(file).digest('hex')}` !== manifest.sha256) throw new ClientError("the rebuilt file does not match the manifest's sha256");
  return { manifest, file, paid: fetcher.paidByMiner(), penalised: [...fetcher.penalised] };
}

/** Fetches whole pieces from miners, paying each from a payment channel opened for it on first use. */
export class ShardFetcher {
  readonly penalised = new Set<number>();
  private readonly channels = new Map<number, Promise<{ channel: number; price: bigint } | null>>();
  private readonly paid = new Map<number, bigint>();
  private readonly funder: ChannelFunder;

  constructor(
    private readonly session: ClientSession,
    private readonly canPay: boolean,
    /** The payer's keystore directory: its voucher ledger lives beside it. */
    private readonly keystore: string,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.funder = new ChannelFunder(session.rpc, session.sender);
  }

  penalise(miner: number): void {
    this.penalised.add(miner);
  }

  paidByMiner(): Record<string, string> {
    return Object.fromEntries([...this.paid.entries()].map(([miner, atto]) => [String(miner), atto.toString()]));
  }

  private async target(miner: number) {
    const info = await callRpc<{ peerId: string; multiaddrs: string[] }>(this.session.rpc, 'bcr_getMiner', [miner]);
    return dialAddresses(miner, info);
  }

  /** A whole piece (`length`: the bytes wanted from its start; null: all of it) from `miner`. */
  async piece(miner: number, commitment: string, length: number | null, onBytes?: (bytes: number) => void): Promise<Uint8Array> {
    if (this.penalised.has(miner)) throw new Error(`miner ${miner} was penalised`);
    const { chainId, host, rpc } = this.session;
    const { network, genesis } = await callRpc<{ network: string; genesis: string }>(rpc, 'bcr_nodeInfo');
    const protocols = retrievalProtocols(network, fromHex(genesis));
    const addresses = await this.target(miner);
    const ask = await queryRetrievalAsk(host, addresses, protocols);
    const want = length ?? 1 << 30;
    let payment: Awaited<ReturnType<typeof channelPayment>> | undefined;
    if (ask.pricePerByte > 0n) {
      if (!this.canPay) throw new ClientError(`miner ${miner} asks ${ask.pricePerByte} atto per byte: pass --from to pay`);
      if (!this.channels.has(miner)) {
        // Enough for this miner's shard twice over (its pieces and the manifest).
        const opened = this.funder.channelTo(toChecksumAddress(ask.payee), ask.minSettleDelay, ask.pricePerByte * BigInt(CHANNEL_FUNDING_BYTES)).then(({ channel, opened: isNew }) => {
          if (isNew) this.log(`opened payment channel ${channel} to miner ${miner}`);
          return { channel, price: ask.pricePerByte };
        });
        this.channels.set(miner, opened);
      }
      const opened = (await this.channels.get(miner))!;
      if (!opened) throw new ClientError(`no payment channel to miner ${miner}`);
      payment = await channelPayment(rpc, this.session.sender, chainId, opened.channel, this.keystore);
    }
    // Counted chunk by chunk: a retrieval cut short (a bad chunk) paid for the chunks before it.
    const fetch = () =>
      retrieveRange(host, addresses, protocols, { pieceCommitment: fromHex(commitment), offset: 0, length: Math.max(1, want), pricePerByte: ask.pricePerByte, ...(payment ? { payment } : {}) }, (_done, _of, bytes) => {
        if (payment) this.paid.set(miner, (this.paid.get(miner) ?? 0n) + ask.pricePerByte * BigInt(bytes));
        onBytes?.(bytes);
      });
    try {
      return (await fetch()).data;
    } catch (error) {
      if (!(payment && error instanceof RetrievalError && error.code === 'CHANNEL_FUNDS_LOW')) throw error;
      // The channel ran low: top it up and ask again.
      await this.funder.topUp(payment.channel, ask.pricePerByte * BigInt(CHANNEL_FUNDING_BYTES));
      this.log(`added funds to payment channel ${payment.channel} (miner ${miner})`);
      return (await fetch()).data;
    }
  }
}
