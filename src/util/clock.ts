// Wall clock behind an interface so tests can drive time; consensus code never reads it directly.
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
