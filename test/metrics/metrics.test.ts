// The shipped Grafana dashboard graphs only series the node exports, and the registry renders
// names with units and the labels each component sets.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.js';

const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana/bcr-node.json', import.meta.url), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };

describe('metrics registry', () => {
  it('exports every bcr_ series the dashboard queries', async () => {
    const metrics = createMetrics();
    metrics.blockImportSeconds.observe({ step: 'execution' }, 0.01);
    const text = await metrics.scrape();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
    const queried = new Set(dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => [...target.expr.matchAll(/\b(bcr_[a-z0-9_]+)/g)].map((m) => m[1]!))));
    expect(queried.size).toBeGreaterThan(25);
    expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('runs every collector before a scrape, and one failing collector costs no other series', async () => {
    const metrics = createMetrics();
    metrics.addCollector(() => {
      throw new Error('a broken reader');
    });
    metrics.addCollector(async () => metrics.mempoolSize.set(7));
    expect(await metrics.scrape()).toMatch(/^bcr_mempool_txs 7$/m);
  });
});
