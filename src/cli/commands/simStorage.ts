// `bcr sim storage` and `bcr sim economics`: miners on the real state machine over years of a
// network's slots (mainnet by default), with reports, plots and multi-seed confidence intervals.
import type { Command } from 'commander';
import { formatBcr, bcr, systemAddress } from '../../primitives/index.js';
import { councilSpending, economicsCohorts, groupedBarsPlot, linesPlot, meanCi, runStorageSim, storagePopulation, type FaultModel, type MinerPlan, type StorageSimResult } from '../../sim/index.js';
import type { Row, SimRun } from '../../sim/output.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { asUsage, runOptions, writeSimRun } from './simIo.js';
import { simGenesis } from './simGenesis.js';

interface CommonFlags {
  network: string;
  years: string;
  days?: string;
  seed: string;
  seeds: string;
  step?: string;
  faultPpm: string;
  repairDays: string;
  permanent: string;
  out?: string;
  json?: boolean;
}

const whole = (atto: bigint) => Number(atto / 10n ** 18n);

function commonOptions(command: Command): Command {
  return runOptions(command)
    .option('--network <name>', 'network profile or genesis file (its economics; proofs run at the test size)', 'mainnet')
    .option('--years <n>', 'years of slots to simulate', '3')
    .option('--days <n>', 'days instead of --years (short runs)')
    .option('--seeds <n>', 'run this many seeds (seed, seed-1, ...) and report means with 95% confidence intervals', '1')
    .option('--step <slots>', 'slots per executed block (default: one deadline window)')
    .option('--fault-ppm <n>', 'chance per sector per day that its disk fails, parts per million', '500')
    .option('--repair-days <n>', 'days to repair a failed disk before declaring the recovery', '2')
    .option('--permanent <percent>', 'percent of failures that lose the sector for good', '10')
;
}

interface Setup {
  genesis: Awaited<ReturnType<typeof simGenesis>>;
  days: number;
  stepSlots: number;
  faults: FaultModel;
  seeds: string[];
}

async function setup(flags: CommonFlags): Promise<Setup> {
  const genesis = await simGenesis(flags.network);
  const slotsPerDay = Math.round(86_400_000 / genesis.params.slotMs);
  const days = flags.days !== undefined ? parseIntOption(flags.days, '--days') : parseIntOption(flags.years, '--years') * 365;
  if (days < 1) throw new UsageError('simulate at least one day');
  const width = Math.floor(genesis.params.miners.provingPeriod / genesis.params.miners.deadlines);
  const stepSlots = flags.step !== undefined ? parseIntOption(flags.step, '--step') : width;
  if (stepSlots < 1 || stepSlots > width || slotsPerDay % stepSlots !== 0) throw new UsageError(`--step must divide the ${slotsPerDay} slots of a day and be 1..${width} (one deadline window)`);
  const seedCount = parseIntOption(flags.seeds, '--seeds');
  if (seedCount < 1) throw new UsageError('--seeds must be at least 1');
  const faults = { faultPpmPerDay: parseIntOption(flags.faultPpm, '--fault-ppm'), repairDays: parseIntOption(flags.repairDays, '--repair-days'), permanentPercent: parseIntOption(flags.permanent, '--permanent') };
  if (faults.faultPpmPerDay > 1_000_000 || faults.permanentPercent > 100) throw new UsageError('--fault-ppm is at most 1000000 and --permanent at most 100');
  return { genesis, days, stepSlots, faults, seeds: Array.from({ length: seedCount }, (_, i) => (i === 0 ? flags.seed : `${flags.seed}-${i}`)) };
}

