// The storage market over years: clients store erasure-coded files (K data + M parity shards on
// K + M distinct providers, chosen cheapest ask first), providers fail at a yearly rate and take
// their shards with them, and clients repair: a lost shard is noticed at the next proving period
// (its WindowPoSt fault) and rebuilt on another provider from any K live shards. A file is lost
// once fewer than K of its shards live. Day steps, integer draws (SimRng): bit for bit by seed.
import { SimRng } from './rng.js';

export interface MarketOptions {
  files: number;
  providers: number;
  days: number;
  k: number;
  m: number;
  /** Chance per provider per year that it fails for good, in percent. */
  failurePercentPerYear: number;
  /** Days from a failure to its detection (a proving period), and to the rebuilt shard being stored. */
  detectDays: number;
  repairDays: number;
  /** Asks in atto per GiB per day: providers' prices are drawn uniformly from [low, high]. */
  askLow: bigint;
  askHigh: bigint;
  seed: string;
}

export interface MarketResult {
  filesLost: number;
  lostShare: number;
  providerFailures: number;
  repairs: number;
  /** What clients paid per GiB of file per year, the redundancy (K + M) / K included (atto). */
  costPerGibYear: bigint;
}

export function simulateMarket(o: MarketOptions): MarketResult {
  if (o.k < 1 || o.m < 0 || o.k + o.m > o.providers) throw new RangeError(`K + M (${o.k} + ${o.m}) must fit among ${o.providers} providers, K >= 1`);
  const rng = new SimRng(`market/${o.seed}/${o.k}+${o.m}/${o.failurePercentPerYear}`);
  const spread = o.askHigh - o.askLow;
  const asks: bigint[] = Array.from({ length: o.providers }, () => o.askLow + (spread > 0n ? BigInt(rng.below(Number(spread > 2n ** 52n ? 2n ** 52n : spread + 1n))) : 0n));
  const alive = new Array<boolean>(o.providers).fill(true);
  /** Per provider: the files it holds a shard of. */
  const holdings: Set<number>[] = Array.from({ length: o.providers }, () => new Set());
  const shards: number[][] = [];
  const liveShards = new Array<number>(o.files).fill(o.k + o.m);
  const lost = new Array<boolean>(o.files).fill(false);
  let paid = 0n;
  const cheapest = (exclude: Set<number>, count: number) =>
    [...asks.keys()].filter((p) => alive[p] && !exclude.has(p)).sort((a, b) => (asks[a]! < asks[b]! ? -1 : asks[a]! > asks[b]! ? 1 : a - b)).slice(0, count);
  // Clients spread over the cheaper half of the market: each picks K + M among a random 2(K + M).
  for (let file = 0; file < o.files; file++) {
    const offered = new Set<number>();
    while (offered.size < Math.min(o.providers, 2 * (o.k + o.m))) offered.add(rng.below(o.providers));
    const chosen = cheapest(new Set([...asks.keys()].filter((p) => !offered.has(p))), o.k + o.m);
    shards.push(chosen);
    for (const p of chosen) holdings[p]!.add(file);
  }
  const repairsDue = new Map<number, { file: number; from: number }[]>();
  let failures = 0;
  let repairs = 0;
  const failPerDay = { numerator: o.failurePercentPerYear, denominator: 100 * 365 };
  for (let day = 0; day < o.days; day++) {
    for (let p = 0; p < o.providers; p++) {
      if (alive[p]) for (const file of holdings[p]!) if (!lost[file]) paid += asks[p]!;
    }
    for (let p = 0; p < o.providers; p++) {
      if (!alive[p] || !rng.chance(failPerDay.numerator, failPerDay.denominator)) continue;
      failures++;
      alive[p] = false;
      for (const file of holdings[p]!) {
        if (lost[file]) continue;
        liveShards[file]!--;
        if (liveShards[file]! < o.k) lost[file] = true;
        else {
          const at = day + o.detectDays + o.repairDays;
          repairsDue.set(at, [...(repairsDue.get(at) ?? []), { file, from: p }]);
        }
      }
      holdings[p]!.clear();
      // A new provider takes the failed one's place, at a fresh ask.
      alive[p] = true;
      asks[p] = o.askLow + (spread > 0n ? BigInt(rng.below(Number(spread > 2n ** 52n ? 2n ** 52n : spread + 1n))) : 0n);
    }
    for (const { file } of repairsDue.get(day) ?? []) {
      if (lost[file]) continue;
      const holders = new Set(shards[file]!.filter((p) => holdings[p]!.has(file)));
      const [target] = cheapest(holders, 1);
      if (target === undefined) continue;
      holdings[target]!.add(file);
      shards[file] = [...holders, target];
      liveShards[file]!++;
      repairs++;
    }
    repairsDue.delete(day);
  }
  const filesLost = lost.filter(Boolean).length;
  // Paid per shard-GiB-day: a file of one GiB in K shards of 1/K GiB each.
  const gibYears = BigInt(o.files) * BigInt(o.days);
  return { filesLost, lostShare: filesLost / o.files, providerFailures: failures, repairs, costPerGibYear: gibYears ? (paid * 365n) / gibYears / BigInt(o.k) : 0n };
}
