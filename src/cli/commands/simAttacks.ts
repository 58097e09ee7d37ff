// `bcr sim attacks` and `bcr sim market`: attack costs and gains on the real rules, and file
// durability in the storage market against K + M and provider failure rates.
import type { Command } from 'commander';
import { parseGenesis, readGenesisJson } from '../../chain/index.js';
import { PROOF_PROFILES } from '../../proofs/index.js';
import { REFERENCE_ATTACKER_NS, runMarketChain, simulateFlood, deletionDetection, floodCosts, grindingAttack, linesPlot, longRangeFork, meanCi, regenerationAttack, selfishSweep, simulateMarket } from '../../sim/index.js';
import { bcr, formatBcr } from '../../primitives/index.js';
import { UsageError, parseIntOption, printJson } from '../io.js';
import { asUsage, runOptions, writeSimRun } from './simIo.js';
import { simGenesis } from './simGenesis.js';

const SHARES = [0.05, 0.1, 0.2, 0.25, 0.3, 0.33, 0.4, 0.45];

export function registerAttackSims(sim: Command): void {
  runOptions(sim.command('attacks'))
    .description('replica deletion vs WindowPoSt detection, regeneration vs the window, selfish mining, beacon grinding, long-range forks, floods')
    .option('--network <name>', 'network profile or genesis file', 'mainnet')
    .option('--trials <n>', 'trials per point of the Monte Carlo parts', '2000')
    .option('--slots <n>', 'slots per selfish-mining run', '200000')
    .option('--flood-slots <n>', 'slots of each mempool flood run against the node\'s own pool (0: skip)', '1200')
    .action(async (flags: { network: string; seed: string; trials: string; slots: string; floodSlots: string; out?: string; json?: boolean }) => {
      const { params } = parseGenesis(readGenesisJson(flags.network), 0);
      const trials = parseIntOption(flags.trials, '--trials');
      const slots = parseIntOption(flags.slots, '--slots');
      if (trials < 1 || slots < 1) throw new UsageError('--trials and --slots must be positive');
      const proofs = { ...PROOF_PROFILES[params.miners.proofProfile] };
      const f = params.miners.activeSlotCoeff;
      const width = Math.floor(params.miners.provingPeriod / params.miners.deadlines);
      const started = performance.now();
      const deletion = asUsage(() => deletionDetection(proofs, [0.001, 0.01, 0.05, 0.1, 0.2, 0.5], params.miners.faultMaxPeriods, trials, flags.seed));
      const regeneration = regenerationAttack(proofs, width, params.slotMs, [REFERENCE_ATTACKER_NS, 2, 1, 0.5, 0.25, 0.1]);
      const selfish = selfishSweep(SHARES, f, slots, flags.seed);
      const grinding = grindingAttack(SHARES, f, Math.round(Number(f.denominator) / Number(f.numerator)), trials * 10, flags.seed);
      const longRange = longRangeFork([0.1, 0.25, 0.33, 0.45], [1, 2, 5, 10, 20, params.finality + 1], params, 20 * Number(f.denominator), trials, flags.seed);
      const floods = floodCosts(params);
      const floodSlots = parseIntOption(flags.floodSlots, '--flood-slots');
      const genesis = floodSlots > 0 ? await simGenesis(flags.network) : null;
      const mempoolFloods = [];
      // Honest users pay twice the floor; the attacker none (no attack), the floor, the same, or twice theirs.
      if (genesis) for (const multiple of [0, 1, 2, 4]) mempoolFloods.push(await simulateFlood({ genesis, slots: floodSlots, honestUsers: 200, honestEverySlots: 10, honestPriceMultiple: 2, attackerPriceMultiple: multiple, attackerAccounts: 60, seed: flags.seed }));
      const wallSeconds = (performance.now() - started) / 1000;
      const summary = {
        deletionDetectedFirstPeriod: Object.fromEntries(deletion.filter((r) => r.period === 1).map((r) => [r.deletedFraction, { detected: r.detected, theory: r.theory }])),
        regeneration: regeneration.map((r) => ({ compressionNs: r.compressionNs, margin: Number(r.margin.toFixed(2)) })),
        // The smallest share from which selfish mining beats honesty at every larger share (one noisy point does not count).
        selfishBreakEven: selfish.find((_, i) => selfish.slice(i).every((r) => r.selfishShare > r.honestShare))?.powerShare ?? null,
        grindingGain: grinding.map((r) => ({ powerShare: r.powerShare, gain: Number(r.gain.toFixed(4)) })),
        longRangeRefusedBeyond: params.finality,
        floodCostPerDayBcr: floods.map((r) => ({ attack: r.attack, bcr: formatBcr(r.costPerDay) })),
        mempoolFlood: mempoolFloods.map((r) => ({ attackerPriceMultiple: r.attackerPriceMultiple, honestRefusedShare: r.honestSent ? Number((r.honestRefused / r.honestSent).toFixed(4)) : 0, honestMeanWaitSlots: Number(r.honestMeanWaitSlots.toFixed(1)), attackerBcrPerHour: formatBcr(r.attackerFeesPerHour) })),
        wallSeconds: Number(wallSeconds.toFixed(1)),
      };
      const runParams = { network: flags.network, seed: flags.seed, trials, selfishSlots: slots, postChallenges: proofs.postChallenges, faultMaxPeriods: params.miners.faultMaxPeriods, windowSlots: width, finality: params.finality, f: `${f.numerator}/${f.denominator}` };
      if (flags.out) {
        await writeSimRun(flags.out, {
          name: 'attacks',
          params: runParams,
          summary,
          tables: { deletion: deletion.map((r) => ({ ...r })), regeneration: regeneration.map((r) => ({ ...r })), selfish: selfish.map((r) => ({ ...r })), grinding: grinding.map((r) => ({ ...r })), longRange: longRange.map((r) => ({ ...r })), floods: floods.map((r) => ({ attack: r.attack, costPerDay: r.costPerDay.toString(), effect: r.effect })), mempoolFlood: mempoolFloods.map((r) => ({ ...r, attackerFees: r.attackerFees.toString(), attackerFeesPerHour: r.attackerFeesPerHour.toString() })) },
          plots: {
            ...(mempoolFloods.length ? { mempoolFlood: { title: 'Mempool flood: honest txs (paying 2x the floor) refused and included, by the attacker\'s price', spec: linesPlot(mempoolFloods.flatMap((r) => [{ price: r.attackerPriceMultiple, series: 'refused by the pool', share: r.honestSent ? r.honestRefused / r.honestSent : 0 }, { price: r.attackerPriceMultiple, series: 'included', share: r.honestSent ? r.honestIncluded / r.honestSent : 0 }]), { x: 'price', y: 'share', series: 'series', xTitle: 'attacker gas price, multiples of the floor (0: no attack)', yTitle: 'honest txs', yFormat: '%' }) } } : {}),
            deletion: { title: 'Replica deletion: chance WindowPoSt has caught it by each period, measured against 1 - (1 - f)^(k periods)', spec: linesPlot(deletion.flatMap((r) => [{ period: r.period, series: `${r.deletedFraction * 100}% deleted`, kind: 'measured', detected: r.detected }, { period: r.period, series: `${r.deletedFraction * 100}% deleted`, kind: '1 - (1 - f)^(k periods)', detected: r.theory }]), { x: 'period', y: 'detected', series: 'series', dash: 'kind', xTitle: 'proving periods', yTitle: 'detected', yFormat: '%' }) },
            regeneration: { title: 'Regeneration attack: time to relabel a challenged leaf over the window (above 1: the attack fails)', spec: linesPlot(regeneration.map((r) => ({ compressionNs: r.compressionNs, series: 'margin', margin: r.margin })), { x: 'compressionNs', y: 'margin', series: 'series', xTitle: 'attacker SHA-256 compression latency (ns)', yTitle: 'regeneration time / window', logY: true }) },
            selfish: { title: 'Selfish mining: share of the final chain vs power share', spec: linesPlot(selfish.flatMap((r) => [{ power: r.powerShare, series: 'selfish', share: r.selfishShare }, { power: r.powerShare, series: 'honest', share: r.honestShare }]), { x: 'power', y: 'share', series: 'series', xTitle: 'power share', yTitle: 'share of chain', yFormat: '%' }) },
            longRange: { title: 'Long-range fork: chance a minority fork overtakes from d blocks back (none seen: drawn at 0.0001%; refused beyond finality)', spec: linesPlot(longRange.filter((r) => !r.refused).map((r) => ({ depth: r.depth, series: `${r.powerShare * 100}% power`, overtaken: Math.max(r.overtaken, 1e-6) })), { x: 'depth', y: 'overtaken', series: 'series', xTitle: 'depth (blocks)', yTitle: 'overtaken', logY: true }) },
          },
        });
      }
      if (flags.json) return printJson({ params: runParams, summary, deletion, regeneration, selfish, grinding, longRange, floods: floods.map((r) => ({ ...r, costPerDay: r.costPerDay.toString() })), mempoolFlood: summary.mempoolFlood });
      console.log(`attacks on ${flags.network} (seed "${flags.seed}", ${trials} trials a point)`);
      console.log(`  replica deletion, caught in the first period (k = ${proofs.postChallenges} challenges): ${deletion.filter((r) => r.period === 1).map((r) => `${r.deletedFraction * 100}%: ${(100 * r.detected).toFixed(1)}% (theory ${(100 * r.theory).toFixed(1)}%)`).join(', ')}`);
      console.log(`  regeneration vs a ${regeneration[0]!.windowSeconds} s window: ${regeneration.map((r) => `${r.compressionNs} ns/compression -> ${r.margin.toFixed(1)}x`).join(', ')}`);
      console.log(`  selfish mining pays from power share ${summary.selfishBreakEven ?? 'above 45%'}: ${selfish.map((r) => `${r.powerShare}: ${(100 * r.selfishShare).toFixed(1)}% vs ${(100 * r.honestShare).toFixed(1)}%`).join(', ')}`);
      console.log(`  beacon grinding gain: ${grinding.map((r) => `${r.powerShare}: ${(100 * r.gain).toFixed(2)}%`).join(', ')}`);
      console.log(`  long-range forks: beyond ${params.finality} blocks refused; overtaken from 10 back: ${longRange.filter((r) => r.depth === 10).map((r) => `${r.powerShare}: ${r.overtaken}`).join(', ')}`);
      for (const r of floods) console.log(`  ${r.attack}: ${formatBcr(r.costPerDay)} BCR a day (${r.effect})`);
      for (const r of summary.mempoolFlood) console.log(`  mempool flood at ${r.attackerPriceMultiple}x the floor vs honest txs at 2x: ${(100 * r.honestRefusedShare).toFixed(1)}% of honest txs refused, mean wait ${r.honestMeanWaitSlots} slots, attacker pays ${r.attackerBcrPerHour} BCR an hour`);
      console.log(`  ${summary.wallSeconds} s wall`);
    });

  runOptions(sim.command('market'))
    .description('erasure-coded files on failing providers, repaired by clients: share of files lost vs K+M and failure rate')
    .option('--files <n>', 'files stored', '2000')
    .option('--providers <n>', 'storage providers', '60')
    .option('--years <n>', 'years', '3')
    .option('--schemes <list>', 'K+M erasure schemes, comma-separated', '1+0,1+2,4+2,6+3,10+4')
    .option('--failure <list>', 'provider failure rates, percent per year, comma-separated', '5,10,20,40,80')
    .option('--detect-days <n>', 'days to notice a lost shard (a proving period)', '1')
    .option('--repair-days <n>', 'days to rebuild it on another provider', '2')
    .option('--seeds <n>', 'seeds per point, for means with 95% confidence intervals', '1')
    .option('--chain-days <n>', 'also run the market on the real state machine for this many days (0: skip)', '30')
    .option('--chain-scheme <k+m>', 'the on-chain run\'s erasure scheme', '4+2')
    .option('--chain-failure <percent>', 'the on-chain run\'s provider failures, percent per year', '200')
    .option('--chain-network <name>', 'the on-chain run\'s network profile or genesis file', 'mainnet')
    .action(async (flags: { chainDays: string; chainScheme: string; chainFailure: string; chainNetwork: string; files: string; providers: string; years: string; schemes: string; failure: string; detectDays: string; repairDays: string; seed: string; seeds: string; out?: string; json?: boolean }) => {
      const schemes = flags.schemes.split(',').map((s) => {
        const match = /^(\d+)\+(\d+)$/.exec(s.trim());
        if (!match) throw new UsageError(`--schemes takes K+M pairs like 4+2, got "${s}"`);
        return { k: Number(match[1]), m: Number(match[2]) };
      });
      const rates = flags.failure.split(',').map((r) => parseIntOption(r.trim(), '--failure'));
      const seeds = parseIntOption(flags.seeds, '--seeds');
      const started = performance.now();
      const rows = [];
      for (const { k, m } of schemes) {
        for (const rate of rates) {
          const runs = Array.from({ length: Math.max(1, seeds) }, (_, i) =>
            asUsage(() => simulateMarket({ files: parseIntOption(flags.files, '--files'), providers: parseIntOption(flags.providers, '--providers'), days: parseIntOption(flags.years, '--years') * 365, k, m, failurePercentPerYear: rate, detectDays: parseIntOption(flags.detectDays, '--detect-days'), repairDays: parseIntOption(flags.repairDays, '--repair-days'), askLow: bcr(1) / 1000n, askHigh: bcr(3) / 1000n, seed: i === 0 ? flags.seed : `${flags.seed}-${i}` })),
          );
          const lost = meanCi(runs.map((r) => r.lostShare));
          rows.push({ scheme: `${k}+${m}`, k, m, failurePercentPerYear: rate, lostShare: lost.mean, lostShareCi95: Number.isNaN(lost.ci95) ? null : lost.ci95, repairs: runs[0]!.repairs, providerFailures: runs[0]!.providerFailures, costPerGibYearBcr: Number(formatBcr(runs[0]!.costPerGibYear)) });
        }
      }
      const wallSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
      const onChain = await marketOnChain(flags);
      const runParams = { chainDays: flags.chainDays, chainScheme: flags.chainScheme, chainFailure: flags.chainFailure, files: flags.files, providers: flags.providers, years: flags.years, schemes: flags.schemes, failure: flags.failure, detectDays: flags.detectDays, repairDays: flags.repairDays, seed: flags.seed, seeds };
      if (flags.out) {
        await writeSimRun(flags.out, {
          name: 'market',
          params: runParams,
          summary: { wallSeconds, points: rows.length, onChain },
          tables: { files: rows },
          plots: { lost: { title: 'Share of files lost vs provider failure rate, by erasure scheme K+M (no file lost: drawn at 0.001%)', spec: linesPlot(rows.map((r) => ({ failure: r.failurePercentPerYear, scheme: r.scheme, lost: Math.max(r.lostShare, 1e-5) })), { x: 'failure', y: 'lost', series: 'scheme', xTitle: 'provider failures, % per year', yTitle: 'files lost', logY: true }) } },
        });
      }
      if (flags.json) return printJson({ params: runParams, wallSeconds, rows, onChain });
      console.log(`market: ${flags.files} files on ${flags.providers} providers for ${flags.years} years, repair after ${flags.detectDays} + ${flags.repairDays} days`);
      console.log('  scheme  failures/yr  files lost   cost BCR/GiB-yr');
      for (const r of rows) console.log(`  ${r.scheme.padEnd(6)}  ${String(r.failurePercentPerYear).padStart(10)}%  ${(100 * r.lostShare).toFixed(2).padStart(9)}%  ${r.costPerGibYearBcr.toFixed(4).padStart(16)}`);
      console.log(`  ${wallSeconds} s wall`);
      if (onChain) {
        console.log(`on the real state machine (${flags.chainScheme}, ${flags.chainFailure}% failures a year, ${flags.chainDays} days): ${onChain.files} files, ${onChain.filesLost} lost, ${onChain.providersFailed} providers failed, ${onChain.dealsMade} deals (${Object.entries(onChain.dealStates).map(([k, v]) => `${v} ${k}`).join(', ')}), ${onChain.repairs} shards re-dealt`);
        console.log(`  clients escrowed ${onChain.clientsDepositedBcr} BCR and hold ${onChain.clientsHoldAtEndBcr} BCR at the end (refunds and slashed collateral included); supply ${onChain.supplyConserved ? 'conserved' : 'NOT conserved'}; ${onChain.wallSeconds} s`);
      }
    });
}

