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

/** Mean and the half-width of its 95% confidence interval (Student's t for n - 1 degrees of freedom). */
export function meanCi(values: number[]): { mean: number; ci95: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, ci95: NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci95: NaN, n };
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  return { mean, ci95: studentT975(n - 1) * Math.sqrt(variance / n), n };
}

/** The 97.5% quantile of Student's t (two-sided 95%): a table to 30 degrees of freedom, then the normal's. */
function studentT975(dof: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
  return table[dof - 1] ?? 1.96;
}
