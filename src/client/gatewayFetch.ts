// Blocks from many IPFS trustless gateways at once (the miners that hold a DAG), each checked
// against its CID as it arrives. Requests go to the provider with the fewest in flight, so a DAG's
// blocks spread over every provider and a slow one simply serves fewer. A provider that sends a
// block that does not hash to its CID is dropped for the rest of the fetch and the block is asked
// of another; one that lacks a block is not asked for it again.
//
// A gateway that asks a price (402 with its terms) is paid through a GatewayPayer: each request
// carries a fresh voucher paying for the bytes verified from that gateway before it, never for a
// figure the gateway names, and requests in flight to it stay within its payment interval.
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyBlock, type BlockSource, type CID } from '../content/index.js';
import { errorMessage } from '../primitives/errors.js';
import { VOUCHER_HEADER } from '../market/gatewayPayments.js';
import { ClientError } from './errors.js';

export interface GatewayProvider {
  /** How the provider is named to a person ("miner 3"). */
  name: string;
  /** Its gateway's base URL (ending in /). */
  url: string;
}

export type FetchEvent =
  | { type: 'block'; provider: string; cid: string; bytes: number }
  | { type: 'dropped'; provider: string; reason: string }
  | { type: 'missing'; provider: string; cid: string }
  | { type: 'paying'; provider: string; pricePerByte: bigint; payee: string };

/** What a paid gateway asks (the headers of its 402). */
export interface GatewayTerms {
  pricePerByte: bigint;
  payee: string;
  minSettleDelay: number;
  intervalBytes: number;
}

/** Pays gateways that ask a price, from the payer's own ledger. */
export interface GatewayPayer {
  /** Why the terms are refused, or null once they are taken (a channel to the payee is ready). */
  accept(provider: GatewayProvider, terms: GatewayTerms): Promise<string | null>;
  /** The payment header of one request: a fresh voucher paying `add` atto more than before. */
  voucher(provider: GatewayProvider, add: bigint): Promise<string>;
  /** The provider says the channel runs low: add to its deposit. */
  topUp(provider: GatewayProvider): Promise<void>;
}

export interface GatewaySourceOptions {
  onEvent?: (event: FetchEvent) => void;
  fetchImpl?: typeof fetch;
  /** Pays gateways that ask a price (without one, such a gateway is dropped). */
  payer?: GatewayPayer | null;
}

interface ProviderState extends GatewayProvider {
  inFlight: number;
  blocks: number;
  bytes: number;
  dropped: string | null;
  /** Dropped for sending a block that does not match its CID (not merely for failing). */
  lied: boolean;
  /** Failed requests in a row (not lies), and since when (ms): a provider that keeps failing is dropped. */
  failures: number;
  failingSince: number;
  /** Asked to slow down (429): not asked again before this time (ms). */
  coolUntil: number;
  /** A paid gateway's terms (null: free so far). */
  terms: GatewayTerms | null;
  /** Atto of verified bytes not yet paid by a voucher sent, and paid so far. */
  owed: bigint;
  paid: bigint;
  /** Largest block it sent: a paid gateway gets at most its payment interval of such blocks in flight. */
  largestBlock: number;
}

/** A paid gateway's 402. */
class PaymentAsked extends Error {
  constructor(
    readonly code: string,
    readonly terms: GatewayTerms | null,
    message: string,
  ) {
    super(`402 ${code}: ${message}`);
  }
}

/** A provider's 429: over its request rate, to be asked again after `retryAfterMs`. */
class SlowDown extends Error {
  constructor(readonly retryAfterMs: number) {
    super('over the rate (429)');
  }
}

/**
 * A provider is dropped after this many failed requests in a row spanning at least FAILING_MS (a
 * burst of failures at once, such as kept-alive connections the server closed, is not a dead provider).
 */