/** The market on the real state machine: deals, proofs, a failing provider's slashing, clients' repairs. */
async function marketOnChain(flags: { chainDays: string; chainScheme: string; chainFailure: string; chainNetwork: string; seed: string }) {
  const days = parseIntOption(flags.chainDays, '--chain-days');
  if (days === 0) return null;
  const match = /^(\d+)\+(\d+)$/.exec(flags.chainScheme.trim());
  if (!match) throw new UsageError(`--chain-scheme takes K+M like 4+2, got "${flags.chainScheme}"`);
  const genesis = await simGenesis(flags.chainNetwork);
  const started = performance.now();
  const width = Math.floor(genesis.params.miners.provingPeriod / genesis.params.miners.deadlines);
  const r = await asUsage(() =>
    runMarketChain({ genesis, providers: 12, files: 10, k: Number(match[1]), m: Number(match[2]), failurePercentPerYear: parseIntOption(flags.chainFailure, '--chain-failure'), detectDays: 1, days, stepSlots: width, seed: flags.seed, askLow: bcr(1) / 10n ** 9n, askHigh: (3n * bcr(1)) / 10n ** 9n, providerCollateral: bcr(10) }),
  );
  return {
    files: r.files,
    filesLost: r.filesLost,
    providersFailed: r.providersFailed,
    dealsMade: r.dealsMade,
    repairs: r.repairs,
    dealStates: r.dealStates,
    clientsDepositedBcr: formatBcr(r.clientsDeposited),
    clientsHoldAtEndBcr: formatBcr(r.clientsHoldAtEnd),
    failedTxs: r.run.failedTxs,
    supplyConserved: r.run.supply.every((s) => s.conservationError === 0n),
    wallSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
}
