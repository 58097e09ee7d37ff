// Paid retrieval against a real RetrievalProvider on real libp2p streams (127.0.0.1) and a real chain
// holding the payment channels, with hostile counterparties on both sides:
// - a client that never pays gets at most one payment interval of a priced piece, over any number of
//   requests, connections and peers, and across a provider restart;
// - two parallel streams on one channel are owed per channel: one cumulative voucher does not pay both;
// - a channel whose settle delay is too short to redeem on is refused;
// - a lying provider (announcing chunks the client did not ask for, or sending a bad chunk) gets
//   vouchers for nothing beyond the verified bytes it served: the client signs from its own ledger.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Libp2p } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainStore } from '../../src/chain/index.js';
import {
  MemoryVoucherLedger,
  RETRIEVAL_CHUNK_BYTES,
  RetrievalError,
  RetrievalFrame,
  RetrievalProvider,
  encodeChunkFrame,
  retrievalErrorCodec,
  retrievalProtocols,
  retrievalRequestCodec,
  retrievalStartCodec,
  retrieveRange,
  signedVoucherCodec,
} from '../../src/market/index.js';
import { createClientHost } from '../../src/p2p/clientHost.js';
import { addressOf, concatBytes, decode, encode, sha256, toHex } from '../../src/primitives/index.js';
import { chunkProof, chunkTree, merkleRoot } from '../../src/proofs/index.js';
import { getPaymentChannel, paychChannelPayload, paychOpenKind, paychOpenPayload, paychSettleKind, recoverVoucherSigner, transferKind, transferPayload, type Voucher } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { DEV_KEY, addBlock, kindTx, openChain, tempDir } from '../helpers/chain.js';

const PRICE = 3n;
const CHUNK_VALUE = PRICE * BigInt(RETRIEVAL_CHUNK_BYTES);
const PIECE_BYTES = 4 * RETRIEVAL_CHUNK_BYTES;
const PIECE_OFFSET = 4 * RETRIEVAL_CHUNK_BYTES;
const payee = addressOf(sha256(new Uint8Array([0x51])));
const honestKey = sha256(new Uint8Array([0x52]));
const freeloaderKey = sha256(new Uint8Array([0x53]));

const dir = tempDir('bcr-retrieval-payments-');
let chain: ChainStore;
let closeDb: () => Promise<void>;
let providerHost: Libp2p;
let provider: RetrievalProvider;
const hosts: Libp2p[] = [];
const piece = new Uint8Array(randomBytes(PIECE_BYTES));
const commitment = merkleRoot(piece);
const protocols = retrievalProtocols('test', new Uint8Array(32));
const channels = { honest: 1, freeloader: 2, shortSettle: 3 };
const redeemed: Voucher[] = [];

function startProvider(): RetrievalProvider {
  return new RetrievalProvider({
    libp2p: providerHost,
    protocols,
    chain,
    miner: () => ({
      // The piece sits inside a larger file, as in a sector's unsealed data (the tree is streamed from there).
      find: (key) => (key === toHex(commitment) ? [{ pieceCommitment: toHex(commitment), pieceBytes: PIECE_BYTES, offset: PIECE_OFFSET, unsealedPath: join(dir.path, 'sector.unsealed') }] : []),
      payee,
      redeem: async (voucher) => void redeemed.push(voucher),
    }),
    currentSlot: () => chain.head.header.slot,
    nowMs: () => Date.now(),
    dir: join(dir.path, 'provider'),
    log: silentLogger,
    // One chunk of credit: the tightest interval, so every bound below is exact.
    terms: { intervalBytes: RETRIEVAL_CHUNK_BYTES, minSettleDelay: 50 },
  });
}

async function client(): Promise<Libp2p> {
  const host = await createClientHost();
  hosts.push(host);
  return host;
}

beforeAll(async () => {
  writeFileSync(join(dir.path, 'sector.unsealed'), concatBytes(new Uint8Array(randomBytes(PIECE_OFFSET)), piece, new Uint8Array(randomBytes(4096))));
  const opened = await openChain(join(dir.path, 'chain'));
  chain = opened.chain;
  closeDb = () => opened.db.close();
  const fund = (to: Uint8Array, nonce: number) => kindTx(DEV_KEY, nonce, transferKind, transferPayload, { to, value: 10n ** 18n });
  await addBlock(chain, [fund(addressOf(honestKey), 0), fund(addressOf(freeloaderKey), 1)]);
  const open = (key: Uint8Array, nonce: number, settleDelay: number) => kindTx(key, nonce, paychOpenKind, paychOpenPayload, { to: payee, deposit: 10n ** 16n, settleDelay });
  await addBlock(chain, [open(honestKey, 0, 100), open(freeloaderKey, 0, 100), open(honestKey, 1, 5)]);
  expect((await getPaymentChannel(chain.headState(), channels.shortSettle))!.settleDelay).toBe(5);
  providerHost = await createClientHost(['/ip4/127.0.0.1/tcp/0']);
  provider = startProvider();
  await provider.setPrice(PRICE);
  await provider.start();
}, 60_000);

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await provider?.stop();
  await providerHost?.stop();
  await closeDb?.();
  dir.cleanup();
});

