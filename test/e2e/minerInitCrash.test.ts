// `bcr miner init` killed at any point registers one miner in all: the signed createMiner tx is on
// disk before it leaves, and a rerun for the same owner finishes that registration (or finds it on
// chain) instead of making a second miner with a second VRF key.
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { bcr, toHex } from '../../src/primitives/index.js';
import { DEV_KEY, tempDir, transferTx } from '../helpers/chain.js';
import { rpc, runCli, runCliKilled, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-miner-init-crash-');
const keystore = join(dir.path, 'keys');
const ENV = { BCR_PASSWORD: 'pw' };
let node: RunningNode | null = null;

afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const initKilled = (rpcUrl: string, owner: string, trigger: (stderr: string) => boolean, afterMs: number | null) =>
  afterMs === null
    ? runCli(['miner', 'init', '--owner', owner, '--rpc', rpcUrl, '--keystore', keystore, '--light-kdf', '--json'], ENV).then((r) => ({ ...r, killed: false }))
    : runCliKilled(['miner', 'init', '--owner', owner, '--rpc', rpcUrl, '--keystore', keystore, '--light-kdf', '--json'], ENV, trigger, afterMs);

describe('miner init killed midway', () => {
  it('registers exactly one miner however often it is killed and rerun', async () => {
    const genesis = devnetGenesis({ miners: 1, nowMs: Date.now(), startDelayMs: 2000, slotMs: 250, finality: 20, proofProfile: 'test' });
    const args = prepareDevnetNode({ dataDir: join(dir.path, 'node'), genesisJson: devnetGenesisJson(genesis), index: 0, miners: 1, rpcPort: 0, p2pPort: 0, bootstrap: [] });
    node = await startNodeProcess(args, 60_000);
    const url = node.rpcUrl;
    const keyFile = join(dir.path, 'owner.key');
    writeFileSync(keyFile, toHex(new Uint8Array(randomBytes(32))));
    const imported = await runCli(['wallet', 'import', '--key-file', keyFile, '--keystore', keystore, '--light-kdf', '--json'], ENV);
    const owner = (JSON.parse(imported.stdout) as { address: string }).address;
    const devNonce = await rpc<number>(url, 'bcr_getNonce', ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'pending']);
    await rpc(url, 'bcr_sendRawTransaction', [toHex(transferTx(DEV_KEY, devNonce, Uint8Array.from(Buffer.from(owner.slice(2), 'hex')), bcr(10), 1n, genesis.params.chainId))]);
    await waitFor('the owner funded', async () => BigInt((await rpc<{ balance: string }>(url, 'bcr_getBalance', [owner])).balance) > 0n, 30_000);
    const pendingFile = join(keystore, `miner-init--${owner.toLowerCase()}.json`);
    const ownedMiners = async () => (await rpc<{ miners: { miner: number; owner: string }[] }>(url, 'bcr_getPowerTable')).miners.filter((m) => m.owner.toLowerCase() === owner.toLowerCase());

    // Killed the moment the signed tx is on disk (before or while it is sent), then while it waits
    // for its receipt; each rerun picks the same registration up.
    const onDisk = () => existsSync(pendingFile);
    const first = await initKilled(url, owner, onDisk, 0);
    expect(first.killed).toBe(true);
    expect(existsSync(pendingFile)).toBe(true);
    const second = await initKilled(url, owner, (stderr) => stderr.includes('finishing the registration an earlier miner init started'), 150);
    expect(second.stderr).toContain('finishing the registration an earlier miner init started');
    // Finished by a last rerun unless the second run got to the end before its kill.
    const last = existsSync(pendingFile) ? await initKilled(url, owner, onDisk, null) : second;
    expect(existsSync(pendingFile)).toBe(false);
    const owned = await ownedMiners();
    expect(owned).toHaveLength(1);
    if (!last.killed) {
      expect(last.code, last.stderr).toBe(0);
      const result = JSON.parse(last.stdout) as { miner: number; vrfKey: string };
      expect(result.miner).toBe(owned[0]!.miner);
      expect((await rpc<{ vrfKey: string }>(url, 'bcr_getMiner', [result.miner])).vrfKey).toBe(result.vrfKey);
    }
  }, 240_000);
});
