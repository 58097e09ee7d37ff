// What a simulation run leaves for a researcher (`--out DIR`): its tables as CSV and all of it as
// JSON, each plot as an SVG drawn in Node by vega-lite (no browser), and one self-contained HTML
// report with the plots, the parameters, the seed and the commit. Files are written whole
// (writeFileDurable: fsync and rename), so a run cut off never leaves a half report that looks finished.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileDurable } from '../util/durableFile.js';

export type Row = Record<string, string | number | boolean | null>;

/** A vega-lite specification with its data inline. */
export type PlotSpec = TopLevelSpec;

export interface SimRun {
  /** The scenario's name: the report's title and the files' prefix. */
  name: string;
  /** Every parameter the run used (the seed among them), as given or defaulted. */
  params: Record<string, string | number | boolean>;
  summary: Record<string, unknown>;
  tables: Record<string, Row[]>;
  plots: Record<string, { title: string; spec: PlotSpec }>;
}

/** Renders a vega-lite specification to SVG text. */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  // Loaded on use: the plotting libraries are large and most commands never draw.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** RFC 4180 CSV: a header of the union of keys, fields quoted when they hold a comma, quote or newline. */
export function toCsv(rows: Row[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const field = (value: Row[string] | undefined) => {
    const text = value === null || value === undefined ? '' : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.map((c) => field(c)).join(','), ...rows.map((r) => columns.map((c) => field(r[c])).join(','))].join('\n') + '\n';
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The commit the code ran at (with "-dirty" for uncommitted changes), or "unknown" outside git. */
export function currentCommit(cwd = process.cwd()): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return 'unknown';
  }
}

/** The report page: one file, plots inline, nothing fetched. */
export function reportHtml(run: SimRun, svgs: Record<string, string>, commit: string): string {
  const params = Object.entries(run.params).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`).join('');
  const plots = Object.entries(run.plots).map(([id, plot]) => `<figure id="${escapeHtml(id)}"><figcaption>${escapeHtml(plot.title)}</figcaption>${svgs[id] ?? ''}</figure>`).join('\n');
  const summary = escapeHtml(JSON.stringify(run.summary, null, 2));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BCR simulation: ${escapeHtml(run.name)}</title>
<style>body{font:15px/1.4 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}figure{margin:2em 0}figcaption{font-weight:600;margin-bottom:.5em}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>
</head><body>
<h1>BCR simulation: ${escapeHtml(run.name)}</h1>
<p>Commit <code>${escapeHtml(commit)}</code>. Run it again with the same parameters for the same figures, bit for bit.</p>
<h2>Parameters</h2><table>${params}</table>
<h2>Plots</h2>
${plots}
<h2>Summary</h2><pre>${summary}</pre>
</body></html>
`;
}

/** Writes NAME.json, NAME-TABLE.csv, NAME-PLOT.svg and NAME.html into `dir`; returns the files written. */
export async function writeRun(dir: string, run: SimRun, commit = currentCommit()): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    await writeFileDurable(join(dir, name), text);
    files.push(join(dir, name));
  };
  const svgs: Record<string, string> = {};
  for (const [id, plot] of Object.entries(run.plots)) {
    svgs[id] = await renderSvg(plot.spec);
    await write(`${run.name}-${id}.svg`, svgs[id]);
  }
  for (const [id, rows] of Object.entries(run.tables)) await write(`${run.name}-${id}.csv`, toCsv(rows));
  await write(`${run.name}.json`, `${JSON.stringify({ name: run.name, commit, params: run.params, summary: run.summary, tables: run.tables }, null, 2)}\n`);
  await write(`${run.name}.html`, reportHtml(run, svgs, commit));
  return files;
}
