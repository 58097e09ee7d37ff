// Attack scenarios on the real rules: what an attacker gains or risks, measured, not assumed.
// - deletion: a miner keeps all but a fraction of a replica's leaves; the real WindowPoSt challenge
//   derivation (proofs/post.ts) decides each period whether a challenge lands on a deleted leaf.
// - regeneration: the real labelling graph's critical path (proofs/binding.ts) at the mainnet
//   profile, for attackers with ever faster SHA-256, against the WindowPoSt window.
// - selfish mining: electionSim's selfish miner over a range of power shares.
// - grinding: a winner chooses between publishing its block and withholding it, whichever beacon
//   gives it more wins in the slots that beacon decides (the real win threshold).
// - long range: how often a minority fork started d blocks back overtakes the honest chain; the
//   node's rule (consensus/forkChoice.ts branchAllowed, which block import applies) refuses any fork
//   below finality whatever its weight, so a deeper fork overtakes nothing.
// - floods: what filling every block (or a mempool) costs at the minimum gas price.
import { branchAllowed, finalizedHeightOf, winThreshold, type ActiveSlotCoefficient, type ChainParams } from '../consensus/index.js';
import { MAINNET_ATTACKER, WINDOW_LEAD_SLOTS, bindingReport, leafCount, postChallenges, regenerationPath, type ProofParams } from '../proofs/index.js';
import { concatBytes, sha256, uintToBytesBE, utf8 } from '../primitives/index.js';
import { simulateElection } from './electionSim.js';
import { SimRng } from './rng.js';

export interface DetectionRow {
  deletedFraction: number;
  period: number;
  /** Share of trials whose deletion a WindowPoSt caught by this period. */
  detected: number;
  /** 1 - (1 - f)^(k * period) with k challenges per sector per period. */
  theory: number;
}

/** Trials of one sector losing `fraction` of its leaves, proven each period with fresh randomness. */
export function deletionDetection(params: ProofParams, fractions: number[], periods: number, trials: number, seed: string): DetectionRow[] {
  const leaves = leafCount(params.sectorSize);
  const rows: DetectionRow[] = [];
  for (const fraction of fractions) {
    if (!(fraction > 0 && fraction < 1)) throw new RangeError('deleted fractions must be in (0, 1)');
    // Challenges are uniform over the leaves, so which leaves go does not matter: the first ones.
    const deleted = Math.floor(fraction * leaves);
    const caughtBy = new Array<number>(periods + 1).fill(0);
    for (let trial = 0; trial < trials; trial++) {
      for (let period = 1; period <= periods; period++) {
        const randomness = sha256(concatBytes(utf8(`deletion/${seed}/${fraction}`), uintToBytesBE(trial, 8), uintToBytesBE(period, 8)));
        if (postChallenges(params, 'window', randomness, 0).some((leaf) => leaf < deleted)) {
          caughtBy[period]!++;
          break;
        }
      }
    }
    let cumulative = 0;
    for (let period = 1; period <= periods; period++) {
      cumulative += caughtBy[period]!;
      rows.push({ deletedFraction: fraction, period, detected: cumulative / trials, theory: 1 - (1 - deleted / leaves) ** (params.postChallenges * period) });
    }
  }
  return rows;
}

export interface RegenerationRow {
  /** Latency of one SHA-256 compression on the attacker's critical path, in nanoseconds. */
  compressionNs: number;
  regenerationSeconds: number;
  windowSeconds: number;
  /** Regeneration time over the window: above 1 the attack misses the window. */
  margin: number;
}

/** The regeneration attack against a WindowPoSt window, for attackers of each compression latency. */
export function regenerationAttack(params: ProofParams, windowSlots: number, slotMs: number, compressionNs: number[], graphNodes = 1 << 14): RegenerationRow[] {
  const path = regenerationPath(params, graphNodes, sha256(utf8('regeneration')));
  const windowSeconds = ((windowSlots + WINDOW_LEAD_SLOTS) * slotMs) / 1000;
  return compressionNs.map((ns) => {
    const report = bindingReport(params, path, { compressionPs: Math.round(ns * 1000) }, windowSeconds);
    return { compressionNs: ns, regenerationSeconds: report.regenerationSeconds, windowSeconds, margin: report.margin };
  });
}

/** The protocol's reference attacker (docs/proofs.md §6), for the scenario's table. */
export const REFERENCE_ATTACKER_NS = MAINNET_ATTACKER.compressionPs / 1000;

export interface SelfishRow {
  powerShare: number;
  /** Share of the final chain's blocks the selfish miner holds, and what honesty would give. */
  selfishShare: number;
  honestShare: number;
}

export function selfishSweep(shares: number[], f: ActiveSlotCoefficient, slots: number, seed: string): SelfishRow[] {
  return shares.map((share) => {
    const scale = 1_000_000;
    const powers = [BigInt(Math.round(share * scale)), BigInt(scale - Math.round(share * scale))];
    const run = (selfishMiner: number | undefined) => {
      const result = simulateElection({ powers, slots, f, delaySlots: 1, seed: utf8(`selfish/${seed}/${share}`), selfishMiner });
      return result.chainLength ? result.miners[0]!.canonical / result.chainLength : 0;
    };
    return { powerShare: share, selfishShare: run(0), honestShare: run(undefined) };
  });
}

