// A devnet miner (a real `bcr node` process, 1 MiB sectors on disk) whose disk corrupts one replica
// of a two-sector partition: its next WindowPoSt proves the other sector and skips the bad one,
// which turns faulty and pays the fault fee; power drops by exactly one sector and stays there
// (the bad replica is never declared recovering), while the good sector keeps being proven.
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devnetGenesis, devnetGenesisJson, prepareDevnetNode } from '../../src/devnet.js';
import { tempDir } from '../helpers/chain.js';
import { logEntries, rpc, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-skipped-');
let node: RunningNode | null = null;
afterAll(async () => {
  if (node) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

const SECTOR = 1n << 20n;
const PERIOD = 24;
// One miner with 4 sectors over 2 deadlines (12-slot windows): deadline 0 proves sectors 0 and 2 in one partition.
const genesis = devnetGenesis({ miners: 1, sectors: [4], nowMs: Date.now(), startDelayMs: 3000, slotMs: 500, proofProfile: 'devnet', tag: 'skipped', minerParams: { provingPeriod: PERIOD, deadlines: 2, powerLookback: 2, randomnessLookback: 2 } });

const SKIP_MSG = 'Skipping sectors whose replicas cannot be proven: they turn faulty, the rest of the partition stays proven';
type MinerJson = { power: string; collateral: string };
type SectorJson = { sector: number; state: string; faultyPeriods: number };
type Head = { slot: number };

describe('WindowPoSt with a corrupt replica', () => {
  it('proves the rest of the partition, skips the bad sector, and power drops by exactly one sector', async () => {
    const dataDir = join(dir.path, 'node');
    node = await startNodeProcess(prepareDevnetNode({ dataDir, genesisJson: devnetGenesisJson(genesis), index: 0, miners: 1, rpcPort: 0, p2pPort: 0, bootstrap: [] }), 60_000);
    const url = node.rpcUrl;
    await waitFor('mining started', async () => logEntries(node!, 'Mining started').length > 0, 60_000);
    const replica = join(dataDir, 'miner', 'sectors', '2', 'replica.bin');
    expect(existsSync(replica)).toBe(true);
    const full = 4n * SECTOR;
    // Steady state first: past the first deadline-0 window that owes a proof, every sector proven and active (the node may have
    // started after genesis and missed early windows; it recovers those on its own).
    await waitFor('a proving period with every sector proven', async () => {
      const miner = await rpc<MinerJson & { sectors: { active: number } }>(url, 'bcr_getMiner', [1]);
      return BigInt(miner.power) === full && miner.sectors.active === 4 && (await rpc<Head>(url, 'bcr_chainHead')).slot >= PERIOD + PERIOD / 2 + 2;
    }, 120_000, 200);
    const collateral = BigInt((await rpc<MinerJson>(url, 'bcr_getMiner', [1])).collateral);

    // The disk returns garbage for sector 2 from now on. (Recoveries logged before this, of windows
    // missed while the node started, do not count.)
    const recoveriesBefore = logEntries(node, 'Declared faulty sectors recovering').length;
    writeFileSync(replica, randomBytes(statSync(replica).size));

    const sectors = async () => new Map((await rpc<SectorJson[]>(url, 'bcr_getSectors', [1])).map((s) => [s.sector, s]));
    const skip = await waitFor('the miner skipping sector 2', async () => logEntries(node!, SKIP_MSG)[0], 90_000, 200);
    await waitFor('sector 2 faulty', async () => (await sectors()).get(2)!.state === 'faulty', 60_000, 200);
    const skippedAt = (await rpc<Head>(url, 'bcr_chainHead')).slot;
    expect(skip).toMatchObject({ deadline: 0, partition: 0, skipped: [{ sector: 2, reason: expect.stringMatching(/does not verify|no longer matches/) }] });
    const submitted = logEntries<{ skipped: number }>(node, 'Submitted WindowPoSt').find((e) => e.skipped === 1);
    expect(submitted).toMatchObject({ deadline: 0, sectors: 1, skipped: 1 });
    expect(BigInt((await rpc<MinerJson>(url, 'bcr_getMiner', [1])).power)).toBe(full - SECTOR);

    // A whole proving period later the miner still holds exactly three sectors' power, the other
    // sectors all active (had the busy machine made one miss a window, it recovers; wait for that).
    await waitFor('a proving period after the skip, three sectors proven', async () => {
      const miner = await rpc<MinerJson & { sectors: { active: number; faulty: number } }>(url, 'bcr_getMiner', [1]);
      const slot = (await rpc<Head>(url, 'bcr_chainHead')).slot;
      return slot > skippedAt + PERIOD + 2 && BigInt(miner.power) === full - SECTOR && miner.sectors.active === 3 && miner.sectors.faulty === 1;
    }, 90_000, 200);
    const after = await sectors();
    expect([0, 1, 3].map((n) => after.get(n)!.state)).toEqual(['active', 'active', 'active']);
    expect(after.get(2)!).toMatchObject({ state: 'faulty' });
    // Sector 2 paid one fault fee per faulty period (read until a window close does not fall between
    // the two reads); only fault fees were taken.
    const faultFee = BigInt(genesis.params.miners.faultFee);
    const fees = await waitFor('consistent reads of fees and faulty periods', async () => {
      const paid = collateral - BigInt((await rpc<MinerJson>(url, 'bcr_getMiner', [1])).collateral);
      const periods = (await sectors()).get(2)!.faultyPeriods;
      return paid % faultFee === 0n && paid >= faultFee * BigInt(periods) && paid <= faultFee * BigInt(periods + 1) ? periods : null;
    }, 30_000, 50);
    expect(fees).toBeGreaterThanOrEqual(1);
    // (On a busy machine another sector may miss a window and recover; sector 2 never does.)
    expect(logEntries<{ sectors: number[] }>(node, 'Declared faulty sectors recovering').slice(recoveriesBefore).filter((e) => e.sectors.includes(2))).toEqual([]);
    expect(logEntries(node, 'Faulty sector not declared recovering: its replica still fails a fresh challenge')).toMatchObject([{ sector: 2 }]);
  }, 300_000);
});
