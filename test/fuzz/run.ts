// npm run fuzz -- [--runs N] [--seed S] [--only TEXT] [--json]
// Runs every fuzz target N times (default 10,000) and prints, per target, the runs, the outcomes
// (accepted, or each refusal code) and any crash with its shrunk counterexample. Exit code 1 on a crash.
import fc from 'fast-check';
import { fuzzHarness } from './harness.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const runs = Number(option('--runs') ?? 10_000);
const seed = Number(option('--seed') ?? Date.now() % 2 ** 31);
const only = option('--only');
const json = process.argv.includes('--json');
if (!Number.isSafeInteger(runs) || runs <= 0) {
  console.error('--runs must be a positive integer');
  process.exit(2);
}

const harness = await fuzzHarness();
const rows: { target: string; runs: number; seconds: number; outcomes: Record<string, number>; crash: string | null }[] = [];
try {
  for (const target of harness.targets) {
    if (only && !target.name.includes(only)) continue;
    const outcomes: Record<string, number> = {};
    const started = process.hrtime.bigint();
    const result = await fc.check(
      fc.asyncProperty(target.arbitrary, async (input) => {
        const outcome = await target.run(input);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }),
      { numRuns: runs, seed },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const crash = result.failed ? `${String(result.errorInstance instanceof Error ? result.errorInstance.message : result.errorInstance)} | counterexample: ${fc.stringify(result.counterexample)}`.slice(0, 2000) : null;
    rows.push({ target: target.name, runs: result.numRuns, seconds, outcomes, crash });
    if (!json) {
      const top = Object.entries(outcomes).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([code, n]) => `${code} ${n}`).join(', ');
      console.log(`${target.name.padEnd(44)} ${String(result.numRuns).padStart(9)} runs ${seconds.toFixed(1).padStart(7)} s  ${crash ? `CRASH: ${crash}` : top}`);
    }
  }
} finally {
  await harness.close();
}
const crashes = rows.filter((r) => r.crash).length;
if (json) console.log(JSON.stringify({ seed, runs, targets: rows, crashes }));
else console.log(`\nseed ${seed}: ${rows.length} targets, ${rows.reduce((s, r) => s + r.runs, 0)} inputs, ${crashes} crashes`);
process.exit(crashes ? 1 : 0);