export interface GrindingRow {
  powerShare: number;
  /** Wins per decided window when it always publishes, and when it grinds (best of two beacons, less the block it withheld). */
  honestWins: number;
  grindingWins: number;
  /** grindingWins / honestWins - 1. */
  gain: number;
}

/**
 * Each time the attacker makes the block whose beacon decides the next `windowSlots` slots, it may
 * withhold it and let the beacon of the next honest block decide instead: it keeps whichever
 * gives it more wins, and pays the withheld block when it chooses to withhold.
 */
export function grindingAttack(shares: number[], f: ActiveSlotCoefficient, windowSlots: number, trials: number, seed: string): GrindingRow[] {
  const rng = new SimRng(`grinding/${seed}`);
  return shares.map((share) => {
    const power = BigInt(Math.round(share * 1_000_000));
    const threshold = winThreshold(power, 1_000_000n, f) >> 192n;
    const wins = () => {
      let n = 0;
      for (let s = 0; s < windowSlots; s++) if ((BigInt(rng.u32()) << 32n) + BigInt(rng.u32()) < threshold) n++;
      return n;
    };
    let honest = 0;
    let grinding = 0;
    for (let t = 0; t < trials; t++) {
      const published = wins();
      const withheld = wins() - 1;
      honest += published;
      grinding += Math.max(published, withheld);
    }
    return { powerShare: share, honestWins: honest / trials, grindingWins: grinding / trials, gain: honest ? grinding / honest - 1 : 0 };
  });
}

export interface LongRangeRow {
  powerShare: number;
  depth: number;
  /** Share of trials in which the fork overtook the honest chain within the horizon. */
  overtaken: number;
  /** (a / (1 - a))^depth: the gambler's-ruin bound for catching up from `depth` behind. */
  theory: number;
  /** Deeper than finality: refused by every node whatever its weight. */
  refused: boolean;
}

/** A fork of share `a` mining from `depth` blocks behind the honest tip, for `horizonSlots`. */
export function longRangeFork(shares: number[], depths: number[], params: Pick<ChainParams, 'finality'> & { miners: { activeSlotCoeff: ActiveSlotCoefficient } }, horizonSlots: number, trials: number, seed: string): LongRangeRow[] {
  const rng = new SimRng(`long-range/${seed}`);
  const f = params.miners.activeSlotCoeff;
  const rows: LongRangeRow[] = [];
  for (const share of shares) {
    const attacker = Number((winThreshold(BigInt(Math.round(share * 1e6)), 1_000_000n, f) >> 203n)) / 2 ** 53;
    const honest = Number((winThreshold(BigInt(Math.round((1 - share) * 1e6)), 1_000_000n, f) >> 203n)) / 2 ** 53;
    for (const depth of depths) {
      let overtaken = 0;
      for (let t = 0; t < trials; t++) {
        let lead = depth;
        for (let s = 0; s < horizonSlots && lead >= 0 && lead < depth + 50; s++) {
          if (rng.u53() / 2 ** 53 < honest) lead++;
          if (rng.u53() / 2 ** 53 < attacker) lead--;
        }
        if (lead < 0) overtaken++;
      }
      // The node's own rule: a head well past finality, and the fork's first block `depth` back from it.
      const head = params.finality + depth + 1;
      const refused = !branchAllowed(head - depth + 1, finalizedHeightOf(head, params.finality));
      rows.push({ powerShare: share, depth, overtaken: refused ? 0 : overtaken / trials, theory: Math.min(1, (share / (1 - share)) ** depth), refused });
    }
  }
  return rows;
}

export interface FloodRow {
  attack: string;
  /** What the attacker pays per day at the minimum gas price (atto). */
  costPerDay: bigint;
  effect: string;
}

/** What it costs to fill every block with the cheapest txs for a day at the minimum gas price. */
export function floodCosts(params: ChainParams): FloodRow[] {
  const f = params.miners.activeSlotCoeff;
  const slotsPerDay = BigInt(Math.round(86_400_000 / params.slotMs));
  const blocksPerDay = (slotsPerDay * f.numerator) / f.denominator;
  const transferGas = 21_000n;
  const perBlockTxs = BigInt(Math.min(params.maxTxsPerBlock, Math.floor(params.blockGasLimit / 21_000)));
  return [
    { attack: 'fill every block with transfers at the minimum gas price', costPerDay: blocksPerDay * perBlockTxs * transferGas * params.minGasPrice, effect: `${perBlockTxs} txs a block; honest txs outbid the floor and still land (blocks take the best-paying first)` },
    { attack: 'fill every block with its gas limit', costPerDay: blocksPerDay * BigInt(params.blockGasLimit) * params.minGasPrice, effect: 'same, by gas; the attacker pays the floor for all of it' },
  ];
}
