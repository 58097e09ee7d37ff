// Blocks from many IPFS trustless gateways at once (the miners that hold a DAG), each checked
// against its CID as it arrives. Requests go to the provider with the fewest in flight, so a DAG's
// blocks spread over every provider and a slow one simply serves fewer. A provider that sends a
// block that does not hash to its CID is dropped for the rest of the fetch and the block is asked
// of another; one that lacks a block is not asked for it again.
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyBlock, type BlockSource, type CID } from '../content/index.js';
import { errorMessage } from '../primitives/errors.js';
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
  | { type: 'missing'; provider: string; cid: string };

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

export class GatewayBlockSource implements BlockSource {
  private readonly providers: ProviderState[];
  private readonly lacking = new Map<string, Set<string>>();

  constructor(
    providers: GatewayProvider[],
    private readonly onEvent: (event: FetchEvent) => void = () => {},
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    if (providers.length === 0) throw new ClientError('no provider to fetch from');
    this.providers = providers.map((p) => ({ ...p, inFlight: 0, blocks: 0, bytes: 0, dropped: null, lied: false, failures: 0, failingSince: 0, coolUntil: 0 }));
  }

  /** What each provider served, and why one was dropped. */
  report(): { name: string; url: string; blocks: number; bytes: number; dropped: string | null; lied: boolean }[] {
    return this.providers.map(({ name, url, blocks, bytes, dropped, lied }) => ({ name, url, blocks, bytes, dropped, lied }));
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
      const ready = candidates.filter((p) => p.coolUntil <= now);
      if (ready.length === 0) {
        await sleep(Math.min(...candidates.map((p) => p.coolUntil)) - now, undefined, options.signal ? { signal: options.signal } : {});
        continue;
      }
      const provider = ready.reduce((best, p) => (p.inFlight < best.inFlight ? p : best));
      provider.inFlight++;
      try {
        const bytes = await this.request(provider, key, options.signal);
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
        this.onEvent({ type: 'block', provider: provider.name, cid: key, bytes: bytes.length });
        return bytes;
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (error instanceof ClientError) throw error;
        if (error instanceof SlowDown) {
          provider.coolUntil = Math.max(provider.coolUntil, Date.now() + error.retryAfterMs);
          continue;
        }
        const why = failureReason(error);
        reasons.push(`${provider.name}: ${why}`);
        if (provider.failures++ === 0) provider.failingSince = Date.now();
        if (provider.failures >= MAX_FAILURES && Date.now() - provider.failingSince >= FAILING_MS) this.drop(provider, `failed ${provider.failures} requests in a row over ${FAILING_MS / 1000} s (last: ${why})`);
      } finally {
        provider.inFlight--;
      }
    }
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
  private async request(provider: ProviderState, key: string, signal?: AbortSignal): Promise<Uint8Array | null> {
    // The caller's signal or the block's own timeout, whichever comes first (the listener is removed after).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer in ${BLOCK_TIMEOUT_MS / 1000} s`)), BLOCK_TIMEOUT_MS);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.answer(await this.fetchImpl(`${provider.url}ipfs/${key}?format=raw`, { headers: { accept: 'application/vnd.ipld.raw' }, signal: controller.signal }));
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