const MAX_FAILURES = 3;
const FAILING_MS = 3000;
/** A block not arrived after this long is asked of another provider. */
const BLOCK_TIMEOUT_MS = 60_000;
/** Larger than every block a gateway may send (IPFS moves at most 4 MiB at once). */
const MAX_BLOCK_BYTES = 4 << 20;
/** The block size assumed before a gateway sent one (the DAG profile's chunk). */
const TYPICAL_BLOCK_BYTES = 256 * 1024;
/** A paid gateway waiting for vouchers in flight is asked again after this long. */
const OVERDUE_WAIT_MS = 100;

export class GatewayBlockSource implements BlockSource {
  private readonly providers: ProviderState[];
  private readonly lacking = new Map<string, Set<string>>();
  private readonly onEvent: (event: FetchEvent) => void;
  private readonly fetchImpl: typeof fetch;
  private readonly payer: GatewayPayer | null;
  /** Waiting for a paid gateway's request to finish (all were at their cap). */
  private readonly slotWaiters = new Set<() => void>();

  constructor(providers: GatewayProvider[], options: GatewaySourceOptions = {}) {
    if (providers.length === 0) throw new ClientError('no provider to fetch from');
    this.onEvent = options.onEvent ?? (() => {});
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.payer = options.payer ?? null;
    this.providers = providers.map((p) => ({ ...p, inFlight: 0, blocks: 0, bytes: 0, dropped: null, lied: false, failures: 0, failingSince: 0, coolUntil: 0, terms: null, owed: 0n, paid: 0n, largestBlock: TYPICAL_BLOCK_BYTES }));
  }

  /** What each provider served, what it was paid (atto), and why one was dropped. */
  report(): { name: string; url: string; blocks: number; bytes: number; paid: bigint; dropped: string | null; lied: boolean }[] {
    return this.providers.map(({ name, url, blocks, bytes, paid, dropped, lied }) => ({ name, url, blocks, bytes, paid, dropped, lied }));
  }

  /**
   * Pays every paid gateway for the verified blocks its last voucher did not cover, with one more
   * voucher each (carried by a free HEAD of `cid`, a block it holds). Call when the fetch is done.
   */
  async settle(cid: CID): Promise<void> {
    await Promise.all(
      this.providers
        .filter((p) => p.terms !== null && p.owed > 0n)
        .map(async (provider) => {
          try {
            const header = await this.pay(provider);
            const response = await this.fetchImpl(`${provider.url}ipfs/${cid}?format=raw`, { method: 'HEAD', headers: { accept: 'application/vnd.ipld.raw', [VOUCHER_HEADER]: header }, signal: AbortSignal.timeout(10_000) });
            await response.body?.cancel();
          } catch {
            // The voucher is in the payer's ledger: the next one to this gateway pays it as well.
          }
        }),
    );
  }

  /** The payment header of a request to a paid gateway: a voucher for what it served and was not yet paid. */
  private async pay(provider: ProviderState): Promise<string> {
    const add = provider.owed;
    provider.owed = 0n;
    try {
      const header = await this.payer!.voucher(provider, add);
      provider.paid += add;
      return header;
    } catch (error) {
      provider.owed += add;
      throw error;
    }
  }

  /** How many requests a provider may have in flight: a paid one's interval of its largest blocks. */
  private cap(provider: ProviderState): number {
    return provider.terms ? Math.max(1, Math.floor(provider.terms.intervalBytes / provider.largestBlock)) : Infinity;
  }

