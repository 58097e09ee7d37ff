// A fresh multi-miner devnet genesis: the devnet template with its start time set to now and
// several genesis miners of different power, each pre-sealed from a public seed (so every node can
// regenerate its sectors). Used by `bcr devnet` and the multi-node tests. DEVNET ONLY.
import { genesisSealRandomness, genesisToJson, parseGenesis, readGenesisJson, zeroCommD, type Genesis } from './chain/index.js';
import { mkdirSync } from 'node:fs';
import { writeFileDurableSync } from './util/durableFile.js';
import { join } from 'node:path';
import { vrfPublicKey } from './consensus/index.js';
import { DEV_PRIVATE_KEY, devVrfSecret } from './node.js';
import { addressOf, bcr, fromHex, toHex } from './primitives/index.js';
import { PROOF_PROFILES, replicaIdOf, sealInMemory, type ProofProfileName } from './proofs/index.js';

/** Worker keys of the devnet's genesis miners (Hardhat/Anvil accounts #3-#7). DEVNET ONLY. */
export const DEVNET_WORKER_KEYS = [
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
];
/** Keys of the devnet and test foundation council (Hardhat/Anvil accounts #8-#10), 2-of-3. DEVNET AND TEST ONLY. */
export const DEVNET_COUNCIL_KEYS = [
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
  '0xf214f2b2cd398c806f84e317254e0f0b801d0643303237d97a22a48e01628897',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
];
/** Free collateral each devnet genesis miner starts with (from its worker's 1,000 BCR), so faults and slashes cost it. */
export const DEVNET_MINER_COLLATERAL = bcr(100);
/** Sectors per genesis miner: powers 1:2:5 (then 3 and 4). */
export const DEVNET_SECTORS = [1, 2, 5, 3, 4];

export interface DevnetGenesisOptions {
  /** Genesis miners (1..5), with powers 1:2:5:3:4 sectors. */
  miners: number;
  nowMs: number;
  /** Start this long after now, so every node is up for slot 1. */
  startDelayMs?: number;
  slotMs?: number;
  finality?: number;
  proofProfile?: ProofProfileName;
  /** Makes the miners' seeds (and so the chain) unique. */
  tag?: string;
  /** Owner addresses of the genesis miners by index (default: each miner's worker owns it). */
  owners?: string[];
  /** Overrides of the miner parameters (proving period, deadlines, fault limits...). */
  minerParams?: Record<string, number | string>;
  /** Notice delay of the foundation council, in slots (default: the devnet genesis's). */
  noticeSlots?: number;
  /** Genesis sectors per miner by index (default DEVNET_SECTORS). */
  sectors?: number[];
}

export function devnetGenesis(options: DevnetGenesisOptions): Genesis {
  const miners = options.miners;
  if (miners < 1 || miners > DEVNET_WORKER_KEYS.length) throw new Error(`a devnet has 1..${DEVNET_WORKER_KEYS.length} genesis miners`);
  const template = readGenesisJson('devnet') as {
    genesisTime: unknown;
    params: { slotMs: number; finality: number; miners: Record<string, unknown> & { proofProfile: string } };
    allocations: { label: string; address: string; balance: string }[];
    miners: { owner: string; worker: string; vrfKey: string; seed: string; sectors: { commR: string }[]; collateral: string }[];
    governance: { signers: string[]; threshold: number; noticeSlots: number };
  };
  if (options.noticeSlots) template.governance.noticeSlots = options.noticeSlots;
  if (options.slotMs) template.params.slotMs = options.slotMs;
  if (options.finality) template.params.finality = options.finality;
  if (options.proofProfile) template.params.miners.proofProfile = options.proofProfile;
  Object.assign(template.params.miners, options.minerParams ?? {});
  const tech = template.allocations.find((a) => a.label === 'tech' && a.address.toLowerCase() === toHex(addressOf(fromHex(DEV_PRIVATE_KEY))))!;
  const perWorker = bcr(1_000);
  const owners = options.owners?.slice(0, miners) ?? [];
  tech.balance = (BigInt(tech.balance) - perWorker * BigInt(miners + owners.length)).toString();
  // A separate owner gets its own allocation: it pays the genesis pledge and collateral.
  for (const owner of owners) template.allocations.push({ label: 'tech', address: owner, balance: perWorker.toString() });
  const profile = PROOF_PROFILES[(options.proofProfile ?? template.params.miners.proofProfile) as ProofProfileName];
  const commD = zeroCommD(profile.sectorSize);
  template.miners = [];
  for (let i = 0; i < miners; i++) {
    const worker = toHex(addressOf(fromHex(DEVNET_WORKER_KEYS[i]!)));
    template.allocations.push({ label: 'tech', address: worker, balance: perWorker.toString() });
    const seed = `bcr-devnet-${options.tag ?? options.nowMs}-miner-${i + 1}`;
    const sectors = [];
    for (let n = 0; n < (options.sectors ?? DEVNET_SECTORS)[i]!; n++) {
      const replicaId = replicaIdOf(i + 1, n, genesisSealRandomness(seed, n), commD);
      sectors.push({ commR: toHex(sealInMemory(profile, replicaId, new Uint8Array(profile.sectorSize)).commR) });
    }
    template.miners.push({ owner: options.owners?.[i] ?? worker, worker, vrfKey: toHex(vrfPublicKey(devVrfSecret(seed))), seed, sectors, collateral: DEVNET_MINER_COLLATERAL.toString() });
  }
  template.genesisTime = options.nowMs + (options.startDelayMs ?? 2000);
  return parseGenesis(template);
}

export function devnetGenesisJson(genesis: Genesis): string {
  return JSON.stringify(genesisToJson(genesis), null, 2) + '\n';
}

export interface DevnetNodeOptions {
  dataDir: string;
  genesisJson: string;
  /** Node index: nodes below `miners` run genesis miner index + 1. */
  index: number;
  miners: number;
  rpcPort: number;
  p2pPort: number;
  bootstrap: string[];
}

/** Prepares a devnet node's data dir (genesis, and a miner's worker key) and returns its `bcr node` flags. */
export function prepareDevnetNode(options: DevnetNodeOptions): string[] {
  const { dataDir, index } = options;
  mkdirSync(dataDir, { recursive: true });
  writeFileDurableSync(join(dataDir, 'genesis.json'), options.genesisJson);
  const args = ['--network', 'devnet', '--data-dir', dataDir, '--rpc-port', String(options.rpcPort), '--p2p-port', String(options.p2pPort)];
  if (options.bootstrap.length) args.push('--bootstrap', options.bootstrap.join(','));
  if (index < options.miners) {
    const keyFile = join(dataDir, 'worker.key');
    writeFileDurableSync(keyFile, DEVNET_WORKER_KEYS[index]!);
    args.push('--worker-key-file', keyFile);
  } else args.push('--no-mine');
  return args;
}
