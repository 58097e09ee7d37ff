// Prometheus metrics end to end: a follower node started with --metrics-port serves the text
// format; a real parser (parse-prometheus-text-format) reads it, and the counters move as blocks
// arrive over gossip and sync, and as an RPC call fails.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/chain.js';
import { logEntries, p2pAddress, rawPost, rawRequest, rpc, startNodeProcess, stopProcess, waitFor, type RunningNode } from '../helpers/process.js';

const dir = tempDir('bcr-metrics-');
const nodes: RunningNode[] = [];
afterAll(async () => {
  for (const node of nodes) await stopProcess(node, 'SIGKILL');
  dir.cleanup();
});

type Families = ReturnType<typeof parsePrometheus>;

async function scrape(url: string): Promise<Families> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await response.text());
}

/** The value of one counter or gauge series (labels matched as a subset), 0 when absent. */
function valueOf(families: Families, name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample) return 0;
  return Number(sample.value ?? 0);
}

describe('metrics endpoint', () => {
  it('serves Prometheus metrics whose counters move with imports, gossip and failed RPC calls', async () => {
    const minerDir = join(dir.path, 'miner');
    const miner = await startNodeProcess(['--network', 'test', '--data-dir', minerDir, '--rpc-port', '0', '--p2p-port', '0']);
    nodes.push(miner);
    const followerDir = join(dir.path, 'follower');
    mkdirSync(followerDir, { recursive: true });
    copyFileSync(join(minerDir, 'genesis.json'), join(followerDir, 'genesis.json'));
    const follower = await startNodeProcess(['--network', 'test', '--data-dir', followerDir, '--rpc-port', '0', '--p2p-port', '0', '--no-mine', '--metrics-port', '0', '--bootstrap', p2pAddress(miner)]);
    nodes.push(follower);
    const metricsUrl = await waitFor('the metrics address', async () => logEntries<{ url: string }>(follower, 'Metrics listening')[0]?.url);
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const first = await scrape(metricsUrl);
    // Every family the dashboard graphs is there from the first scrape, with its type.
    const types = new Map(first.map((f) => [f.name, f.type]));
    expect(types.get('bcr_block_import_seconds')).toBe('HISTOGRAM');
    expect(types.get('bcr_blocks_imported_total')).toBe('COUNTER');
    expect(types.get('bcr_head_height')).toBe('GAUGE');
    expect(types.get('bcr_rpc_requests_total')).toBe('COUNTER');
    expect(types.get('bcr_nodejs_eventloop_lag_seconds')).toBe('GAUGE');
    expect([...types.keys()].some((name) => name.startsWith('libp2p_'))).toBe(true);
    expect([...types.keys()].filter((name) => name.startsWith('nodejs_'))).toEqual([]);
    // The Grafana dashboard graphs only families the node exports, and takes rate() of counters and
    // histogram series only (a rate of a gauge means nothing).
    const dashboard = JSON.parse(readFileSync(fileURLToPath(new URL('../../docs/grafana/bcr-node.json', import.meta.url)), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) {
        for (const [, name] of expr.matchAll(/\b(bcr_[a-z0-9_]+)/g)) {
          const family = name!.replace(/_(bucket|sum|count)$/, '');
          expect(types.has(name!) || types.get(family) === 'HISTOGRAM', `${panel.title}: ${name} is not exported`).toBe(true);
        }
        for (const [, name] of expr.matchAll(/(?:rate|increase)\((bcr_[a-z0-9_]+)/g)) {
          const type = types.get(name!) ?? (types.get(name!.replace(/_(bucket|sum|count)$/, '')) === 'HISTOGRAM' ? 'HISTOGRAM' : undefined);
          expect(['COUNTER', 'HISTOGRAM'], `${panel.title}: rate() of ${name} (${type})`).toContain(type);
        }
      }
    }

    // Blocks imported: counted from what this scrape saw, waiting on the follower's own head.
    const importedBefore = valueOf(first, 'bcr_blocks_imported_total', { result: 'head' });
    const headBefore = (await rpc<{ height: number }>(follower.rpcUrl, 'bcr_chainHead')).height;
    await waitFor('three more blocks on the follower', async () => (await rpc<{ height: number }>(follower.rpcUrl, 'bcr_chainHead')).height >= headBefore + 3, 60_000);
    const second = await scrape(metricsUrl);
    const headNow = (await rpc<{ height: number }>(follower.rpcUrl, 'bcr_chainHead')).height;
    expect(valueOf(second, 'bcr_blocks_imported_total', { result: 'head' })).toBeGreaterThanOrEqual(importedBefore + 3);
    expect(valueOf(second, 'bcr_head_height')).toBeGreaterThanOrEqual(headBefore + 3);
    expect(valueOf(second, 'bcr_head_height')).toBeLessThanOrEqual(headNow);
    expect(valueOf(second, 'bcr_proofs_verified_total', { kind: 'winning', result: 'valid' })).toBeGreaterThanOrEqual(3);
    expect(valueOf(second, 'bcr_peers')).toBeGreaterThanOrEqual(1);
    await waitFor('a block accepted over gossip', async () => valueOf(await scrape(metricsUrl), 'bcr_gossip_messages_total', { topic: 'blocks', verdict: 'accept' }) >= 1, 30_000);

    // A failing RPC call is counted under its method and JSON-RPC error code, a good one as ok.
    const failedBefore = valueOf(second, 'bcr_rpc_requests_total', { method: 'bcr_getBalance', code: '-32602' });
    const bad = await rawPost(follower.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_getBalance', params: ['0x12'] }));
    expect(JSON.parse(bad.text).error.code).toBe(-32602);
    await rawPost(follower.rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'no_such_method' }));
    const third = await scrape(metricsUrl);
    expect(valueOf(third, 'bcr_rpc_requests_total', { method: 'bcr_getBalance', code: '-32602' })).toBe(failedBefore + 1);
    expect(valueOf(third, 'bcr_rpc_requests_total', { method: 'unknown', code: '-32601' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(third, 'bcr_rpc_requests_total', { method: 'bcr_chainHead', code: 'ok' })).toBeGreaterThanOrEqual(2);

    // Only /metrics is served there.
    expect((await fetch(metricsUrl.replace('/metrics', '/nope'))).status).toBe(404);
    // A page on another domain resolving to 127.0.0.1 (DNS rebinding) is refused, as on the RPC port.
    expect((await rawRequest(metricsUrl, 'GET', { host: 'evil.example:80' })).status).toBe(403);
    expect((await rawRequest(metricsUrl, 'GET', { host: `localhost:${new URL(metricsUrl).port}` })).status).toBe(200);
  }, 120_000);
});
