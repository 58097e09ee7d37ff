// `get CID`: a file or directory fetched by its root CID from every miner gateway that holds it, at
// once, every block checked against its CID as it arrives, written bit for bit. The miners are found
// on chain (each announces its gateway as an HTTP multiaddr) and asked whether they hold the root;
// a miner caught sending a wrong block is dropped (and remembered) while the others finish the file.
import { exportTo, parseCid } from '../content/index.js';
import { errorMessage } from '../primitives/errors.js';
import { httpUrlOfMultiaddr } from '../util/httpMultiaddr.js';
import { ClientError } from './errors.js';
import { GatewayBlockSource, probeProviders, type FetchEvent, type GatewayProvider } from './gatewayFetch.js';
import { ChannelPayer } from './gatewayPayer.js';
import { callRpc } from './rpc.js';
import type { Sender } from './txs.js';

export interface MinerGateway extends GatewayProvider {
  miner: number;
  /** The address the miner is paid at (its worker): a paid gateway must name it. */
  worker: string;
}

/** The gateways `miners` (default: every miner on chain) announce. */
export async function minerGateways(rpc: string, miners?: number[]): Promise<MinerGateway[]> {
  const ids = miners ?? (await callRpc<{ miners: { miner: number }[] }>(rpc, 'bcr_getPowerTable')).miners.map((m) => m.miner);
  const found = await Promise.all(
    ids.map(async (miner): Promise<MinerGateway | null> => {
      const record = await callRpc<{ multiaddrs: string[]; worker: string } | null>(rpc, 'bcr_getMiner', [miner]);
      const url = record?.multiaddrs.map(httpUrlOfMultiaddr).find((u): u is string => u !== null);
      return record && url ? { miner, name: `miner ${miner}`, url, worker: record.worker } : null;
    }),
  );
  return found.filter((g): g is MinerGateway => g !== null);
}

export interface GetContentOptions {
  /** Ask only these miners (default: every miner with a gateway). */
  miners?: number[];
  /** Blocks in flight at once, over all providers. */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (event: FetchEvent) => void;
  /**
   * Pays miners whose gateway asks a price: the account, the most it pays per byte, and where its
   * keystore is (the voucher ledger lives beside it). Without it such miners are left out.
   */
  payer?: { sender: Sender; maxPricePerByte: bigint; keystore?: string; log?: (line: string) => void };
}

export interface GetContentResult {
  cid: string;
  bytes: bigint;
  files: number;
  directory: boolean;
  /** Per miner: blocks and bytes it served, atto paid for them, why it was dropped. */
  providers: { miner: number; blocks: number; bytes: number; paid: bigint; dropped: string | null }[];
  /** Miners that sent a block that did not match its CID. */
  liars: number[];
}

export async function getContent(rpc: string, cidText: string, out: string, options: GetContentOptions = {}): Promise<GetContentResult> {
  let cid;
  try {
    cid = parseCid(cidText);
  } catch (error) {
    throw new ClientError(`not a CID BCR serves: ${errorMessage(error)}`);
  }
  const gateways = await minerGateways(rpc, options.miners);
  if (gateways.length === 0) throw new ClientError(`no miner${options.miners ? ` of ${options.miners.join(', ')}` : ''} announces a gateway (bcr node --gateway-port)`);
  const holders = await probeProviders(gateways, cid);
  if (holders.length === 0) throw new ClientError(`none of the ${gateways.length} miner gateway(s) asked holds ${cid} (${gateways.map((g) => g.name).join(', ')})`);
  const workers = new Map(holders.map((h) => [h.url, h.worker]));
  const payer = options.payer ? new ChannelPayer({ rpc, ...options.payer, payeeOf: async (provider) => workers.get(provider.url) ?? null }) : null;
  const source = new GatewayBlockSource(holders, { ...(options.onEvent ? { onEvent: options.onEvent } : {}), payer });
  let written;
  try {
    written = await exportTo(cid, source, out, { concurrency: options.concurrency ?? 32, ...(options.signal ? { signal: options.signal } : {}) });
  } finally {
    // What was verified is paid, whether the fetch finished or not.
    await source.settle(cid);
  }
  const byName = new Map(holders.map((h) => [h.name, h.miner]));
  const report = source.report();
  const providers = report.map((p) => ({ miner: byName.get(p.name)!, blocks: p.blocks, bytes: p.bytes, paid: p.paid, dropped: p.dropped }));
  return { cid: cid.toString(), ...written, providers, liars: report.filter((p) => p.lied).map((p) => byName.get(p.name)!) };
}
