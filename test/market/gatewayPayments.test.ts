// Paid gateway access on a real TrustlessGateway (HTTP on 127.0.0.1) and a real chain holding the
// payment channels, counted on the same per-payer ledger as libp2p retrieval, with hostile payers:
// - a request without a voucher gets 402 with the terms; asking whether a block is held (HEAD) stays free;
// - an honest payer fetching a DAG through GatewayBlockSource pays exactly price x verified bytes;
// - a payer whose vouchers never add anything gets at most one payment interval, also after a restart;
// - a replayed voucher header, a voucher signed by someone else, a channel paying someone else and a
//   malformed header are refused with their reason (402), never a crash;
// - a gateway naming a payee other than its miner's, or a price above the payer's limit, is not paid.
import { join } from 'node:path';
import type { Libp2p } from '@libp2p/interface';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainStore } from '../../src/chain/index.js';
import { ChannelPayer, GatewayBlockSource, type GatewayPayer } from '../../src/client/index.js';
import { CID } from 'multiformats/cid';
import { exportTo, importBytes } from '../../src/content/index.js';
import { TrustlessGateway, DEFAULT_GATEWAY_LIMITS } from '../../src/gateway/trustlessGateway.js';
import { MemoryVoucherLedger, RetrievalProvider, VOUCHER_HEADER, retrievalProtocols, signedVoucherCodec } from '../../src/market/index.js';
import { paidAccess } from '../../src/node/gatewayPart.js';
import { createClientHost } from '../../src/p2p/clientHost.js';
import { addressOf, encode, sha256, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { paychOpenKind, paychOpenPayload, signVoucher, transferKind, transferPayload, type Voucher } from '../../src/state/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { pseudoRandom } from '../helpers/bytes.js';
import { DEV_KEY, addBlock, kindTx, openChain, tempDir } from '../helpers/chain.js';

const PRICE = 5n;
const INTERVAL = 512 * 1024;
const payee = addressOf(sha256(new Uint8Array([0x61])));
const otherPayee = addressOf(sha256(new Uint8Array([0x62])));
const honestKey = sha256(new Uint8Array([0x63]));
const freeloaderKey = sha256(new Uint8Array([0x64]));
const channels = { honest: 1, freeloader: 2, elsewhere: 3 };

const dir = tempDir('bcr-gateway-payments-');
let chain: ChainStore;
let closeDb: () => Promise<void>;
let host: Libp2p;
let provider: RetrievalProvider;
let gateway: TrustlessGateway;
let url: string;
const blocks = new Map<string, Uint8Array>();
let root: CID;
let chunkCids: CID[];
const file = pseudoRandom(3 * (1 << 20) + 4321, 2246822519);

function startProvider(): RetrievalProvider {
  return new RetrievalProvider({
    libp2p: host,
    protocols: retrievalProtocols('test', new Uint8Array(32)),
    chain,
    miner: () => ({ find: () => [], payee, redeem: async () => {} }),
    currentSlot: () => chain.head.header.slot,
    nowMs: () => Date.now(),
    dir: join(dir.path, 'provider'),
    log: silentLogger,
    terms: { intervalBytes: INTERVAL, minSettleDelay: 50 },
  });
}

/** A payer that signs from its own ledger, adding `add` (or nothing, for a freeloader) per voucher. */
function testPayer(key: Uint8Array, channel: number, honest = true): GatewayPayer & { ledger: MemoryVoucherLedger } {
  const ledger = new MemoryVoucherLedger();
  return {
    ledger,
    accept: async () => null,
    voucher: async (_provider, add) => signed(key, await ledger.next(channel, honest ? add : 0n, { redeemed: 0n, nonce: 0 })),
    topUp: async () => {},
  };
}

const signed = (key: Uint8Array, voucher: Voucher) => toHex(encode(signedVoucherCodec, { voucher, signature: signVoucher(key, chain.params.chainId, voucher) }));

const getRaw = (cid: CID, headers: Record<string, string> = {}, method = 'GET') => fetch(`${url}ipfs/${cid}?format=raw`, { method, headers });

beforeAll(async () => {
  root = (await importBytes(file, { put: async (cid, bytes) => void blocks.set(cid.toString(), bytes) })).cid;
  chunkCids = [...blocks.keys()].filter((k) => blocks.get(k)!.length === 256 * 1024).map((k) => CID.parse(k));
  const opened = await openChain(join(dir.path, 'chain'));
  chain = opened.chain;
  closeDb = () => opened.db.close();
  const fund = (to: Uint8Array, nonce: number) => kindTx(DEV_KEY, nonce, transferKind, transferPayload, { to, value: 10n ** 18n });
  await addBlock(chain, [fund(addressOf(honestKey), 0), fund(addressOf(freeloaderKey), 1)]);
  const open = (key: Uint8Array, nonce: number, to: Uint8Array) => kindTx(key, nonce, paychOpenKind, paychOpenPayload, { to, deposit: 10n ** 16n, settleDelay: 100 });
  await addBlock(chain, [open(honestKey, 0, payee), open(freeloaderKey, 0, payee), open(honestKey, 1, otherPayee)]);
  host = await createClientHost();
  provider = startProvider();
  await provider.setPrice(PRICE);
  await provider.start();
  gateway = new TrustlessGateway({ get: async (cid) => blocks.get(cid.toString()) ?? null }, silentLogger, { limits: { ...DEFAULT_GATEWAY_LIMITS, requestsPerSecond: 10_000 }, payments: paidAccess(() => provider.gateway) });
  url = await gateway.listen('127.0.0.1', 0);
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await provider?.stop();
  await host?.stop();
  await closeDb?.();
  dir.cleanup();
});

describe('paid gateway', () => {
  it('answers a request without a voucher 402 with its terms, and whether it holds a block for free', async () => {
    const asked = await getRaw(root);
    expect(asked.status).toBe(402);
    expect(asked.headers.get('x-bcr-refusal')).toBe('PAYMENT_REQUIRED');
    expect(asked.headers.get('x-bcr-price-per-byte')).toBe(String(PRICE));
    expect(asked.headers.get('x-bcr-payee')).toBe(toChecksumAddress(payee));
    expect(asked.headers.get('x-bcr-payment-interval')).toBe(String(INTERVAL));
    expect(asked.headers.get('x-bcr-min-settle-delay')).toBe('50');
    expect(await asked.text()).toMatch(/asks 5 atto per byte/);
    expect((await getRaw(root, {}, 'HEAD')).status).toBe(200);
  });

  it('is paid by an honest payer exactly price x the bytes it verified', async () => {
    const payer = testPayer(honestKey, channels.honest);
    const source = new GatewayBlockSource([{ name: 'miner 1', url }], { payer });
    const out = join(dir.path, 'honest.bin');
    const written = await exportTo(root, source, out, { concurrency: 16 });
    await source.settle(root);
    expect(written.bytes).toBe(BigInt(file.length));
    const [report] = source.report();
    const verified = BigInt(report!.bytes);
    expect(report!.paid).toBe(PRICE * verified);
    const held = provider.bestVouchers().find((v) => v.channel === channels.honest)!;
    expect(held.amount).toBe(PRICE * verified);
    expect(held.served).toBe(PRICE * verified);
    expect(provider.served.get(channels.honest)).toBe(verified); // what `bcr miner retrievals` shows as bytes served
    expect(payer.ledger.signed(channels.honest)).toBe(PRICE * verified);
  });

  it('serves a payer whose vouchers add nothing at most one payment interval, also after a restart', async () => {
    const payer = testPayer(freeloaderKey, channels.freeloader, false);
    let served = 0;
    const refusals: string[] = [];
    for (const cid of chunkCids) {
      const response = await getRaw(cid, { [VOUCHER_HEADER]: await payer.voucher({ name: 'm', url }, 0n) });
      if (response.status === 200) served += (await response.arrayBuffer()).byteLength;
      else {
        refusals.push(response.headers.get('x-bcr-refusal')!);
        await response.body?.cancel();
      }
    }
    expect(served).toBe(INTERVAL);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((r) => r === 'PAYMENT_OVERDUE')).toBe(true);
    await provider.stop();
    provider = startProvider();
    await provider.start();
    const after = await getRaw(chunkCids[0]!, { [VOUCHER_HEADER]: await payer.voucher({ name: 'm', url }, 0n) });
    expect(after.status).toBe(402);
    expect(after.headers.get('x-bcr-refusal')).toBe('PAYMENT_OVERDUE');
    expect(provider.bestVouchers().find((v) => v.channel === channels.freeloader)!.served).toBe(PRICE * BigInt(INTERVAL));
  });

  it('refuses a replayed header, a forged or misdirected voucher and garbage with the reason', async () => {
    const ledger = new MemoryVoucherLedger();
    const header = signed(honestKey, await ledger.next(channels.honest, 0n, { redeemed: 0n, nonce: 10_000 }));
    const first = await getRaw(root, { [VOUCHER_HEADER]: header });
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const cases: [Record<string, string>, string][] = [
      [{ [VOUCHER_HEADER]: header }, 'VOUCHER_REPLAYED'],
      [{ [VOUCHER_HEADER]: signed(freeloaderKey, { channel: channels.honest, amount: 10n ** 15n, nonce: 20_000 }) }, 'BAD_VOUCHER'],
      [{ [VOUCHER_HEADER]: signed(honestKey, { channel: channels.elsewhere, amount: 1n, nonce: 1 }) }, 'WRONG_PAYEE'],
      [{ [VOUCHER_HEADER]: signed(honestKey, { channel: 999, amount: 1n, nonce: 1 }) }, 'NO_SUCH_CHANNEL'],
      [{ [VOUCHER_HEADER]: 'zz' }, 'BAD_VOUCHER'],
      [{ [VOUCHER_HEADER]: '0x' + 'ab'.repeat(40) }, 'BAD_VOUCHER'],
    ];
    for (const [headers, code] of cases) {
      const response = await getRaw(root, headers);
      expect(response.status, code).toBe(402);
      expect(response.headers.get('x-bcr-refusal')).toBe(code);
      await response.body?.cancel();
    }
    expect((await getRaw(root, {}, 'HEAD')).status).toBe(200);
  });

  it('does not pay a gateway that names a payee other than its miner, or asks more than the payer pays', async () => {
    const payer = new ChannelPayer({ rpc: 'http://127.0.0.1:1/', sender: { address: toChecksumAddress(addressOf(honestKey)), key: honestKey }, maxPricePerByte: 4n, payeeOf: async () => toChecksumAddress(otherPayee) });
    const terms = { pricePerByte: PRICE, payee: toChecksumAddress(payee), minSettleDelay: 50, intervalBytes: INTERVAL };
    expect(await payer.accept({ name: 'miner 1', url }, terms)).toMatch(/above the 4 this payer pays/);
    expect(await payer.accept({ name: 'miner 1', url }, { ...terms, pricePerByte: 1n })).toMatch(/paid at .* on chain/);
    const source = new GatewayBlockSource([{ name: 'miner 1', url }], { payer });
    await expect(exportTo(root, source, join(dir.path, 'refused.bin'))).rejects.toThrow(/no provider could serve/);
    expect(source.report()[0]!.dropped).toMatch(/above the 4 this payer pays/);
  });
});
