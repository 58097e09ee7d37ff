// A provider killed (SIGKILL) between a deal's publication and its sector's prove-commit loses
// nothing: on restart the sealing state is read back and the sector continues from its last stage,
// the deal becomes active, and no pre-commit deposit is burned. The node is killed right after the
// client's deal is published, and again while the deal's sector is pre-committed and waiting for its
// seed (when the restart has not already carried it past that stage).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { addressOf, toChecksumAddress, toHex } from '../../src/primitives/index.js';
import { DEV_KEY, tempDir } from '../helpers/chain.js';
import { logEntries, rpc, runCli, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-sealing-restart-');
const dataDir = join(dir.path, 'node');
// A long seed delay and prove-commit window: time to kill the node between pre-commit and prove-commit.
const genesis = devnetGenesis({ miners: 1, nowMs: Date.now(), startDelayMs: 3000, slotMs: 250, finality: 20, proofProfile: 'devnet', minerParams: { provingPeriod: 40, seedDelay: 40, maxProveCommitDelay: 300, powerLookback: 2, randomnessLookback: 2 } });
const args = prepareDevnetNode({ dataDir, genesisJson: devnetGenesisJson(genesis), index: 0, miners: 1, rpcPort: 0, p2pPort: 0, bootstrap: [] });
let node: RunningNode | null = null;
const ENV = { BCR_PASSWORD: 'pw' };
const keys = ['--keystore', join(dir.path, 'keys')];

afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const cli = async (rpcUrl: string, command: string[]) => {
  const result = await runCli(command[0] === 'wallet' && command[1] === 'import' ? command : [...command, '--rpc', rpcUrl], ENV);
  if (result.code !== 0) throw new Error(`bcr ${command.join(' ')} failed:\n${result.stderr}`);
  return result;
};

interface DealJson {
  deal: number;
  state: string;
  sector: number | null;
}

describe('a provider killed while sealing a deal', () => {
  it('resumes the sector after each SIGKILL: the deal becomes active and no deposit burns', async () => {
    node = await startNodeProcess(args, 60_000);
    let rpcUrl = node.rpcUrl;
    await cli(rpcUrl, ['miner', 'ask', 'set', '--price', '1024', '--min-piece', '256B', '--max-piece', '1MiB', '--collateral', '0', '--data-dir', dataDir]);
    await waitFor("miner 1's addresses on chain", async () => (await rpc<{ multiaddrs: string[] }>(rpcUrl, 'bcr_getMiner', [1])).multiaddrs.length > 0, 30_000, 250);
    writeFileSync(join(dir.path, 'client.key'), toHex(new Uint8Array(randomBytes(32))));
    const client = (JSON.parse((await cli(rpcUrl, ['wallet', 'import', '--key-file', join(dir.path, 'client.key'), ...keys, '--light-kdf', '--json'])).stdout) as { address: string }).address;
    writeFileSync(join(dir.path, 'dev.key'), toHex(DEV_KEY));
    await cli(rpcUrl, ['wallet', 'import', '--key-file', join(dir.path, 'dev.key'), ...keys, '--light-kdf']);
    await cli(rpcUrl, ['wallet', 'send', '--from', toChecksumAddress(addressOf(DEV_KEY)), '--to', client, '--amount', '1', ...keys, '--wait']);
    await cli(rpcUrl, ['client', 'escrow', 'add', '--from', client, '--amount', '0.01', ...keys]);
    writeFileSync(join(dir.path, 'file.bin'), new Uint8Array(randomBytes(300_000)));
    // Returns once the deal is published on chain.
    await cli(rpcUrl, ['client', 'deal', join(dir.path, 'file.bin'), '--miner', '1', '--duration', '2000', '--start-in', '800', '--from', client, ...keys]);
    const deals = () => rpc<DealJson[]>(rpcUrl, 'bcr_listDeals', [{ client }]);
    expect((await deals()).map((d) => d.state)).toEqual(['published']);

    // Kill 1: the deal is published; its piece is packed or being sealed, not proven.
    await stopProcess(node, 'SIGKILL');
    node = await startNodeProcess(args, 60_000);
    rpcUrl = node.rpcUrl;
    const firstRun = node;
    await waitFor('the sealing state restored', async () => logEntries(firstRun, 'Sealing state restored').length > 0, 30_000, 100);

    // Kill 2: while its sector is pre-committed on chain (the seed delay still to run), if the
    // restart did not already carry it past that stage.
    const sectors = () => rpc<{ sector: number; state: string }[]>(rpcUrl, 'bcr_getSectors', [1]);
    const stage = await waitFor('the deal sector pre-committed (or active)', async () => {
      if ((await deals()).some((d) => d.state === 'active')) return 'active';
      return (await sectors()).some((x) => x.state === 'precommitted') ? 'precommitted' : null;
    }, 180_000, 100);
    const runs = [firstRun];
    if (stage === 'precommitted') {
      await stopProcess(node, 'SIGKILL');
      node = await startNodeProcess(args, 60_000);
      rpcUrl = node.rpcUrl;
      const secondRun = node;
      runs.push(secondRun);
      await waitFor('the sealing state restored again', async () => logEntries(secondRun, 'Sealing state restored').length > 0, 30_000, 100);
    }

    const active = await waitFor('the deal active', async () => (await deals()).find((d) => d.state === 'active'), 180_000, 250);
    expect((await sectors()).find((x) => x.sector === active.sector)?.state).toBe('active');
    // Nothing expired or failed on the way.
    for (const run of runs) {
      expect(logEntries(run, 'Pre-commit expired')).toEqual([]);
      expect(logEntries(run, 'Sealing failed')).toEqual([]);
    }
  }, 480_000);
});
