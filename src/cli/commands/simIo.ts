// What every simulation command shares: usage errors from the simulations' RangeErrors, and
// writing a run's report files.
import type { Command } from 'commander';
import type { SimRun } from '../../sim/output.js';
import { UsageError } from '../io.js';

/** The simulations refuse options they cannot run with a RangeError: for the CLI that is a usage mistake (sync or async). */
export function asUsage<T>(run: () => T): T {
  const toUsage = (error: unknown): never => {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  };
  try {
    const result = run();
    return (result instanceof Promise ? result.catch(toUsage) : result) as T;
  } catch (error) {
    return toUsage(error);
  }
}

/** Writes a run's files (the plotting libraries load only here) and says where, on stderr. */
export async function writeSimRun(dir: string, run: SimRun): Promise<void> {
  const { writeRun } = await import('../../sim/output.js');
  const files = await writeRun(dir, run);
  process.stderr.write(`wrote ${files.length} files to ${dir} (open ${run.name}.html)\n`);
}

/** The options every scenario shares: its seed, the report files, the summary on stdout. */
export function runOptions(command: Command): Command {
  return command
    .option('--seed <text>', 'seed of every random draw', 'bcr-sim')
    .option('--out <dir>', 'also write the run to DIR: JSON, CSV, SVG plots and a self-contained HTML report')
    .option('--json', 'machine-readable summary on stdout');
}
