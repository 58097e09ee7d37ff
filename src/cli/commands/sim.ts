import type { Command } from 'commander';
import { allocationVesting, isGoverned, parseGenesis, readGenesisJson } from '../../chain/index.js';
import { isValidActiveSlotCoeff, parseActiveSlotCoeff, type ActiveSlotCoefficient } from '../../consensus/index.js';
import { formatBcr, utf8 } from '../../primitives/index.js';
import { projectSupply, reportElection, sharesPlot, simulateElection, supplyPlot, type ElectionReport } from '../../sim/index.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { asUsage, runOptions, writeSimRun } from './simIo.js';
import { registerAttackSims } from './simAttacks.js';
import { registerStorageSims } from './simStorage.js';

interface ElectionFlags {
  out?: string;
  powers?: string;
  miners?: string;
  zipf: string;
  slots: string;
  f?: string;
  network: string;
  delay: string;
  seed: string;
  selfish?: string;
  json?: boolean;
}

function parseFraction(text: string): ActiveSlotCoefficient {
  const f = parseActiveSlotCoeff(text);
  if (!f || !isValidActiveSlotCoeff(f)) throw new UsageError(`--f must be a fraction in (0, 1/2] like 1/20, got "${text}"`);
  return f;
}

/** Explicit powers, or N miners with Zipf-distributed powers (rank r gets 10^6 / r^s). */
function minerPowers(flags: ElectionFlags): bigint[] {
  if (flags.miners !== undefined) {
    const count = parseIntOption(flags.miners, '--miners');
    const exponent = Number(flags.zipf);
    if (count < 1) throw new UsageError('--miners must be at least 1');
    if (!Number.isFinite(exponent) || exponent < 0) throw new UsageError(`--zipf must be a non-negative number, got "${flags.zipf}"`);
    return Array.from({ length: count }, (_, r) => BigInt(Math.max(1, Math.round(1e6 / (r + 1) ** exponent))));
  }
  const powers = (flags.powers ?? '1,2,5').split(',').map((p) => parseIntOption(p.trim(), '--powers'));
  if (powers.some((p) => p === 0)) throw new UsageError('--powers must all be positive');
  return powers.map(BigInt);
}

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;

function printReport(delay: number, report: ElectionReport, selfishMiner: number | undefined): void {
  console.log(`\ndelay ${delay} slot(s)`);
  console.log(`  empty slots          ${percent(report.emptyRate)} (theory ${percent(report.expectedEmptyRate)})`);
  console.log(`  contested slots      ${percent(report.multiWinnerRate)}`);
  console.log(`  blocks per slot      ${report.blocksPerSlot.toFixed(4)}`);
  console.log(`  chain growth / slot  ${report.chainGrowthPerSlot.toFixed(4)}`);
  console.log(`  orphaned blocks      ${percent(report.orphanRate)}`);
  console.log(`  chi-square vs odds   ${report.chiSquare.toFixed(2)} (p = 0.001 critical value ${report.chiSquareCritical.toFixed(2)})`);
  console.log('  miner  power share  expected share  blocks made  on chain');
  for (const s of report.shares.slice(0, 20)) {
    const mark = s.miner === selfishMiner ? '  selfish' : '';
    console.log(`  ${String(s.miner).padStart(5)}  ${percent(s.powerShare).padStart(11)}  ${percent(s.expectedShare).padStart(14)}  ${percent(s.wonShare).padStart(11)}  ${percent(s.canonicalShare).padStart(8)}${mark}`);
  }
  if (report.shares.length > 20) console.log(`  ... ${report.shares.length - 20} more miners (see --json)`);
}

