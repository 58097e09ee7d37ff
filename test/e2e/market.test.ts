// The storage market from the CLI on a real mining node: the miner sets its ask (signed by the node
// with its worker key, gossiped, listed with the miner's power), and a client funds and withdraws
// market escrow, balances exact.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bcr, toHex } from '../../src/primitives/index.js';
import { DEV_KEY, tempDir } from '../helpers/chain.js';
import { rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-market-');
let node: RunningNode | null = null;
afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const DEV = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

describe('the storage market from the CLI', () => {
  it('publishes the miner\'s ask, moves a client\'s escrow, and runs an offline deal to its first payment', async () => {
    const dataDir = join(dir.path, 'node');
    node = await startNodeProcess(['--network', 'test', '--data-dir', dataDir, '--rpc-port', '0', '--p2p-port', '0']);
    const cli = async (args: string[]) => {
      const result = await runCli([...args, '--rpc', node!.rpcUrl], { BCR_PASSWORD: 'pw' });
      expect(result.code, result.stderr).toBe(0);
      return result.stdout;
    };
    const ask = JSON.parse(await cli(['miner', 'ask', 'set', '--price', '5', '--min-piece', '256B', '--max-piece', '1MiB', '--collateral', '2', '--data-dir', dataDir, '--json'])) as { id: string; miner: number };
    expect(ask.miner).toBe(1);
    const listed = JSON.parse(await cli(['market', 'asks', '--json'])) as { id: string; miner: number; pricePerGiBSlot: string; minPieceBytes: number; maxPieceBytes: number; power: string }[];
    expect(listed).toEqual([expect.objectContaining({ id: ask.id, miner: 1, pricePerGiBSlot: '5', minPieceBytes: 256, maxPieceBytes: 1 << 20 })]);
    expect(BigInt(listed[0]!.power)).toBeGreaterThan(0n);
    // A bad size is a one-line usage error.
    const bad = await runCli(['miner', 'ask', 'set', '--price', '5', '--min-piece', 'big', '--max-piece', '1MiB', '--collateral', '2', '--data-dir', dataDir, '--rpc', node.rpcUrl]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--min-piece must be a size/);

    // Escrow: add 10, withdraw 4, withdrawing 7 more is refused (6 available).
    const keyFile = join(dir.path, 'dev.key');
    writeFileSync(keyFile, toHex(DEV_KEY));
    await runCli(['wallet', 'import', '--key-file', keyFile, '--keystore', join(dir.path, 'keys'), '--light-kdf'], { BCR_PASSWORD: 'pw' });
    const keys = ['--keystore', join(dir.path, 'keys')];
    expect(JSON.parse(await cli(['client', 'escrow', 'add', '--from', DEV, '--amount', '10', ...keys, '--json']))).toMatchObject({ total: bcr(10).toString(), available: bcr(10).toString() });
    expect(JSON.parse(await cli(['client', 'escrow', 'withdraw', '--from', DEV, '--amount', '4', ...keys, '--json']))).toMatchObject({ total: bcr(6).toString(), locked: '0' });
    const refused = await runCli(['client', 'escrow', 'withdraw', '--from', DEV, '--amount', '7', ...keys, '--rpc', node.rpcUrl], { BCR_PASSWORD: 'pw' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/ESCROW_LOCKED/);
    expect(await rpc(node.rpcUrl, 'bcr_getEscrow', [DEV])).toEqual({ total: bcr(6).toString(), locked: '0', available: bcr(6).toString() });

    // An offline deal: a client signs a proposal for a file, the miner imports it; the node publishes
    // the deal, seals the piece into a sector naming it, and the deal is paid as the sector's proofs land.
    const clientKeyFile = join(dir.path, 'client.key');
    writeFileSync(clientKeyFile, toHex(new Uint8Array(randomBytes(32))));
    const client = JSON.parse((await runCli(['wallet', 'import', '--key-file', clientKeyFile, ...keys, '--light-kdf', '--json'], { BCR_PASSWORD: 'pw' })).stdout) as { address: string };
    await cli(['wallet', 'send', '--from', DEV, '--to', client.address, '--amount', '1', ...keys, '--wait']);
    await cli(['client', 'escrow', 'add', '--from', client.address, '--amount', '0.5', ...keys]);
    const file = join(dir.path, 'hello.bin');
    writeFileSync(file, new Uint8Array(randomBytes(1500)));
    const proposalFile = join(dir.path, 'proposal.json');
    await cli(['client', 'deal', 'propose', file, '--miner', '1', '--duration', '400', '--price', '100', '--start-in', '60', '--provider-collateral', '1000', '--from', client.address, ...keys, '--out', proposalFile]);
    const proposal = JSON.parse(readFileSync(proposalFile, 'utf8')) as { pieceBytes: number; startSlot: number; payment: string };
    expect(proposal.pieceBytes).toBe(2048);
    JSON.parse(await cli(['miner', 'deal', 'import', '--proposal', proposalFile, '--data', file, '--data-dir', dataDir, '--json'])) as { tx: string };
    const deal = await waitFor('the deal active', async () => {
      const d = await rpc<{ state: string; client: string; sector: number } | null>(node!.rpcUrl, 'bcr_getDeal', [1]);
      return d?.state === 'active' ? d : null;
    }, 60_000, 250).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(node!.logs.filter((l) => /deal|Sealing|Publish|fail|Pre-commit|prove-commit|active/i.test(l)).slice(-12))}`);
    });
    expect(deal.client).toBe(client.address);
    expect((await rpc<{ sector: number; state: string }[]>(node.rpcUrl, 'bcr_getSectors', [1])).find((s) => s.sector === deal.sector)?.state).toBe('active');
    // Locked at publication; paid out as proofs of the sector land after the start slot.
    const locked = (await rpc<{ total: string; locked: string }>(node.rpcUrl, 'bcr_getEscrow', [client.address]));
    expect(locked).toMatchObject({ total: (bcr(1) / 2n).toString(), locked: proposal.payment });
    await waitFor('a payment to the provider', async () => BigInt((await rpc<{ total: string }>(node!.rpcUrl, 'bcr_getEscrow', [client.address])).total) < BigInt(locked.total), 90_000, 250);
  }, 240_000);
});
