import type { Command } from 'commander';
import { buildGenesis, isGoverned, genesisSealRandomness, parseGenesis, readGenesisJson, zeroCommD } from '../../chain/index.js';
import { vrfPublicKey } from '../../consensus/index.js';
import { devVrfSecret } from '../../node.js';
import { PROOF_PROFILES, replicaIdOf, sealInMemory } from '../../proofs/index.js';
import { MINING_SUPPLY } from '../../consensus/index.js';
import { MemoryKv } from '../../state/index.js';
import { formatBcr, parseAddress, toChecksumAddress, toHex } from '../../primitives/index.js';
import { parseIntOption, printJson } from '../io.js';

export function registerGenesis(program: Command): void {
  const genesis = program.command('genesis').description('inspect genesis files');
  genesis
    .command('inspect')
    .description('print a network\'s allocations, vesting, schedule parameters and genesis state root')
    .option('--network <name>', 'network profile or genesis file path', 'mainnet')
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
    .description('seal a genesis miner\'s committed-capacity sectors from a seed and print its genesis entry (DEV SEEDS ARE PUBLIC: devnet/test only)')
    .requiredOption('--network <name>', 'network profile (sets the sector size)')
    .requiredOption('--seed <text>', 'seed of the sectors and of the (devnet) VRF key')
    .requiredOption('--sectors <n>', 'number of sectors')
    .requiredOption('--miner-id <n>', 'the miner id this entry will get (its position in the miners list, from 1)')
    .requiredOption('--owner <address>', 'owner address')
    .requiredOption('--worker <address>', 'worker address')
    .action((opts: { network: string; seed: string; sectors: string; minerId: string; owner: string; worker: string }) => {
      const g = parseGenesis(readGenesisJson(opts.network), 0);
      const params = PROOF_PROFILES[g.params.miners.proofProfile];
      const minerId = parseIntOption(opts.minerId, '--miner-id');
      const commD = zeroCommD(params.sectorSize);
      const sectors = [];
      for (let n = 0; n < parseIntOption(opts.sectors, '--sectors'); n++) {
        const replicaId = replicaIdOf(minerId, n, genesisSealRandomness(opts.seed, n), commD);
        sectors.push({ commR: toHex(sealInMemory(params, replicaId, new Uint8Array(params.sectorSize)).commR) });
        process.stderr.write(`sealed sector ${n}\n`);
      }
      printJson({ owner: toChecksumAddress(parseAddress(opts.owner)), worker: toChecksumAddress(parseAddress(opts.worker)), vrfKey: toHex(vrfPublicKey(devVrfSecret(opts.seed))), seed: opts.seed, sectors });
    });
}
