// Retrieval from a mining node process (127.0.0.1, 1 MiB sectors): a stored 1 MiB piece comes back
// free, then a byte range paid with vouchers on a payment channel the provider redeems for exactly
// the bytes it served times its price; a provider whose unsealed copy went bad is caught at the
// first bad chunk.
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVNET_WORKER_KEYS, devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { addressOf, fromHex, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { paychRedeemKind, paychRedeemPayload, signVoucher } from '../../src/state/index.js';
import { DEV_KEY, kindTx, tempDir } from '../helpers/chain.js';
import { rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-retrieval-');
const dataDir = join(dir.path, 'node');
const genesis = devnetGenesis({ miners: 1, nowMs: Date.now(), startDelayMs: 3000, slotMs: 250, finality: 20, proofProfile: 'devnet', minerParams: { provingPeriod: 40, seedDelay: 2, powerLookback: 2, randomnessLookback: 2 } });
let node: RunningNode;
const ENV = { BCR_PASSWORD: 'pw' };
const keys = ['--keystore', join(dir.path, 'keys')];
const DEV = toChecksumAddress(addressOf(DEV_KEY));

beforeAll(async () => {
  node = await startNodeProcess(prepareDevnetNode({ dataDir, genesisJson: devnetGenesisJson(genesis), index: 0, miners: 1, rpcPort: 0, p2pPort: 0, bootstrap: [] }), 60_000);
}, 90_000);
afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const cli = async (args: string[]) => {
  const result = await runCli(args[0] === 'wallet' && args[1] === 'import' ? args : [...args, '--rpc', node.rpcUrl], ENV);
  if (result.code !== 0) throw new Error(`bcr ${args.join(' ')} failed:\n${result.stderr}`);
  return result;
};

describe('retrieval', () => {
  it('serves a stored piece free, then a range paid with vouchers the provider redeems exactly; a bad chunk is caught', async () => {
    await cli(['miner', 'ask', 'set', '--price', '1024', '--min-piece', '256B', '--max-piece', '1MiB', '--collateral', '0', '--data-dir', dataDir]);
    await waitFor('miner 1\'s addresses on chain', async () => (await rpc<{ multiaddrs: string[] }>(node.rpcUrl, 'bcr_getMiner', [1])).multiaddrs.length > 0, 30_000, 250);
    writeFileSync(join(dir.path, 'client.key'), toHex(new Uint8Array(randomBytes(32))));
    const client = (JSON.parse((await cli(['wallet', 'import', '--key-file', join(dir.path, 'client.key'), ...keys, '--light-kdf', '--json'])).stdout) as { address: string }).address;
    writeFileSync(join(dir.path, 'dev.key'), toHex(DEV_KEY));
    await cli(['wallet', 'import', '--key-file', join(dir.path, 'dev.key'), ...keys, '--light-kdf']);
    await cli(['wallet', 'send', '--from', DEV, '--to', client, '--amount', '1', ...keys, '--wait']);
    await cli(['client', 'escrow', 'add', '--from', client, '--amount', '0.01', ...keys]);
    const file = new Uint8Array(randomBytes(1 << 20));
    writeFileSync(join(dir.path, 'file.bin'), file);
    const manifest = JSON.parse((await cli(['client', 'deal', join(dir.path, 'file.bin'), '--miner', '1', '--duration', '2000', '--start-in', '40', '--from', client, ...keys, '--json'])).stdout) as { pieces: { pieceCommitment: string }[] };
    const piece = manifest.pieces[0]!.pieceCommitment;
    // Served once packed into a sector (the unsealed copy), published or not yet active.
    const out = join(dir.path, 'free.bin');
    await waitFor('the piece served', async () => (await runCli(['client', 'retrieve', piece, '--miner', '1', '--out', out, '--rpc', node.rpcUrl], ENV)).code === 0, 60_000, 500);
    expect(Buffer.compare(readFileSync(out), Buffer.from(file))).toBe(0);

    // Paid: 2 atto per byte; the range 100,000 + 300,000 is served as the 256 KiB chunks 0 and 1.
    await cli(['miner', 'retrieval-ask', 'set', '--price', '2', '--data-dir', dataDir]);
    const paid = JSON.parse((await cli(['client', 'retrieve', piece, '--miner', '1', '--out', join(dir.path, 'range.bin'), '--offset', '100000', '--length', '300000', '--from', client, ...keys, '--json'])).stdout) as { bytes: number; paid: string; channel: number };
    expect(paid.bytes).toBe(300_000);
    expect(Buffer.compare(readFileSync(join(dir.path, 'range.bin')), Buffer.from(file.subarray(100_000, 400_000)))).toBe(0);
    const served = 2 * 262_144;
    expect(BigInt(paid.paid)).toBe(2n * BigInt(served));
    const channel = await waitFor('the voucher redeemed', async () => {
      const c = await rpc<{ redeemed: string; to: string; from: string } | null>(node.rpcUrl, 'bcr_getPaymentChannel', [paid.channel]);
      return c && BigInt(c.redeemed) > 0n ? c : null;
    }, 30_000, 250);
    expect(BigInt(channel.redeemed)).toBe(2n * BigInt(served));
    expect(channel.from).toBe(client);
    // Again on the same channel: vouchers continue from the client's own ledger of what it signed.
    const again = JSON.parse((await cli(['client', 'retrieve', piece, '--miner', '1', '--out', join(dir.path, 'again.bin'), '--offset', '0', '--length', '65536', '--from', client, '--channel', String(paid.channel), ...keys, '--json'])).stdout) as { paid: string };
    expect(BigInt(again.paid)).toBe(2n * 262_144n);
    await waitFor('both redeemed', async () => BigInt((await rpc<{ redeemed: string }>(node.rpcUrl, 'bcr_getPaymentChannel', [paid.channel])).redeemed) === 2n * BigInt(served + 262_144), 30_000, 250);

    // Vouchers the chain refuses, sent as the provider's worker would: over the deposit, the last one
    // again (a replay), and a fresh one redeemed twice.
    const clientKey = fromHex(readFileSync(join(dir.path, 'client.key'), 'utf8').trim());
    const workerKey = fromHex(DEVNET_WORKER_KEYS[0]!);
    const worker = addressOf(workerKey);
    const redeem = async (amount: bigint, nonce: number) => {
      const voucher = { channel: paid.channel, amount, nonce };
      const nonceNow = await rpc<number>(node.rpcUrl, 'bcr_getNonce', [toHex(worker), 'pending']);
      const id = await rpc<string>(node.rpcUrl, 'bcr_sendRawTransaction', [toHex(kindTx(workerKey, nonceNow, paychRedeemKind, paychRedeemPayload, { voucher, signature: signVoucher(clientKey, genesis.params.chainId, voucher) }, genesis.params.chainId))]);
      return (await waitFor('the receipt', () => rpc<{ status: string; error: string | null } | null>(node.rpcUrl, 'bcr_getTransactionReceipt', [id]), 30_000, 100)).error ?? 'ok';
    };
    const state = await rpc<{ deposit: string; redeemed: string; nonce: number }>(node.rpcUrl, 'bcr_getPaymentChannel', [paid.channel]);
    expect(await redeem(BigInt(state.deposit) + 1n, state.nonce + 1)).toBe('VOUCHER_OVER_DEPOSIT');
    expect(await redeem(BigInt(state.redeemed), state.nonce)).toBe('VOUCHER_REPLAYED');
    expect(await redeem(BigInt(state.redeemed) + 5n, state.nonce + 1)).toBe('ok');
    expect(await redeem(BigInt(state.redeemed) + 5n, state.nonce + 1)).toBe('VOUCHER_REPLAYED');

    // The provider's copy goes bad in chunk 3: the client stops at that chunk and names it.
    const local = JSON.parse((await cli(['miner', 'deals', '--json', '--data-dir', dataDir])).stdout) as { unsealedPath: string; offset: number }[];
    const fd = openSync(local[0]!.unsealedPath, 'r+');
    writeSync(fd, new Uint8Array([file[3 * 262_144 + 10]! ^ 0xff]), 0, 1, local[0]!.offset + 3 * 262_144 + 10);
    closeSync(fd);
    await cli(['miner', 'retrieval-ask', 'set', '--price', '0', '--data-dir', dataDir]);
    const bad = await runCli(['client', 'retrieve', piece, '--miner', '1', '--out', join(dir.path, 'bad.bin'), '--rpc', node.rpcUrl], ENV);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/BAD_CHUNK: chunk 3 does not prove/);
  }, 240_000);
});
