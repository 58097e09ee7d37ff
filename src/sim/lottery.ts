// The block lottery of a batched run, slot by slot. A slot has a winner with probability exactly f
// (the win threshold phi(s) = 1 - (1 - f)^s multiplies out to 1 - (1 - f) over all the power), and
// its block goes to a miner with odds in proportion to that miner's real win threshold
// (consensus/election.ts). Same-slot contests, rare at f = 1/20, are settled by the odds rather
// than by comparing tickets; test/sim/storage.test.ts checks the shares against the slot-by-slot
// election of electionSim.ts. Integer draws only: the same seed gives the same blocks everywhere.
import { winThreshold, type ActiveSlotCoefficient } from '../consensus/index.js';
import type { SimRng } from './rng.js';

export interface LotteryEntrant<T> {
  power: bigint;
  who: T;
}

export class SlotLottery<T> {
  private cumulative: number[] = [];
  private entrants: T[] = [];
  private total = 0;
  private readonly odds: { numerator: number; denominator: number };

  constructor(
    private readonly rng: SimRng,
    private readonly f: ActiveSlotCoefficient,
  ) {
    this.odds = { numerator: Number(f.numerator), denominator: Number(f.denominator) };
  }

  /** Sets the entrants' powers (their election power for the slots drawn next). */
  setPowers(entrants: LotteryEntrant<T>[]): void {
    const live = entrants.filter((e) => e.power > 0n);
    const totalPower = live.reduce((sum, e) => sum + e.power, 0n);
    // Thresholds are below 2^256 * f; their top 52 bits keep the odds to 2^-52 of the largest.
    let running = 0;
    this.cumulative = [];
    this.entrants = [];
    for (const e of live) {
      const weight = Number(winThreshold(e.power, totalPower, this.f) >> 204n);
      if (weight === 0) continue;
      running += weight;
      this.cumulative.push(running);
      this.entrants.push(e.who);
    }
    this.total = running;
  }

  /** The winners of slots (from, to], in slot order. */
  draw(from: number, to: number): { slot: number; who: T }[] {
    const out: { slot: number; who: T }[] = [];
    for (let slot = from + 1; slot <= to; slot++) {
      if (!this.rng.chance(this.odds.numerator, this.odds.denominator) || this.total === 0) continue;
      const x = this.rng.below(this.total);
      let lo = 0;
      let hi = this.cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.cumulative[mid]! > x) hi = mid;
        else lo = mid + 1;
      }
      out.push({ slot, who: this.entrants[lo]! });
    }
    return out;
  }
}