/** A client that asks for the whole piece and never sends a voucher: what does it get? */
async function freeload(host: Libp2p): Promise<{ chunks: number; refusal: string | null }> {
  const stream = await host.dialProtocol(providerHost.getMultiaddrs(), protocols.retrieve);
  const lp = lpStream(stream, { maxDataLength: RETRIEVAL_CHUNK_BYTES + 4096 });
  await lp.write(concatBytes(new Uint8Array([RetrievalFrame.start]), encode(retrievalRequestCodec, { pieceCommitment: commitment, offset: 0, length: PIECE_BYTES, channel: channels.freeloader, pricePerByte: PRICE })));
  let chunks = 0;
  try {
    for (;;) {
      // The provider waits for a voucher that never comes: a quiet second means it stopped serving.
      const raw = (await lp.read({ signal: AbortSignal.timeout(1500) })).subarray();
      if (raw[0] === RetrievalFrame.error) return { chunks, refusal: decode(retrievalErrorCodec, raw.subarray(1), 'error').code };
      if (raw[0] === RetrievalFrame.chunk) chunks++;
    }
  } catch {
    return { chunks, refusal: null };
  } finally {
    stream.abort(new Error('done'));
  }
}

describe('paid retrieval', () => {
  it('serves a client that never pays at most one payment interval, over requests, connections, peers and a restart', async () => {
    let chunks = 0;
    const refusals: (string | null)[] = [];
    for (let connection = 0; connection < 3; connection++) {
      const host = await client();
      for (let request = 0; request < 2; request++) {
        const got = await freeload(host);
        chunks += got.chunks;
        refusals.push(got.refusal);
      }
    }
    expect(chunks).toBe(1);
    expect(refusals.slice(1).every((r) => r === 'PAYMENT_OVERDUE')).toBe(true);
    // The debt is on disk: a restarted provider still refuses.
    await provider.stop();
    provider = startProvider();
    await provider.start();
    const after = await freeload(await client());
    expect(after).toEqual({ chunks: 0, refusal: 'PAYMENT_OVERDUE' });
    expect(provider.bestVouchers().find((v) => v.channel === channels.freeloader)!.served).toBe(CHUNK_VALUE);
  }, 60_000);

  it('pays an honest client through, two parallel streams on one channel included, and owes per channel', async () => {
    const ledger = new MemoryVoucherLedger();
    const channel = (await getPaymentChannel(chain.headState(), channels.honest))!;
    const payment = { channel: channels.honest, payerKey: honestKey, chainId: chain.params.chainId, ledger, floor: { redeemed: channel.redeemed, nonce: channel.nonce } };
    const request = { pieceCommitment: commitment, pricePerByte: PRICE, payment };
    const [a, b] = [await client(), await client()];
    const [whole, half] = await Promise.all([
      retrieveRange(a, providerHost.getMultiaddrs(), protocols, { ...request, offset: 0, length: PIECE_BYTES }),
      retrieveRange(b, providerHost.getMultiaddrs(), protocols, { ...request, offset: 2 * RETRIEVAL_CHUNK_BYTES, length: 2 * RETRIEVAL_CHUNK_BYTES }),
    ]);
    expect(Buffer.compare(whole.data, piece)).toBe(0);
    expect(Buffer.compare(half.data, piece.subarray(2 * RETRIEVAL_CHUNK_BYTES))).toBe(0);
    // Six chunks in all, each paid once: the best voucher covers both streams.
    expect(whole.paid + half.paid).toBe(6n * CHUNK_VALUE);
    expect(ledger.signed(channels.honest)).toBe(6n * CHUNK_VALUE);
    const best = provider.bestVouchers().find((v) => v.channel === channels.honest)!;
    expect(best.amount).toBe(6n * CHUNK_VALUE);
    expect(best.served).toBe(6n * CHUNK_VALUE);
    expect(redeemed.at(-1)!.amount).toBe(6n * CHUNK_VALUE);
    // The payer starts settling: the provider redeems its best voucher at the next head, once.
    const before = redeemed.length;
    await provider.redeemSettling();
    expect(redeemed.length).toBe(before);
    await addBlock(chain, [kindTx(honestKey, 2, paychSettleKind, paychChannelPayload, { channel: channels.honest })]);
    await provider.redeemSettling();
    await provider.redeemSettling();
    expect(redeemed.length).toBe(before + 1);
    expect(redeemed.at(-1)!.amount).toBe(6n * CHUNK_VALUE);
  }, 60_000);

  it('refuses a channel whose settle delay leaves no time to redeem', async () => {
    const ledger = new MemoryVoucherLedger();
    const payment = { channel: channels.shortSettle, payerKey: honestKey, chainId: chain.params.chainId, ledger, floor: { redeemed: 0n, nonce: 0 } };
    // An already connected host: libp2p throttles new inbound connections from one address (here all are 127.0.0.1).
    const error = await retrieveRange(hosts[0]!, providerHost.getMultiaddrs(), protocols, { pieceCommitment: commitment, offset: 0, length: 1, pricePerByte: PRICE, payment }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetrievalError);
    expect((error as RetrievalError).code).toBe('SETTLE_DELAY_TOO_SHORT');
    expect(ledger.signed(channels.shortSettle)).toBe(0n);
  }, 30_000);

  it('signs a lying provider nothing beyond the verified bytes it served', async () => {
    // A provider that announces the whole piece for a one-chunk request, or sends a bad second chunk,
    // and records every voucher it is sent.
    const liarHost = await client();
    const liar = await createClientHost(['/ip4/127.0.0.1/tcp/0']);
    hosts.push(liar);
    const levels = chunkTree(piece, RETRIEVAL_CHUNK_BYTES);
    const vouchers: Voucher[] = [];
    let mode: 'overAnnounce' | 'badSecond' = 'overAnnounce';
    await liar.handle(protocols.retrieve, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: RETRIEVAL_CHUNK_BYTES + 4096 });
      const request = decode(retrievalRequestCodec, (await lp.read()).subarray(1), 'request');
      const chunks = mode === 'overAnnounce' ? 4 : Math.ceil((request.offset + request.length) / RETRIEVAL_CHUNK_BYTES);
      await lp.write(concatBytes(new Uint8Array([RetrievalFrame.start]), encode(retrievalStartCodec, { pieceBytes: PIECE_BYTES, chunkBytes: RETRIEVAL_CHUNK_BYTES, firstChunk: 0, chunks })));
      try {
        for (let i = 0; i < chunks; i++) {
          const data = piece.slice(i * RETRIEVAL_CHUNK_BYTES, (i + 1) * RETRIEVAL_CHUNK_BYTES);
          if (mode === 'badSecond' && i === 1) data[7]! ^= 1;
          await lp.write(encodeChunkFrame({ index: i, data, proof: chunkProof(levels, i) }));
          const raw = (await lp.read({ signal: AbortSignal.timeout(2000) })).subarray();
          const { voucher, signature } = decode(signedVoucherCodec, raw.subarray(1), 'voucher');
          expect(recoverVoucherSigner(chain.params.chainId, voucher, signature)).toEqual(addressOf(honestKey));
          vouchers.push(voucher);
        }
      } catch {
        // The client hung up.
      }
      stream.abort(new Error('done'));
    });
    const ledger = new MemoryVoucherLedger();
    const payment = { channel: 99, payerKey: honestKey, chainId: chain.params.chainId, ledger, floor: { redeemed: 0n, nonce: 0 } };
    const ask = (length: number) => retrieveRange(liarHost, liar.getMultiaddrs(), protocols, { pieceCommitment: commitment, offset: 0, length, pricePerByte: PRICE, payment }).catch((e: unknown) => e as RetrievalError);
    // Over-announced: refused before any chunk, nothing signed.
    const over = await ask(10);
    expect(over).toBeInstanceOf(RetrievalError);
    expect((over as RetrievalError).code).toBe('PROTOCOL');
    expect(ledger.signed(99)).toBe(0n);
    // A bad second chunk: the first is paid, nothing more.
    mode = 'badSecond';
    const bad = await ask(PIECE_BYTES);
    expect((bad as RetrievalError).code).toBe('BAD_CHUNK');
    expect(ledger.signed(99)).toBe(CHUNK_VALUE);
    expect(vouchers.map((v) => v.amount)).toEqual([CHUNK_VALUE]);
  }, 30_000);
});