  private freeSlot(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.add(resolve));
  }

  async get(cid: CID, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const key = cid.toString();
    const reasons: string[] = [];
    for (;;) {
      options.signal?.throwIfAborted();
      const lacking = this.lacking.get(key);
      const candidates = this.providers.filter((p) => p.dropped === null && !lacking?.has(p.name));
      if (candidates.length === 0) throw new ClientError(`no provider could serve block ${key}${reasons.length ? ` (${reasons.join('; ')})` : ''}`);
      // One asked to slow down waits its turn; when all were, the earliest is waited for.
      const now = Date.now();
      const cooled = candidates.filter((p) => p.coolUntil <= now);
      const ready = cooled.filter((p) => p.inFlight < this.cap(p));
      if (ready.length === 0) {
        // Paid gateways at their cap: the first request to finish frees a place.
        if (cooled.length > 0) await this.freeSlot();
        else await sleep(Math.min(...candidates.map((p) => p.coolUntil)) - now, undefined, options.signal ? { signal: options.signal } : {});
        continue;
      }
      const provider = ready.reduce((best, p) => (p.inFlight < best.inFlight ? p : best));
      provider.inFlight++;
      try {
        const payment = provider.terms ? await this.pay(provider) : null;
        const bytes = await this.request(provider, key, payment, options.signal);
        if (bytes === null) {
          this.markLacking(key, provider.name);
          reasons.push(`${provider.name} lacks it`);
          this.onEvent({ type: 'missing', provider: provider.name, cid: key });
          continue;
        }
        try {
          await verifyBlock(cid, bytes);
        } catch (error) {
          this.drop(provider, `sent a block that does not match ${key}: ${errorMessage(error)}`, true);
          reasons.push(`${provider.name} lied`);
          continue;
        }
        provider.failures = 0;
        provider.blocks++;
        provider.bytes += bytes.length;
        if (provider.terms) provider.owed += provider.terms.pricePerByte * BigInt(bytes.length);
        if (bytes.length > provider.largestBlock) provider.largestBlock = bytes.length;
        this.onEvent({ type: 'block', provider: provider.name, cid: key, bytes: bytes.length });
        return bytes;
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (error instanceof ClientError) throw error;
        if (error instanceof SlowDown) {
          provider.coolUntil = Math.max(provider.coolUntil, Date.now() + error.retryAfterMs);
          continue;
        }
        if (error instanceof PaymentAsked && (await this.paymentAsked(provider, error))) continue;
        const why = failureReason(error);
        reasons.push(`${provider.name}: ${why}`);
        if (provider.failures++ === 0) provider.failingSince = Date.now();
        if (provider.failures >= MAX_FAILURES && Date.now() - provider.failingSince >= FAILING_MS) this.drop(provider, `failed ${provider.failures} requests in a row over ${FAILING_MS / 1000} s (last: ${why})`);
      } finally {
        provider.inFlight--;
        const waiting = [...this.slotWaiters];
        this.slotWaiters.clear();
        for (const wake of waiting) wake();
      }
    }
  }

  /** Acts on a 402: true when the request is simply to be made again (after paying, or a short wait). */
  private async paymentAsked(provider: ProviderState, asked: PaymentAsked): Promise<boolean> {
    if (asked.code === 'PAYMENT_OVERDUE') {
      provider.coolUntil = Math.max(provider.coolUntil, Date.now() + OVERDUE_WAIT_MS);
      return true;
    }
    if (asked.code === 'CHANNEL_FUNDS_LOW' && provider.terms && this.payer) {
      await this.payer.topUp(provider);
      return true;
    }
    if (asked.code !== 'PAYMENT_REQUIRED' || provider.terms) return false;
    if (!asked.terms) {
      this.drop(provider, `asks to be paid but names no terms (${asked.message})`);
      return true;
    }
    if (!this.payer) {
      this.drop(provider, `asks ${asked.terms.pricePerByte} atto per byte: give a payer (--from) to pay it`);
      return true;
    }
    const refused = await this.payer.accept(provider, asked.terms).catch((error: unknown) => `paying it failed: ${errorMessage(error)}`);
    if (refused) {
      this.drop(provider, refused);
      return true;
    }
    provider.terms = asked.terms;
    this.onEvent({ type: 'paying', provider: provider.name, pricePerByte: asked.terms.pricePerByte, payee: asked.terms.payee });
    return true;
  }

  private markLacking(key: string, provider: string): void {
    const set = this.lacking.get(key) ?? new Set<string>();
    set.add(provider);
    this.lacking.set(key, set);
  }

  private drop(provider: ProviderState, reason: string, lied = false): void {
    if (provider.dropped !== null) return;
    provider.dropped = reason;
    provider.lied = lied;
    this.onEvent({ type: 'dropped', provider: provider.name, reason });
  }

  /** One raw block from one provider: its bytes, or null when the provider says it has none. */
  private async request(provider: ProviderState, key: string, payment: string | null, signal?: AbortSignal): Promise<Uint8Array | null> {
    // The caller's signal or the block's own timeout, whichever comes first (the listener is removed after).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer in ${BLOCK_TIMEOUT_MS / 1000} s`)), BLOCK_TIMEOUT_MS);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const headers: Record<string, string> = { accept: 'application/vnd.ipld.raw' };
      if (payment !== null) headers[VOUCHER_HEADER] = payment;
      return await this.answer(await this.fetchImpl(`${provider.url}ipfs/${key}?format=raw`, { headers, signal: controller.signal }));
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A raw-block answer: its bytes, null for 404, or the error it amounts to. */
  private async answer(response: Response): Promise<Uint8Array | null> {
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (response.status === 429) {
      await response.body?.cancel();
      const seconds = Number(response.headers.get('retry-after') ?? '1');
      throw new SlowDown(Math.min(30, Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000);
    }
    if (response.status === 402) {
      const message = new TextDecoder().decode(await readCapped(response, 1024).catch(() => new Uint8Array(0))).trim();
      throw new PaymentAsked((response.headers.get('x-bcr-refusal') ?? 'PAYMENT_REQUIRED').slice(0, 32), termsOf(response.headers), message);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    const length = response.headers.get('content-length');
    const declared = length === null ? null : Number(length);
    if (declared !== null && !(declared <= MAX_BLOCK_BYTES)) {
      await response.body?.cancel();
      throw new Error(`a block of ${length} bytes is over the largest block size`);
    }
    // A declared length bounds the body (fetch refuses one that runs past it): read it whole, which
    // is much faster than draining the stream; without one, read it capped.
    if (declared !== null) return new Uint8Array(await response.arrayBuffer());
    return readCapped(response, MAX_BLOCK_BYTES);
  }
}

/** A 402's terms, or null when a header is missing or malformed (a hostile gateway may send anything). */
export function termsOf(headers: Headers): GatewayTerms | null {
  const price = headers.get('x-bcr-price-per-byte');
  const payee = headers.get('x-bcr-payee');
  const settle = headers.get('x-bcr-min-settle-delay');
  const interval = headers.get('x-bcr-payment-interval');
  if (!price || !payee || !settle || !interval) return null;
  if (!/^\d{1,40}$/.test(price) || !/^0x[0-9a-fA-F]{40}$/.test(payee) || !/^\d{1,9}$/.test(settle) || !/^\d{1,12}$/.test(interval)) return null;
  return { pricePerByte: BigInt(price), payee, minSettleDelay: Number(settle), intervalBytes: Number(interval) };
}

/** fetch's own message ("fetch failed") hides the reason in its cause. */
function failureReason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${errorMessage(error)}${cause}`;
}

/** A response body, refused past `limit` bytes (a hostile provider may send without end). */
async function readCapped(response: Response, limit: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += part.length;
    if (total > limit) throw new Error(`the answer is over the largest block size (${limit} bytes)`);
    parts.push(part);
  }
  return parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts));
}

/**
 * Which of `candidates` hold `cid`: each is asked (HEAD) at once, and those that answer 200 in time
 * are the providers. A gateway that does not answer is left out.
 */
export async function probeProviders<P extends GatewayProvider>(candidates: P[], cid: CID, options: { timeoutMs?: number; fetchImpl?: typeof fetch } = {}): Promise<P[]> {
  const doFetch = options.fetchImpl ?? fetch;
  const holds = await Promise.all(
    candidates.map(async (candidate) => {
      try {
        const response = await doFetch(`${candidate.url}ipfs/${cid}?format=raw`, { method: 'HEAD', headers: { accept: 'application/vnd.ipld.raw' }, signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
        return response.status === 200;
      } catch {
        return false;
      }
    }),
  );
  return candidates.filter((_, i) => holds[i]);
}
