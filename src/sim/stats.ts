// Statistics for simulation reports (analysis only: floating point is fine here, never in consensus).

/** Pearson's chi-square statistic of observed counts against expected probabilities. */
export function chiSquare(observed: number[], probabilities: number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  const total = probabilities.reduce((a, b) => a + b, 0);
  return observed.reduce((sum, count, i) => {
    const expected = (n * probabilities[i]!) / total;
    return expected > 0 ? sum + (count - expected) ** 2 / expected : sum;
  }, 0);
}

/**
 * Chi-square critical value for `dof` degrees of freedom at the upper-tail standard normal
 * quantile `z` (3.09 for p = 0.001), by the Wilson-Hilferty approximation.
 */
export function chiSquareCritical(dof: number, z = 3.09): number {
  const a = 2 / (9 * dof);
  return dof * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** A miner's chance to win a slot: phi(share) = 1 - (1 - f)^share. */
export function winChance(share: number, f: number): number {
  return 1 - (1 - f) ** share;
}
