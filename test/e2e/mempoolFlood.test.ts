// A nearly free flood of nonce-gapped txs against a mining node (as tried on 11-29, when it filled
// the pool, refused the miner's own WindowPoSt and cost it its power): now each sender may queue
// only what its balance covers, gapped txs are capped per sender and in total, honest txs still
// land, and the miner keeps every sector proven through a whole proving period.
import { afterAll, describe, expect, it } from 'vitest';
import { readGenesisJson } from '../../src/chain/index.js';
import { addressOf, sha256, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { DEV_KEY, TEAM_ADDRESS, tempDir, transferTx } from '../helpers/chain.js';
import { rawPost, rpc, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-flood-');
let node: RunningNode | null = null;
afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

type Head = { height: number; slot: number };
const ACCOUNTS = 40;
const FUNDING = 84_000n; // enough for four minimum-price transfers

async function sendBatch(url: string, txs: Uint8Array[]): Promise<{ result?: string; error?: { code: number; data?: { code: string } } }[]> {
  const batch = txs.map((tx, id) => ({ jsonrpc: '2.0', id, method: 'bcr_sendRawTransaction', params: [toHex(tx)] }));
  return JSON.parse((await rawPost(url, JSON.stringify(batch))).text);
}

describe('a mempool flood of nonce-gapped txs', () => {
  it('is capped by balance and queue limits while honest txs land and the miner keeps its power', async () => {
    node = await startNodeProcess(['--network', 'test', '--data-dir', dir.path, '--rpc-port', '0']);
    const url = node.rpcUrl;
    const { params } = readGenesisJson('test') as { params: { miners: { provingPeriod: number } } };
    const keys = Array.from({ length: ACCOUNTS }, (_, i) => sha256(new Uint8Array([0xf1, i])));
    const funding = await sendBatch(url, keys.map((key, i) => transferTx(DEV_KEY, i, addressOf(key), FUNDING)));
    expect(funding.every((r) => r.result)).toBe(true);
    const lastFunded = toChecksumAddress(addressOf(keys[ACCOUNTS - 1]!));
    await waitFor('the flood accounts funded', async () => BigInt((await rpc<{ balance: string }>(url, 'bcr_getBalance', [lastFunded])).balance) === FUNDING, 30_000);
    const power = async () => BigInt((await rpc<{ power: string }>(url, 'bcr_getMiner', [1])).power);
    const fullPower = await power();
    expect(fullPower).toBeGreaterThan(0n);

    // Every account sends nonces 1..63 (nonce 0 never comes): none of them can ever execute.
    const flood = keys.flatMap((key) => Array.from({ length: 63 }, (_, n) => transferTx(key, n + 1, TEAM_ADDRESS, 1n)));
    const codes = new Map<string, number>();
    for (let i = 0; i < flood.length; i += 500) {
      for (const reply of await sendBatch(url, flood.slice(i, i + 500))) {
        const code = reply.result ? 'accepted' : reply.error?.data?.code ?? String(reply.error?.code);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }
    const accepted = codes.get('accepted') ?? 0;
    expect(accepted).toBeLessThanOrEqual(ACCOUNTS * 4);
    expect(codes.get('INSUFFICIENT_FUNDS')).toBeGreaterThan(ACCOUNTS * 50);
    const status = await rpc<{ size: number; queued: number }>(url, 'bcr_mempoolStatus');
    expect(status.queued).toBe(accepted);

    // An honest transfer still gets in and is mined.
    const nonce = await rpc<number>(url, 'bcr_getNonce', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'pending']);
    const honest = await rpc<string>(url, 'bcr_sendRawTransaction', [toHex(transferTx(DEV_KEY, nonce, TEAM_ADDRESS, 5n))]);
    await waitFor('the honest tx mined', () => rpc(url, 'bcr_getTransactionReceipt', [honest]), 30_000);

    // Through a whole proving period after the flood the miner proves every deadline.
    const start = await rpc<Head>(url, 'bcr_chainHead');
    await waitFor('a full proving period', async () => {
      expect(await power()).toBe(fullPower);
      return (await rpc<Head>(url, 'bcr_chainHead')).slot > start.slot + params.miners.provingPeriod + 5;
    }, 60_000, 250);
    expect(await power()).toBe(fullPower);
  }, 120_000);
});