export function registerSim(program: Command): void {
  const sim = program.command('sim').description('simulation suite on the pure consensus rules and the real state machine, in virtual time');
  registerStorageSims(sim);
  registerAttackSims(sim);
  runOptions(sim.command('election'))
    .description('slot lottery and fork choice with a network delay (honest miners, or one selfish): block shares, empty and contested slots, orphans')
    .option('--powers <list>', 'miner powers, comma-separated (default 1,2,5)')
    .option('--miners <n>', 'instead of --powers: n miners with Zipf-distributed powers')
    .option('--zipf <s>', 'Zipf exponent for --miners (0: equal powers)', '1')
    .option('--slots <n>', 'slots to simulate', '100000')
    .option('--f <a/b>', 'active slot coefficient (default: the network\'s)')
    .option('--network <name>', 'network whose active slot coefficient to use (like every scenario, mainnet by default)', 'mainnet')
    .option('--delay <list>', 'slots until a block reaches the other miners, comma-separated for a sweep', '1')
    .option('--selfish <miner>', 'this miner (an index into the powers) mines selfishly: withholds blocks, publishes to win races')
    .action(async (flags: ElectionFlags) => {
      const powers = minerPowers(flags);
      const slots = parseIntOption(flags.slots, '--slots');
      const f = flags.f ? parseFraction(flags.f) : parseGenesis(readGenesisJson(flags.network), 0).params.miners.activeSlotCoeff;
      const delays = flags.delay.split(',').map((d) => parseIntOption(d.trim(), '--delay'));
      if (delays.some((d) => d < 1)) throw new UsageError('--delay must be at least 1 (winners of the same slot never see each other)');
      const selfishMiner = flags.selfish === undefined ? undefined : parseIntOption(flags.selfish, '--selfish');
      if (selfishMiner !== undefined && selfishMiner >= powers.length) throw new UsageError(`--selfish must be a miner index below ${powers.length}`);
      const runs = delays.map((delaySlots) => {
        const result = asUsage(() => simulateElection({ powers, slots, f, delaySlots, seed: utf8(flags.seed), selfishMiner }));
        return { delaySlots, result, report: reportElection(result, f) };
      });
      if (flags.out) {
        const first = runs[0]!;
        await writeSimRun(flags.out, {
          name: 'election',
          params: { network: flags.network, f: `${f.numerator}/${f.denominator}`, slots, powers: powers.join(','), delays: delays.join(','), seed: flags.seed, selfish: selfishMiner ?? 'none' },
          summary: { runs: runs.map(({ delaySlots, report }) => ({ delaySlots, ...report })) },
          tables: { shares: runs.flatMap(({ delaySlots, report }) => report.shares.map((s) => ({ delaySlots, ...s }))) },
          plots: { shares: { title: `Share of blocks against share of power (delay ${first.delaySlots} slot(s))`, spec: sharesPlot(first.report.shares) } },
        });
      }
      if (flags.json) {
        printJson({ f: `${f.numerator}/${f.denominator}`, slots, powers, selfishMiner: selfishMiner ?? null, runs: runs.map(({ delaySlots, result, report }) => ({ delaySlots, ...report, blocks: result.blocks, chainLength: result.chainLength })) });
        return;
      }
      const strategy = selfishMiner === undefined ? 'all honest' : `miner ${selfishMiner} selfish`;
      console.log(`election simulation: ${powers.length} miners (${strategy}), ${slots} slots, f = ${f.numerator}/${f.denominator}, seed "${flags.seed}"`);
      for (const { delaySlots, report } of runs) printReport(delaySlots, report, selfishMiner);
    });

  sim
    .command('supply')
    .description('project the supply from genesis: minted by the schedule, vesting released, circulating, growth per year')
    .option('--network <name>', 'network profile (devnet, test, mainnet) or a genesis file path', 'mainnet')
    .option('--step-days <n>', 'days between rows', '90')
    .option('--years <n>', 'how far to project', '4')
    .option('--json', 'machine-readable output (amounts as decimal atto strings)')
    .option('--out <dir>', 'also write the run to DIR: JSON, CSV, SVG plots and a self-contained HTML report')
    .action(async (flags: { network: string; stepDays: string; years: string; json?: boolean; out?: string }) => {
      const { params, allocations } = parseGenesis(readGenesisJson(flags.network), 0);
      const slotsPerDay = Math.round(86_400_000 / params.slotMs);
      const stepSlots = parseIntOption(flags.stepDays, '--step-days') * slotsPerDay;
      const endSlot = parseIntOption(flags.years, '--years') * 365 * slotsPerDay;
      if (stepSlots < 1) throw new UsageError('--step-days must be at least 1');
      const supplyAllocations = allocations.map((a) => ({ label: a.label, balance: a.balance, governed: isGoverned(a), vesting: allocationVesting(a) }));
      const { points } = asUsage(() => projectSupply(supplyAllocations, params, stepSlots, endSlot));
      const rows = points.map((p, i) => {
        const previous = points[i - 1];
        // Annualised growth of the circulating supply over the step before this row (display only).
        const growth = previous && previous.circulating > 0n ? (Number(p.circulating - previous.circulating) / Number(previous.circulating)) * ((365 * slotsPerDay) / (p.slot - previous.slot)) : null;
        return { day: p.slot / slotsPerDay, ...p, circulatingGrowthPerYear: growth };
      });
      if (flags.out) {
        const whole = (x: bigint) => Number(x / 10n ** 18n);
        await writeSimRun(flags.out, {
          name: 'supply',
          params: { network: params.network, slotMs: params.slotMs, stepDays: flags.stepDays, years: flags.years },
          summary: { endDay: rows.at(-1)?.day ?? 0, minted: rows.at(-1)?.minted.toString() ?? '0', circulating: rows.at(-1)?.circulating.toString() ?? '0' },
          tables: { supply: rows.map((r) => ({ day: r.day, slot: r.slot, minted: r.minted.toString(), vestingLocked: r.vestingLocked.toString(), circulating: r.circulating.toString(), circulatingGrowthPerYear: r.circulatingGrowthPerYear })) },
          plots: { supply: { title: `Supply of ${params.network} (whole BCR)`, spec: supplyPlot(rows.map((r) => ({ day: r.day, minted: whole(r.minted), vestingLocked: whole(r.vestingLocked), circulating: whole(r.circulating) }))) } },
        });
      }
      if (flags.json) {
        printJson({ network: params.network, slotMs: params.slotMs, rows });
        return;
      }
      console.log(`supply projection of ${params.network} (BCR; circulating = total - foundation - vesting still locked; no burns or pledges)`);
      console.log('   day         minted   vesting locked       circulating   growth/yr');
      for (const r of rows) {
        const whole = (x: bigint) => formatBcr(x).split('.')[0]!;
        const growth = r.circulatingGrowthPerYear === null ? '' : `${(100 * r.circulatingGrowthPerYear).toFixed(1)}%`;
        console.log(`${String(r.day).padStart(6)}  ${whole(r.minted).padStart(13)}  ${whole(r.vestingLocked).padStart(15)}  ${whole(r.circulating).padStart(16)}  ${growth.padStart(10)}`);
      }
    });
}
