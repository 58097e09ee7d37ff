// Bad deals over the real libp2p deal protocols, against a mining node process on 127.0.0.1: each is
// refused with its code, and nothing is charged (no deal on chain, the client's escrow untouched) or
// kept (no piece left in the provider's staging area). A good deal in the same run goes through,
// after a dropped stream that the client resumes from the provider's offset. Then an attacker with
// four funded keys and four peers fills the provider's whole intake and sends no data: an honest
// `bcr client deal` still goes through, taking the slot of a stalled attacker deal.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { lpStream } from '@libp2p/utils';
import type { Libp2p } from '@libp2p/interface';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { DealClientError, dealProtocols, proposalId, proposeDeal, queryDealStatus, sendPiece, transferReplyCodec, transferRequestCodec, transferStartCodec, type PieceSource, type ProposeRequest } from '../../src/market/index.js';
import { createClientHost } from '../../src/p2p/clientHost.js';
import { addressOf, decode, encode, fromHex, sha256, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { merkleRoot } from '../../src/proofs/index.js';
import { escrowAddKind, escrowAddPayload, signDealProposal, type DealProposal } from '../../src/state/index.js';
import { proposeResponseCodec } from '../../src/market/dealProtocol.js';
import { DEV_KEY, kindTx, tempDir, transferTx } from '../helpers/chain.js';
import { p2pAddress, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-deal-refusals-');
const dataDir = join(dir.path, 'node');
let node: RunningNode;
let host: Libp2p;
const clientKey = sha256(new Uint8Array(randomBytes(32)));
const client = addressOf(clientKey);
const ESCROW = 1_000_000n;

beforeAll(async () => {
  node = await startNodeProcess(['--network', 'test', '--data-dir', dataDir, '--rpc-port', '0', '--p2p-port', '0']);
  host = await createClientHost();
}, 60_000);
afterAll(async () => {
  await host?.stop();
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const devNonce = () => rpc<number>(node.rpcUrl, 'bcr_getNonce', [toHex(addressOf(DEV_KEY)), 'pending']);

async function sendTx(raw: Uint8Array): Promise<void> {
  const id = await rpc<string>(node.rpcUrl, 'bcr_sendRawTransaction', [toHex(raw)]);
  const receipt = await waitFor('the receipt', () => rpc<{ status: string } | null>(node.rpcUrl, 'bcr_getTransactionReceipt', [id]), 30_000, 100);
  expect(receipt.status).toBe('ok');
}

describe('deal proposals a provider refuses', () => {
  it('refuses each bad proposal or transfer with its code, charging and keeping nothing', async () => {
    // Asks 1 atto/slot per KiB (2^20 per GiB), pieces of 256 B to 1 KiB, no collateral.
    const ask = await runCli(['miner', 'ask', 'set', '--price', String(1 << 20), '--min-piece', '256B', '--max-piece', '1KiB', '--collateral', '0', '--data-dir', dataDir, '--rpc', node.rpcUrl]);
    expect(ask.code, ask.stderr).toBe(0);
    await sendTx(transferTx(DEV_KEY, 0, client, 10n ** 18n));
    await sendTx(kindTx(clientKey, 0, escrowAddKind, escrowAddPayload, { account: client, value: ESCROW }));
    const info = await rpc<{ chainId: number; network: string; genesis: string }>(node.rpcUrl, 'bcr_nodeInfo');
    const protocols = dealProtocols(info.network, fromHex(info.genesis));
    const provider = multiaddr(p2pAddress(node));
    const slot = (await rpc<{ slot: number }>(node.rpcUrl, 'bcr_chainHead')).slot;

    const data = new Uint8Array(randomBytes(1000));
    const piece = new Uint8Array(1024);
    piece.set(data);
    const good: DealProposal = { pieceCommitment: merkleRoot(piece), pieceBytes: 1024, client, provider: 1, startSlot: slot + 200, endSlot: slot + 400, pricePerSlot: 1n, providerCollateral: 0n, clientCollateral: 0n, nonce: 1 };
    const request = (p: Partial<DealProposal>, over: { key?: Uint8Array; chainId?: number; dataBytes?: number } = {}): ProposeRequest => {
      const proposal = { ...good, ...p };
      const chainId = over.chainId ?? info.chainId;
      return { chainId, proposal, clientSignature: signDealProposal(over.key ?? clientKey, chainId, proposal), dataBytes: over.dataBytes ?? data.length };
    };
    const codeOf = async (r: ProposeRequest) => (await proposeDeal(host, provider, protocols, r)).code;

    expect(await codeOf(request({ nonce: 2 }, { key: sha256(new Uint8Array([9])) }))).toBe('BAD_CLIENT_SIGNATURE');
    expect(await codeOf(request({ nonce: 3, pricePerSlot: 0n }))).toBe('PRICE_BELOW_ASK');
    expect(await codeOf(request({ nonce: 4, pieceBytes: 2048 }))).toBe('PIECE_TOO_LARGE');
    expect(await codeOf(request({ nonce: 5, pricePerSlot: ESCROW }))).toBe('ESCROW_TOO_LOW');
    expect(await codeOf(request({ nonce: 6, startSlot: slot - 1, endSlot: slot + 100 }))).toBe('START_PASSED');
    expect(await codeOf(request({ nonce: 7 }, { chainId: info.chainId + 1 }))).toBe('WRONG_CHAIN');
    // Garbage instead of a proposal.
    const stream = await host.dialProtocol(provider, protocols.propose);
    const lp = lpStream(stream);
    await lp.write(new Uint8Array(randomBytes(300)));
    expect(decode(proposeResponseCodec, (await lp.read()).subarray(), 'answer').code).toBe('MALFORMED');
    await stream.close();

    // Accepted, but the bytes sent are not the committed piece.
    const liar = request({ nonce: 8 });
    expect(await codeOf(liar)).toBe('ACCEPTED');
    const wrong = new Uint8Array(randomBytes(data.length));
    const memory = (bytes: Uint8Array): PieceSource => ({ size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) });
    const mismatch = await sendPiece(host, provider, protocols, liar, memory(wrong)).catch((error: unknown) => error);
    expect(mismatch).toBeInstanceOf(DealClientError);
    expect((mismatch as DealClientError).code).toBe('PIECE_MISMATCH');
    // More bytes than the proposal declared.
    const greedy = request({ nonce: 9 }, { dataBytes: 500 });
    expect(await codeOf(greedy)).toBe('ACCEPTED');
    const tooMuch = await sendPiece(host, provider, protocols, greedy, memory(data)).catch((error: unknown) => error);
    expect((tooMuch as DealClientError).code).toBe('TOO_MUCH_DATA');

    // A good deal: its first stream dies half way; the client resumes where the provider's copy ends.
    const ok = request({});
    expect(await codeOf(ok)).toBe('ACCEPTED');
    let failOnce = true;
    const flaky: PieceSource = {
      size: data.length,
      read: async (offset, length) => {
        if (failOnce && offset > 0) {
          failOnce = false;
          throw new Error('connection lost');
        }
        return data.subarray(offset, offset + Math.min(length, 400));
      },
    };
    const retries: number[] = [];
    expect(await sendPiece(host, provider, protocols, ok, flaky, { onRetry: (_e, attempt) => retries.push(attempt) })).toMatch(/publishing in tx/);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    const deal = await waitFor('the good deal on chain', async () => (await rpc<{ deal: number; state: string }[]>(node.rpcUrl, 'bcr_listDeals', [{ client: toHex(client) }]))[0], 30_000, 100);
    // Proposed again once published: refused.
    expect(await codeOf(ok)).toBe('NONCE_USED');

    // Nothing charged for the refused ones: one deal, and the escrow locks only its price.
    expect((await rpc<unknown[]>(node.rpcUrl, 'bcr_listDeals', [{ client: toHex(client) }])).length).toBe(1);
    expect(await rpc(node.rpcUrl, 'bcr_getEscrow', [toHex(client)])).toEqual({ total: String(ESCROW), locked: String(200n), available: String(ESCROW - 200n) });
    expect(deal.state).toBe('published');
    // Nothing kept: the refused pieces are gone from the staging area (the good one is packed into its sector).
    const incoming = join(dataDir, 'miner', 'incoming');
    await waitFor('the good piece packed', async () => readdirSync(incoming).filter((f) => f.endsWith('.piece')).length === 0, 30_000, 100);
    expect(existsSync(join(incoming, 'deals.json'))).toBe(true);
  }, 120_000);

  it('lets an attacker with several keys and peers hold no more than its share of the intake, and an honest client deal goes through', async () => {
    const info = await rpc<{ chainId: number; network: string; genesis: string }>(node.rpcUrl, 'bcr_nodeInfo');
    const protocols = dealProtocols(info.network, fromHex(info.genesis));
    const provider = multiaddr(p2pAddress(node));
    // Five attacker keys, each with escrow enough for its pending proposals (the provider checks it).
    const keys = [0, 1, 2, 3, 4].map((i) => sha256(new Uint8Array([0xa0, i, ...randomBytes(8)])));
    const nonce = await devNonce();
    await Promise.all(keys.map((key, i) => sendTx(transferTx(DEV_KEY, nonce + i, addressOf(key), 10n ** 18n))));
    await Promise.all(keys.map((key) => sendTx(kindTx(key, 0, escrowAddKind, escrowAddPayload, { account: addressOf(key), value: 100_000n }))));
    const slot = (await rpc<{ slot: number }>(node.rpcUrl, 'bcr_chainHead')).slot;
    const piece = new Uint8Array(256);
    let n = 1000;
    const propose = (key: Uint8Array, over: Partial<DealProposal> = {}): ProposeRequest => {
      const proposal: DealProposal = { pieceCommitment: merkleRoot(piece), pieceBytes: 256, client: addressOf(key), provider: 1, startSlot: slot + 200, endSlot: slot + 300, pricePerSlot: 1n, providerCollateral: 0n, clientCollateral: 0n, nonce: n++, ...over };
      return { chainId: info.chainId, proposal, clientSignature: signDealProposal(key, info.chainId, proposal), dataBytes: 1 };
    };
    const attackers = [host];
    for (let i = 1; i < 4; i++) attackers.push(await createClientHost());
    try {
      // A start slot far ahead, and an empty transfer frame: each refused with its own code.
      expect((await proposeDeal(host, provider, protocols, propose(keys[0]!, { startSlot: 2 ** 52, endSlot: 2 ** 52 + 100 }))).code).toBe('START_TOO_LATE');
      const empty = propose(keys[0]!);
      expect((await proposeDeal(host, provider, protocols, empty)).code).toBe('ACCEPTED');
      const stream = await host.dialProtocol(provider, protocols.transfer);
      const lp = lpStream(stream);
      await lp.write(encode(transferRequestCodec, { proposalId: proposalId(empty.proposal) }));
      expect(decode(transferStartCodec, (await lp.read()).subarray(), 'start').code).toBe('OK');
      await lp.write(new Uint8Array(0));
      expect(decode(transferReplyCodec, (await lp.read()).subarray(), 'reply').code).toBe('EMPTY_CHUNK');
      await stream.close();

      // Each peer proposes one deal per key: 4 peers x 4 keys fill the intake of 16, and no data follows.
      const held: ProposeRequest[] = [];
      for (const attacker of attackers) {
        for (const key of keys.slice(0, 4)) {
          const request = propose(key);
          expect((await proposeDeal(attacker, provider, protocols, request)).code).toBe('ACCEPTED');
          held.push(request);
        }
      }
      // Caps per peer and per key, well below the global cap.
      expect((await proposeDeal(attackers[0]!, provider, protocols, propose(keys[0]!))).code).toBe('CLIENT_BUSY');
      expect((await proposeDeal(attackers[0]!, provider, protocols, propose(keys[4]!))).code).toBe('PEER_BUSY');

      // The honest client, through the CLI as a user would: its deal is accepted, sent and published.
      const honestKey = dir.path + '/honest.key';
      writeFileSync(honestKey, toHex(sha256(new Uint8Array([0xa2, ...randomBytes(8)]))));
      const env = { BCR_PASSWORD: 'pw' };
      const keystore = ['--keystore', join(dir.path, 'keys')];
      const honest = (JSON.parse((await runCli(['wallet', 'import', '--key-file', honestKey, ...keystore, '--light-kdf', '--json'], env)).stdout) as { address: string }).address;
      await sendTx(transferTx(DEV_KEY, await devNonce(), fromHex(honest), 10n ** 18n));
      const escrow = await runCli(['client', 'escrow', 'add', '--from', honest, '--amount', '0.001', ...keystore, '--rpc', node.rpcUrl], env);
      expect(escrow.code, escrow.stderr).toBe(0);
      const file = join(dir.path, 'honest.bin');
      writeFileSync(file, new Uint8Array(randomBytes(900)));
      const deal = await runCli(['client', 'deal', file, '--miner', '1', '--duration', '100', '--start-in', '200', '--from', honest, ...keystore, '--rpc', node.rpcUrl, '--json'], env);
      expect(deal.code, deal.stderr).toBe(0);
      expect((await rpc<unknown[]>(node.rpcUrl, 'bcr_listDeals', [{ client: honest }])).length).toBe(1);
      // The attacker's stalled deals lost their slots (displaced by the honest one, or, on a machine so
      // busy that the CLI took longer to start than the transfer allowance, dropped for sending no
      // data), and the provider says so to that "client".
      const statuses = await Promise.all(held.map((r) => queryDealStatus(host, provider, protocols, r.proposal)));
      expect(statuses.filter((st) => st.stage === 'failed' && /^(DISPLACED|TRANSFER_TOO_SLOW)/.test(st.error)).length).toBeGreaterThanOrEqual(1);
      // Nothing the attacker proposed was published: it paid nothing and holds nothing on chain.
      for (const key of keys) expect(await rpc<unknown[]>(node.rpcUrl, 'bcr_listDeals', [{ client: toChecksumAddress(addressOf(key)) }])).toEqual([]);
    } finally {
      await Promise.all(attackers.slice(1).map((a) => a.stop()));
    }
  }, 180_000);
});
