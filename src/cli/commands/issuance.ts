import type { Command } from 'commander';
import { parseGenesis, readGenesisJson } from '../../chain/index.js';
import { MINING_SUPPLY, issuanceSchedule, mintedAtSlot } from '../../consensus/index.js';
import { formatBcr } from '../../primitives/index.js';
import { parseIntOption, printJson } from '../io.js';

export function registerIssuance(program: Command): void {
  program
    .command('issuance')
    .description('print the mining issuance schedule per quarter and the cumulative total (atto and BCR)')
    .option('--network <name>', 'network profile (devnet, test, mainnet) or a genesis file path; devnet by default, as in every command', 'devnet')
    .option('--at-slot <n>', 'also print the total minted by this slot')
    .option('--json', 'machine-readable output (amounts as decimal atto strings)')
    .action((opts: { network: string; atSlot?: string; json?: boolean }) => {
      const genesis = parseGenesis(readGenesisJson(opts.network), 0);
      const params = genesis.params;
      const schedule = issuanceSchedule(params);
      const atSlot = opts.atSlot === undefined ? undefined : parseIntOption(opts.atSlot, '--at-slot');
      const final = schedule[schedule.length - 1]!.cumulative;
      if (opts.json) {
        printJson({
          network: params.network,
          slotMs: params.slotMs,
          slotsPerQuarter: params.slotsPerQuarter,
          miningSupply: MINING_SUPPLY.toString(),
          quarters: schedule.map((q) => ({ quarter: q.quarter, firstSlot: q.firstSlot, issued: q.issued.toString(), cumulative: q.cumulative.toString() })),
          cumulative: final.toString(),
          ...(atSlot !== undefined ? { atSlot, mintedAtSlot: mintedAtSlot(atSlot, params).toString() } : {}),
        });
        return;
      }
      console.log(`Issuance schedule of ${params.network} (${params.slotsPerQuarter} slots of ${params.slotMs} ms per quarter)`);
      console.log('quarter  first slot        issued (BCR)                 cumulative (BCR)');
      for (const q of schedule) {
        console.log(`${String(q.quarter).padStart(7)}  ${String(q.firstSlot).padStart(10)}  ${formatBcr(q.issued).padStart(28)}  ${formatBcr(q.cumulative).padStart(28)}`);
      }
      console.log(`total minted after 12 quarters: ${formatBcr(final)} BCR (${final} atto)`);
      if (atSlot !== undefined) console.log(`minted by slot ${atSlot}: ${formatBcr(mintedAtSlot(atSlot, params))} BCR`);
    });
}
