import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { buildGenesis, devVrfSecret, isGoverned, genesisSealRandomness, parseGenesis, readGenesisJson, zeroCommD } from '../../chain/index.js';
import { vrfPublicKey } from '../../consensus/index.js';
import { PROOF_PROFILES, replicaIdOf, sealInMemory } from '../../proofs/index.js';
import { MINING_SUPPLY } from '../../consensus/index.js';
import { MemoryKv } from '../../state/index.js';
import { formatBcr, generatePrivateKey, parseAddress, parseBcr, toChecksumAddress, toHex } from '../../primitives/index.js';
import { defaultKeystoreDir, saveKeystore, saveVrfKeystore } from '../../wallet/index.js';
import { UsageError, parseIntOption, printJson, readPassword } from '../io.js';

export function registerGenesis(program: Command): void {
  const genesis = program.command('genesis').description('inspect genesis files and pre-seal genesis miners');
  genesis
    .command('inspect')
    .description('print a network\'s allocations, vesting, schedule parameters and genesis state root')
    .option('--network <name>', 'network profile (devnet, test, mainnet) or a genesis file path; devnet by default, as in every command', 'devnet')
    .option('--json', 'machine-readable output')
    .action(async (opts: { network: string; json?: boolean }) => {
      const g = parseGenesis(readGenesisJson(opts.network), 0);
      const { block, id } = await buildGenesis(g, new MemoryKv());
      const p = g.params;
      const allocations = g.allocations.map((a) => ({
        label: a.label,
        address: toChecksumAddress(a.address),
        governed: isGoverned(a),
        balance: a.balance.toString(),
        vesting: a.vesting,
      }));
      const info = {
        network: p.network,
        chainId: p.chainId,
        genesisTime: g.autoTime ? 'auto (fixed when a node first starts)' : new Date(p.genesisTime).toISOString(),
        params: { ...p, minGasPrice: p.minGasPrice.toString() },
        allocations,
        miningSupply: MINING_SUPPLY.toString(),
        miners: g.miners.map((m, i) => ({ id: i + 1, owner: toChecksumAddress(m.owner), worker: toChecksumAddress(m.worker), sectors: m.sectors.length })),
        stateRoot: toHex(block.header.stateRoot),
        genesisId: g.autoTime ? 'depends on the start time' : toHex(id),
      };
      if (opts.json) return printJson(info);
      console.log(`Network ${p.network} (chain id ${p.chainId}), genesis time ${info.genesisTime}`);
      console.log(`slots of ${p.slotMs} ms, ${p.slotsPerQuarter} slots per quarter, finality ${p.finality} blocks`);
      for (const a of allocations) {
        const vest = a.vesting ? `, vesting: cliff ${a.vesting.cliffSlots} slots, linear over ${a.vesting.durationSlots} slots` : '';
        console.log(`  ${a.label.padEnd(10)} ${a.address} ${formatBcr(BigInt(a.balance)).padStart(12)} BCR${a.governed ? ' (governed: spent only by foundation resolution)' : ''}${vest}`);
      }
      console.log(`  mining     (unminted)                                 ${formatBcr(MINING_SUPPLY).padStart(12)} BCR, issued by the curve`);
      for (const m of info.miners) console.log(`genesis miner ${m.id}: owner ${m.owner}, worker ${m.worker}, ${m.sectors} pre-sealed sectors`);
      console.log(`genesis state root ${info.stateRoot}`);
    });

  genesis
    .command('preseal')
    .description('seal a genesis miner\'s committed-capacity sectors and print its genesis entry; its VRF key (and a new worker key) go into a keystore')
    .requiredOption('--network <name>', 'network profile (sets the sector size)')
    .requiredOption('--seed <text>', 'seed of the sectors\' seal randomness (public: it is printed in the genesis file)')
    .requiredOption('--sectors <n>', 'number of sectors')
    .requiredOption('--miner-id <n>', 'the miner id this entry will get (its position in the miners list, from 1)')
    .requiredOption('--owner <address>', 'owner address (its genesis allocation pays the sectors\' pledge and the collateral)')
    .option('--worker <address>', 'worker address (default: a new worker key, written to the keystore)')
    .option('--collateral <bcr>', 'free collateral the miner starts with, in BCR', '0')
    .option('--keystore <dir>', 'where the VRF secret (and a new worker key) are written, encrypted (env BCR_KEYSTORE)', defaultKeystoreDir())
    .option('--password-file <file>', 'read the keystore password from a file (else env BCR_PASSWORD, else a prompt)')
    .option('--light-kdf', 'cheap key encryption (tests only)')
    .option('--dev-vrf-key', 'use the well-known development VRF key of the seed instead (DEVNET AND TEST ONLY: anyone can compute it)')
    .action(async (opts: { network: string; seed: string; sectors: string; minerId: string; owner: string; worker?: string; collateral: string; keystore: string; passwordFile?: string; lightKdf?: boolean; devVrfKey?: boolean }) => {
      const g = parseGenesis(readGenesisJson(opts.network), 0);
      if (opts.devVrfKey && g.params.network === 'mainnet') throw new UsageError('--dev-vrf-key is for devnet and test only: a mainnet VRF key must be secret');
      const params = PROOF_PROFILES[g.params.miners.proofProfile];
      const minerId = parseIntOption(opts.minerId, '--miner-id');
      const commD = zeroCommD(params.sectorSize);
      const sectors = [];
      for (let n = 0; n < parseIntOption(opts.sectors, '--sectors'); n++) {
        const replicaId = replicaIdOf(minerId, n, genesisSealRandomness(opts.seed, n), commD);
        sectors.push({ commR: toHex(sealInMemory(params, replicaId, new Uint8Array(params.sectorSize)).commR) });
        process.stderr.write(`sealed sector ${n}\n`);
      }
      const needsKeystore = !opts.devVrfKey || !opts.worker;
      const password = needsKeystore ? await readPassword(opts.passwordFile, 'Password for the miner\'s keys: ') : '';
      const scryptN = opts.lightKdf ? 4096 : undefined;
      let vrfKey: Uint8Array;
      if (opts.devVrfKey) vrfKey = vrfPublicKey(devVrfSecret(opts.seed));
      else {
        // A secret from the operating system's CSPRNG: nothing public derives it.
        const secret = new Uint8Array(randomBytes(32));
        vrfKey = vrfPublicKey(secret);
        process.stderr.write(`VRF secret written to ${saveVrfKeystore(opts.keystore, secret, password, scryptN).file}\n`);
      }
      let worker = opts.worker ? parseAddress(opts.worker) : null;
      if (!worker) {
        const entry = saveKeystore(opts.keystore, generatePrivateKey(), password, scryptN);
        worker = parseAddress(entry.address);
        process.stderr.write(`worker key written to ${entry.file}\n`);
      }
      const collateral = parseBcr(opts.collateral);
      printJson({ owner: toChecksumAddress(parseAddress(opts.owner)), worker: toChecksumAddress(worker), vrfKey: toHex(vrfKey), seed: opts.seed, sectors, ...(collateral > 0n ? { collateral: collateral.toString() } : {}) });
    });
}
