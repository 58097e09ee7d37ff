// Bad deals over the real libp2p deal protocols, against a mining node process on 127.0.0.1: each is
// refused with its code, and nothing is charged (no deal on chain, the client's escrow untouched) or
// kept (no piece left in the provider's staging area). A good deal in the same run goes through,
// after a dropped stream that the client resumes from the provider's offset.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { lpStream } from '@libp2p/utils';
import type { Libp2p } from '@libp2p/interface';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DealClientError, dealProtocols, proposeDeal, sendPiece, type PieceSource, type ProposeRequest } from '../../src/market/index.js';
import { createClientHost } from '../../src/p2p/clientHost.js';
import { addressOf, decode, fromHex, sha256, toHex } from '../../src/primitives/index.js';
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
});