/** Runs one seed with progress lines on stderr; returns the result and what it cost. */
async function measured(label: string, run: (onDay: (day: number) => void) => Promise<StorageSimResult>, days: number, quiet: boolean): Promise<{ result: StorageSimResult; wallSeconds: number; peakRssMiB: number }> {
  const started = performance.now();
  let peakRss = process.memoryUsage().rss;
  const onDay = (day: number) => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (!quiet && day > 0 && (day % 30 === 0 || day === days)) process.stderr.write(`${label}: day ${day}/${days}, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  };
  const result = await run(onDay);
  return { result, wallSeconds: (performance.now() - started) / 1000, peakRssMiB: Math.round(peakRss / 2 ** 20) };
}

function sharesRows(result: StorageSimResult): Row[] {
  return result.miners.flatMap((m) => [
    { miner: `miner ${m.miner}`, measure: 'power', share: m.powerShare },
    { miner: `miner ${m.miner}`, measure: 'blocks', share: m.blockShare },
    { miner: `miner ${m.miner}`, measure: 'rewards', share: m.rewardShare },
  ]);
}

function supplyRows(result: StorageSimResult): Row[] {
  return result.supply.flatMap((s) => [
    { day: s.day, series: 'circulating', bcr: whole(s.circulating) },
    { day: s.day, series: 'minted', bcr: whole(s.minted) },
    { day: s.day, series: 'foundation reserve', bcr: whole(s.foundation) },
    { day: s.day, series: 'collateral and pledge locked', bcr: whole(s.collateral + s.pledge) },
    { day: s.day, series: 'burned', bcr: whole(s.burned) },
  ]);
}

const bigintsToText = (rows: object[]): Row[] => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : (v as Row[string])])));

function runSummary(result: StorageSimResult, cost: { wallSeconds: number; peakRssMiB: number }) {
  const worstConservation = result.supply.reduce((worst, s) => (s.conservationError < 0n ? -s.conservationError : s.conservationError) > worst ? (s.conservationError < 0n ? -s.conservationError : s.conservationError) : worst, 0n);
  return {
    days: result.days,
    slots: result.slots,
    steps: result.steps,
    blocks: result.blocks,
    txs: result.txs,
    failedTxs: result.failedTxs,
    rejectedTxs: result.rejectedTxs,
    supplyConserved: worstConservation === 0n,
    wallSeconds: Number(cost.wallSeconds.toFixed(1)),
    slotsPerSecond: Math.round(result.slots / cost.wallSeconds),
    peakRssMiB: cost.peakRssMiB,
  };
}

export function registerStorageSims(sim: Command): void {
  commonOptions(sim.command('storage').description('miners join, seal, fault, recover and exit on the real state machine: power vs block vs reward share'))
    .option('--miners <n>', 'miners (half at genesis, the rest joining over the first year)', '20')
    .option('--largest <n>', 'sectors of the largest miner (miner r keeps largest / (r+1)^0.7, at least 4)', '60')
    .action(async (flags: CommonFlags & { miners: string; largest: string }) => {
      const s = await setup(flags);
      const plans = storagePopulation(parseIntOption(flags.miners, '--miners'), parseIntOption(flags.largest, '--largest'), s.days);
      if (plans.length === 0) throw new UsageError('--miners must be at least 1');
      const runs: Awaited<ReturnType<typeof measured>>[] = [];
      for (const seed of s.seeds) runs.push(await measured(`storage ${seed}`, (onDay) => asUsage(() => runStorageSim({ genesis: s.genesis, miners: plans, faults: s.faults, days: s.days, stepSlots: s.stepSlots, seed, onDay })), s.days, flags.json === true));
      const first = runs[0]!;
      const gap = (r: StorageSimResult, key: 'blockShare' | 'rewardShare') => Math.max(...r.miners.map((m) => Math.abs(m[key] - m.powerShare)));
      const summary = {
        ...runSummary(first.result, first),
        seeds: s.seeds.length,
        maxBlockShareGap: meanCi(runs.map((r) => gap(r.result, 'blockShare'))),
        maxRewardShareGap: meanCi(runs.map((r) => gap(r.result, 'rewardShare'))),
        genesisHalfRewardShare: meanCi(runs.map((r) => r.result.miners.filter((m) => m.joinDay === 0).reduce((sum, m) => sum + m.rewardShare, 0))),
        genesisHalfPowerShare: meanCi(runs.map((r) => r.result.miners.filter((m) => m.joinDay === 0).reduce((sum, m) => sum + m.powerShare, 0))),
      };
      const params = { network: flags.network, days: s.days, stepSlots: s.stepSlots, seed: flags.seed, seeds: s.seeds.length, miners: plans.length, largest: flags.largest, faultPpm: s.faults.faultPpmPerDay, repairDays: s.faults.repairDays, permanentPercent: s.faults.permanentPercent };
      if (flags.out) {
        const run: SimRun = {
          name: 'storage',
          params,
          summary,
          tables: { miners: bigintsToText(first.result.miners), daily: bigintsToText(first.result.daily), supply: bigintsToText(first.result.supply) },
          plots: {
            shares: { title: 'Each miner: share of power (time-averaged), of blocks, and of rewards', spec: groupedBarsPlot(sharesRows(first.result), { category: 'miner', measure: 'measure', y: 'share', yTitle: 'share', yFormat: '%' }) },
            sectors: { title: 'Proven sectors per miner by day', spec: linesPlot(first.result.daily.map((d) => ({ day: d.day, miner: `miner ${d.miner}`, sectors: d.sectors })), { x: 'day', y: 'sectors', series: 'miner', xTitle: 'day', yTitle: 'proven sectors' }) },
          },
        };
        await writeSimRun(flags.out, run);
      }
      if (flags.json) return printJson({ params, summary, miners: bigintsToText(first.result.miners) });
      printStorage(params, summary, first.result);
    });

  commonOptions(sim.command('economics').description('returns under the quarterly halving by when miners join, locked vs circulating supply, fees burned, the reserve under a spending schedule, early exits'))
    .option('--per-cohort <n>', 'miners per cohort', '4')
    .option('--sectors <n>', 'sectors per miner', '20')
    .option('--spend <bcr>', 'BCR the council pays from the reserve each quarter', '1000000')
    .action(async (flags: CommonFlags & { perCohort: string; sectors: string; spend: string }) => {
      const s = await setup(flags);
      const cohorts = economicsCohorts(parseIntOption(flags.perCohort, '--per-cohort'), parseIntOption(flags.sectors, '--sectors'), s.days);
      const council = s.genesis.council;
      const spend = bcr(parseIntOption(flags.spend, '--spend'));
      const grants = systemAddress('sim-grants');
      const runs: Awaited<ReturnType<typeof measured>>[] = [];
      for (const seed of s.seeds) {
        const spending = council ? councilSpending(council, s.genesis.funder, grants, spend, s.genesis.params.slotsPerQuarter) : null;
        runs.push(await measured(`economics ${seed}`, (onDay) => asUsage(() => runStorageSim({ genesis: s.genesis, miners: cohorts.map((c) => c.plan), faults: s.faults, days: s.days, stepSlots: s.stepSlots, seed, onDay, extraTxs: spending ? (chain, view, slot) => spending.txs(chain, view, slot) : undefined })), s.days, flags.json === true));
      }
      const cohortNames = [...new Set(cohorts.map((c) => c.name))];
      const cohortRows = (result: StorageSimResult) =>
        cohortNames.map((name) => {
          const members = result.miners.filter((_, i) => cohorts[i]!.name === name);
          const rewards = members.reduce((sum, m) => sum + m.rewards, 0n);
          const locked = members.reduce((sum, m) => sum + m.peakLocked, 0n);
          const penalties = members.reduce((sum, m) => sum + m.penalties, 0n);
          return { cohort: name, miners: members.length, joinDay: members[0]!.joinDay, exitDay: members[0]!.exitDay, rewardsBcr: whole(rewards), peakLockedBcr: whole(locked), penaltiesBcr: Number(formatBcr(penalties)), rewardPerBcrLocked: locked ? Number((rewards * 1_000_000n) / locked) / 1e6 : 0, powerShare: members.reduce((sum, m) => sum + m.powerShare, 0), rewardShare: members.reduce((sum, m) => sum + m.rewardShare, 0) };
        });
      const first = runs[0]!;
      const table = cohortRows(first.result);
      const last = first.result.supply.at(-1)!;
      const summary = {
        ...runSummary(first.result, first),
        seeds: s.seeds.length,
        cohorts: Object.fromEntries(cohortNames.map((name, i) => [name, { rewardPerBcrLocked: meanCi(runs.map((r) => cohortRows(r.result)[i]!.rewardPerBcrLocked)), rewardShare: meanCi(runs.map((r) => cohortRows(r.result)[i]!.rewardShare)) }])),
        end: { mintedBcr: whole(last.minted), circulatingBcr: whole(last.circulating), lockedBcr: whole(last.collateral + last.pledge), burnedBcr: Number(formatBcr(last.burned)), foundationBcr: whole(last.foundation) },
      };
      const params = { network: flags.network, days: s.days, stepSlots: s.stepSlots, seed: flags.seed, seeds: s.seeds.length, perCohort: flags.perCohort, sectors: flags.sectors, spendPerQuarterBcr: flags.spend, council: council ? `${council.threshold} of ${council.signers.length}, notice ${council.noticeSlots} slots` : 'none (reserve frozen)', faultPpm: s.faults.faultPpmPerDay };
      if (flags.out) {
        const perMiner = first.result.daily.map((d) => ({ day: d.day, cohort: cohorts[d.miner]!.name, rewards: d.rewards }));
        const byCohortDay = new Map<string, Row>();
        for (const r of perMiner) {
          const key = `${r.cohort}/${r.day}`;
          const row = byCohortDay.get(key) ?? { day: r.day, cohort: r.cohort, bcr: 0 };
          row.bcr = (row.bcr as number) + whole(r.rewards) / cohorts.filter((c) => c.name === r.cohort).length;
          byCohortDay.set(key, row);
        }
        await writeSimRun(flags.out, {
          name: 'economics',
          params,
          summary,
          tables: { cohorts: table, supply: bigintsToText(first.result.supply), miners: bigintsToText(first.result.miners) },
          plots: {
            supply: { title: 'Supply: circulating, locked by miners, the reserve, burned (whole BCR)', spec: linesPlot(supplyRows(first.result), { x: 'day', y: 'bcr', series: 'series', xTitle: 'day', yTitle: 'BCR' }) },
            locked: { title: 'Held out of circulation by miners and burned (whole BCR)', spec: linesPlot(first.result.supply.flatMap((r) => [{ day: r.day, series: 'collateral and pledge locked', bcr: whole(r.collateral + r.pledge) }, { day: r.day, series: 'burned (fault, termination and expired pre-commit fees)', bcr: whole(r.burned) }]), { x: 'day', y: 'bcr', series: 'series', xTitle: 'day', yTitle: 'BCR' }) },
            rewards: { title: 'Cumulative rewards of one miner, by cohort (whole BCR)', spec: linesPlot([...byCohortDay.values()], { x: 'day', y: 'bcr', series: 'cohort', xTitle: 'day', yTitle: 'BCR per miner' }) },
          },
        });
      }
      if (flags.json) return printJson({ params, summary, cohorts: table });
      console.log(`economics on ${flags.network}: ${s.days} days, ${cohorts.length} miners in ${cohortNames.length} cohorts, seed "${flags.seed}"`);
      console.log('  cohort             miners  join   exit   rewards BCR   peak locked   reward/locked  power share  reward share');
      for (const r of table) console.log(`  ${r.cohort.padEnd(18)} ${String(r.miners).padStart(6)}  ${String(r.joinDay).padStart(4)}  ${String(r.exitDay ?? '-').padStart(5)}  ${String(r.rewardsBcr).padStart(12)}  ${String(r.peakLockedBcr).padStart(12)}  ${r.rewardPerBcrLocked.toFixed(1).padStart(13)}  ${(100 * r.powerShare).toFixed(1).padStart(10)}%  ${(100 * r.rewardShare).toFixed(1).padStart(11)}%`);
      console.log(`  end: minted ${summary.end.mintedBcr}, circulating ${summary.end.circulatingBcr}, locked by miners ${summary.end.lockedBcr}, burned ${summary.end.burnedBcr}, reserve ${summary.end.foundationBcr} BCR`);
      printCost(summary);
    });
}

function printCost(summary: ReturnType<typeof runSummary>): void {
  console.log(`  ${summary.steps} blocks executed for ${summary.blocks} won, ${summary.txs} txs (${Object.entries(summary.failedTxs).map(([k, v]) => `${v} ${k}`).join(', ') || 'none failed'}), supply ${summary.supplyConserved ? 'conserved' : 'NOT conserved'}`);
  console.log(`  ${summary.wallSeconds} s wall, ${summary.slotsPerSecond} slots/s, peak RSS ${summary.peakRssMiB} MiB`);
}

function printStorage(params: Record<string, unknown>, summary: ReturnType<typeof runSummary> & Record<string, unknown>, result: StorageSimResult): void {
  console.log(`storage on ${params.network}: ${result.days} days, ${result.miners.length} miners, seed "${params.seed}"`);
  console.log('  miner  join  sectors  power share  block share  reward share   rewards BCR');
  for (const m of result.miners) console.log(`  ${String(m.miner).padStart(5)}  ${String(m.joinDay).padStart(4)}  ${String(m.sectorsPlanned).padStart(7)}  ${(100 * m.powerShare).toFixed(2).padStart(10)}%  ${(100 * m.blockShare).toFixed(2).padStart(10)}%  ${(100 * m.rewardShare).toFixed(2).padStart(11)}%  ${String(whole(m.rewards)).padStart(12)}`);
  printCost(summary);
}

export type { MinerPlan };
