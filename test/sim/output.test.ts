// A simulation run's files: plots are valid SVG with one mark per series and bar, CSV survives
// hostile fields, the HTML report is self-contained (plots inline, parameters, seed, commit), and
// the same run writes the same bytes twice.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { renderSvg, reportHtml, toCsv, writeRun, type SimRun } from '../../src/sim/output.js';
import { sharesPlot, supplyPlot } from '../../src/sim/plots.js';
import { tempDir } from '../helpers/chain.js';

const dir = tempDir('bcr-sim-out-');
afterAll(() => dir.cleanup());

/** Every element of the SVG with a class attribute, by class. */
function classes(svg: string): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === ':@') {
        const cls = (value as Record<string, string>)['@_class'];
        if (cls) found.push(cls);
      } else walk(value);
    }
  };
  walk(new XMLParser({ ignoreAttributes: false, preserveOrder: true }).parse(svg));
  return found;
}

describe('simulation output', () => {
  it('draws the supply as valid SVG with one line per series', async () => {
    const svg = await renderSvg(supplyPlot([0, 90, 180].map((day) => ({ day, minted: day * 100, vestingLocked: 1000 - day, circulating: 500 + day }))));
    expect(XMLValidator.validate(svg)).toBe(true);
    const marks = classes(svg);
    expect(marks.filter((c) => c.startsWith('mark-line role-mark'))).toHaveLength(3);
    expect(svg).toContain('vesting still locked');
  });

  it('draws the shares as bars: three per miner', async () => {
    const svg = await renderSvg(sharesPlot([0, 1].map((miner) => ({ miner, powerShare: 0.5, expectedShare: 0.5, wonShare: 0.4 + miner / 5 }))));
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(classes(svg).filter((c) => c.startsWith('mark-rect role-mark'))).toHaveLength(1);
    expect(svg.match(/<path aria-label="miner: miner \d; share: [^"]+; measure: [^"]+"/g)).toHaveLength(6);
  });

  it('writes CSV that quotes commas, quotes and newlines', () => {
    expect(toCsv([{ a: 1, b: 'x,y' }, { a: null, c: 'say "hi"\nbye' }])).toBe('a,b,c\n1,"x,y",\n,,"say ""hi""\nbye"\n');
  });

  it('writes a self-contained report and the same bytes for the same run', async () => {
    const run: SimRun = {
      name: 'supply',
      params: { network: 'mainnet', seed: 'abc<script>' },
      summary: { minted: '45' },
      tables: { supply: [{ day: 0, minted: '0' }, { day: 90, minted: '22' }] },
      plots: { supply: { title: 'Supply', spec: supplyPlot([{ day: 0, minted: 0, vestingLocked: 1, circulating: 2 }, { day: 90, minted: 22, vestingLocked: 1, circulating: 24 }]) } },
    };
    const first = await writeRun(join(dir.path, 'a'), run, 'c0ffee');
    await writeRun(join(dir.path, 'b'), run, 'c0ffee');
    expect(readdirSync(join(dir.path, 'a')).sort()).toEqual(['supply-supply.csv', 'supply-supply.svg', 'supply.html', 'supply.json']);
    for (const file of readdirSync(join(dir.path, 'a'))) expect(readFileSync(join(dir.path, 'b', file)).equals(readFileSync(join(dir.path, 'a', file))), file).toBe(true);
    const html = readFileSync(first.find((f) => f.endsWith('.html'))!, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('c0ffee');
    expect(html).toContain('abc&lt;script&gt;');
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(reportHtml(run, {}, 'x')).toContain('<th>network</th><td>mainnet</td>');
  });
});
