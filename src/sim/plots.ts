// The plots of the existing scenarios as vega-lite specifications (rendered by output.ts): the
// supply projection over time, and each miner's share of blocks against its share of power.
import type { PlotSpec, Row } from './output.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Minted, vesting still locked and circulating BCR by day, one line each. */
export function supplyPlot(rows: { day: number; minted: number; vestingLocked: number; circulating: number }[]): PlotSpec {
  const values: Row[] = rows.flatMap((r) => [
    { day: r.day, series: 'minted by the schedule', bcr: r.minted },
    { day: r.day, series: 'vesting still locked', bcr: r.vestingLocked },
    { day: r.day, series: 'circulating', bcr: r.circulating },
  ]);
  return {
    $schema: SCHEMA,
    width: 720,
    height: 320,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'day', type: 'quantitative', title: 'day since genesis' },
      y: { field: 'bcr', type: 'quantitative', title: 'BCR' },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } },
    },
  };
}

/** Per miner: share of power, expected share of blocks (the election's odds) and share won. */
export function sharesPlot(shares: { miner: number; powerShare: number; expectedShare: number; wonShare: number }[]): PlotSpec {
  const values: Row[] = shares.flatMap((s) => [
    { miner: `miner ${s.miner}`, measure: 'power', share: s.powerShare },
    { miner: `miner ${s.miner}`, measure: 'blocks expected', share: s.expectedShare },
    { miner: `miner ${s.miner}`, measure: 'blocks won', share: s.wonShare },
  ]);
  return groupedBarsPlot(values, { category: 'miner', measure: 'measure', y: 'share', yTitle: 'share', yFormat: '%' });
}

/** One line per series over a quantitative x. */
export function linesPlot(values: Row[], axes: { x: string; y: string; series: string; xTitle: string; yTitle: string; yFormat?: string; logY?: boolean; dash?: string }): PlotSpec {
  return {
    $schema: SCHEMA,
    width: 720,
    height: 320,
    data: { values },
    mark: { type: 'line' },
    encoding: {
      x: { field: axes.x, type: 'quantitative', title: axes.xTitle },
      y: { field: axes.y, type: 'quantitative', title: axes.yTitle, ...(axes.yFormat ? { axis: { format: axes.yFormat } } : {}), ...(axes.logY ? { scale: { type: 'log' } } : {}) },
      color: { field: axes.series, type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0, columns: 4 } },
      ...(axes.dash ? { strokeDash: { field: axes.dash, type: 'nominal', title: null, legend: { orient: 'bottom' } } } : {}),
    },
  };
}

/** Grouped bars: one group per category, one bar per measure. */
export function groupedBarsPlot(values: Row[], axes: { category: string; measure: string; y: string; yTitle: string; yFormat?: string }): PlotSpec {
  return {
    $schema: SCHEMA,
    width: { step: 14 },
    height: 280,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: axes.category, type: 'nominal', title: null, sort: null },
      xOffset: { field: axes.measure, type: 'nominal' },
      y: { field: axes.y, type: 'quantitative', title: axes.yTitle, ...(axes.yFormat ? { axis: { format: axes.yFormat } } : {}) },
      color: { field: axes.measure, type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } },
    },
  };
}
