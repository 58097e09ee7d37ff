import type { Command } from 'commander';
import { FOUNDATION_ADDRESS, buildGenesis, parseGenesis, readGenesisJson } from '../../chain/index.js';
import { MINING_SUPPLY } from '../../consensus/index.js';
import { MemoryKv } from '../../state/index.js';
import { bytesEqual, formatBcr, toChecksumAddress, toHex } from '../../primitives/index.js';
import { printJson } from '../io.js';

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
        governed: bytesEqual(a.address, FOUNDATION_ADDRESS),
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
        authorities: g.authorities.map(toChecksumAddress),
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
      console.log(`block producers: ${info.authorities.join(', ')}`);
      console.log(`genesis state root ${info.stateRoot}`);
    });
}
