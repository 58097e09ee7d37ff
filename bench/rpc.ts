// RPC benchmark: eth_getBalance and bcr_getBlockByHeight requests/s at 50 concurrent connections
// (autocannon), next to a bare node:http server answering a constant JSON body, in the same run.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startNode } from '../src/node.js';
import { silentLogger } from '../src/util/logger.js';
import type { BenchArea, BenchRow } from './report.js';

async function load(url: string, body: string, seconds: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const result = await autocannon({ url, connections: 50, duration: seconds, method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

export const rpcBench: BenchArea = {
  name: 'rpc',
  async run(args) {
    const seconds = args.includes('--quick') ? 3 : 8;
    const bare = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":"0x0"}'));
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
    const dir = mkdtempSync(join(tmpdir(), 'bcr-bench-rpc-'));
    const node = await startNode({ network: 'test', dataDir: dir, rpcHost: '127.0.0.1', rpcPort: 0, mine: true, log: silentLogger });
    while (node.chain.head.header.height < 3) await new Promise((r) => setTimeout(r, 100));
    await node.miner?.stop();
    const balance = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'] });
    const block = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_getBlockByHeight', params: [2, true] });
    const baseline = await load(bareUrl, '{}', seconds);
    const getBalance = await load(node.rpcUrl, balance, seconds);
    const getBlock = await load(node.rpcUrl, block, seconds);
    await node.stop();
    bare.close();
    rmSync(dir, { recursive: true, force: true });
    const rows: BenchRow[] = [
      { name: 'bare node:http, constant JSON', value: baseline.rps, unit: 'req/s', note: `p50 ${baseline.p50} ms, p99 ${baseline.p99} ms` },
      { name: 'eth_getBalance', value: getBalance.rps, unit: 'req/s', note: `p50 ${getBalance.p50} ms, p99 ${getBalance.p99} ms, ${((100 * getBalance.rps) / baseline.rps).toFixed(0)}% of bare` },
      { name: 'bcr_getBlockByHeight (with txs)', value: getBlock.rps, unit: 'req/s', note: `p50 ${getBlock.p50} ms, p99 ${getBlock.p99} ms, ${((100 * getBlock.rps) / baseline.rps).toFixed(0)}% of bare` },
      { name: 'errors (all runs)', value: baseline.errors + getBalance.errors + getBlock.errors, unit: 'count' },
    ];
    return {
      rows,
      json: {
        connections: 50,
        seconds,
        bare_http_rps: Math.round(baseline.rps),
        eth_getBalance_rps: Math.round(getBalance.rps),
        eth_getBalance_p99_ms: getBalance.p99,
        bcr_getBlockByHeight_rps: Math.round(getBlock.rps),
        bcr_getBlockByHeight_p99_ms: getBlock.p99,
        errors: baseline.errors + getBalance.errors + getBlock.errors,
      },
    };
  },
};
