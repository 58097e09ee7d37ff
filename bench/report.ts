// Shared output for bench scripts: a table for people, and with --json one JSON object as the last line.
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export interface BenchArea {
  name: string;
  run(args: string[]): Promise<{ rows: BenchRow[]; json: Record<string, number | string> }>;
}

export function printReport(title: string, rows: BenchRow[], json: Record<string, number | string>, asJson: boolean): void {
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 10);
  console.log(`\n${title}`);
  console.log(`${'measure'.padEnd(nameWidth)}  ${'value'.padStart(14)}  unit`);
  for (const row of rows) {
    console.log(`${row.name.padEnd(nameWidth)}  ${formatNumber(row.value).padStart(14)}  ${row.unit}${row.note ? `  (${row.note})` : ''}`);
  }
  if (asJson) console.log(JSON.stringify(json));
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(4);
}

/** Runs fn repeatedly for at least `minMs`, returns operations per second. */
export function opsPerSecond(fn: () => void, opsPerCall = 1, minMs = 1000): number {
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    calls++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (calls * opsPerCall * 1000) / elapsed;
}

export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
