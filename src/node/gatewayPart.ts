// The gateway part: the IPFS trustless gateway over the blocks the local miner stores (its block
// index), on its own port, so that every IPFS client can fetch them by CID. Its address is announced
// on chain beside the miner's libp2p addresses (an HTTP multiaddr), so that clients find it. At the
// miner's retrieval price it is paid with vouchers on the retrieval ledger (docs/protocol.md §15.5).
import { join } from 'node:path';
import type { CID } from '../content/index.js';
import { DEFAULT_GATEWAY_LIMITS, HttpError, TrustlessGateway, type GatewayPayments } from '../gateway/trustlessGateway.js';
import { PaymentRefused, RetrievalRefusal, VOUCHER_HEADER, type GatewayPaymentGate, type GatewayTerms } from '../market/index.js';
import { toChecksumAddress } from '../primitives/index.js';
import type { Metrics } from '../metrics/index.js';
import type { LocalMiner } from '../miner/setup.js';
import type { Closers } from '../util/closers.js';
import { blockBuffers } from '../util/bufferPool.js';
import { multiaddrOfHttpUrl } from '../util/httpMultiaddr.js';
import { GatewayFiles } from './gatewayFiles.js';
import type { Logger } from '../util/logger.js';

export interface GatewayOptions {
  host: string;
  port: number;
  /** Cap on what the gateway sends, all answers together (null: none). */
  uploadBytesPerSecond?: number | null;
  /** The public URL to announce (default: the address it listens on). */
  announce?: string;
}

/**
 * Starts the gateway; `local` and `payments` are read per request (the miner and market start later).
 * Besides the miner's blocks it serves the erasure-coded files added to `files` (rebuilt from shards).
 */
export async function startGatewayPart(options: GatewayOptions, dataDir: string, local: () => LocalMiner | null, payments: () => GatewayPaymentGate | null, metrics: Metrics | null, log: Logger, closers: Closers): Promise<{ url: string; multiaddr: string; files: GatewayFiles }> {
  const gatewayLog = log.child({ component: 'gateway' });
  const limits = { ...DEFAULT_GATEWAY_LIMITS, uploadBytesPerSecond: options.uploadBytesPerSecond ?? null };
  const files = await GatewayFiles.open(join(dataDir, 'gateway'), gatewayLog);
  closers.add('gateway files', () => files.close());
  const blocks = { get: async (cid: CID) => (await local()?.current?.blocks?.get(cid)) ?? (await files.get(cid)), release: (bytes: Uint8Array) => blockBuffers.give(bytes) };
  const gateway = new TrustlessGateway(blocks, gatewayLog, { limits, metrics, payments: paidAccess(payments) });
  const url = await gateway.listen(options.host, options.port);
  closers.add('gateway', () => gateway.close());
  const announced = options.announce ?? url;
  gatewayLog.info({ url, announced, uploadBytesPerSecond: limits.uploadBytesPerSecond }, 'IPFS gateway listening');
  return { url, multiaddr: multiaddrOfHttpUrl(announced), files };
}

/** The retrieval ledger's gate as the gateway's payments: a refusal is a 402 naming the terms. */
export function paidAccess(gate: () => GatewayPaymentGate | null): GatewayPayments {
  return {
    header: VOUCHER_HEADER,
    async admit(payment) {
      const current = gate();
      if (!current) return null;
      const meter = await as402(current, () => current.admit(payment));
      return meter && { charge: (bytes) => as402(current, () => meter.charge(bytes)) };
    },
  };
}

/** The headers a paid gateway's 402 carries: what a client needs to open a channel and pay. */
export function termsHeaders(terms: GatewayTerms): Record<string, string> {
  return {
    'x-bcr-price-per-byte': terms.pricePerByte.toString(),
    'x-bcr-payee': toChecksumAddress(terms.payee),
    'x-bcr-min-settle-delay': String(terms.minSettleDelay),
    'x-bcr-payment-interval': String(terms.intervalBytes),
  };
}

async function as402<T>(gate: GatewayPaymentGate, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof PaymentRefused)) throw error;
    const terms = gate.terms();
    throw new HttpError(402, error.message, { 'x-bcr-refusal': error.code, ...(terms ? termsHeaders(terms) : {}), ...(error.code === RetrievalRefusal.paymentOverdue ? { 'retry-after': '1' } : {}) });
  }
}
